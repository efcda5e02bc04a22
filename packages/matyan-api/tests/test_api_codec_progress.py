"""Progress frames, their numbering, repeats and the terminal frame; the error frame.

See docs/http-contract.md, Progress frames.
"""

from __future__ import annotations

from matyan_api.streaming import (
    ERROR_KEY,
    ProgressReporter,
    decode_frames,
    encode_tree_bytes,
    error_frame,
    is_progress_key,
    progress_frame,
    stream_error,
)


def test_reporter_numbers_every_frame_and_skips_repeats() -> None:
    reporter = ProgressReporter()
    body = reporter.report(0, 3)
    body += encode_tree_bytes(("run1",), {"props": {"name": "a"}})
    body += reporter.report(1, 3)
    assert reporter.report(1, 3, skip_repeat=True) == b""
    body += reporter.heartbeat()
    body += reporter.finish()
    items = decode_frames(body)
    assert items == [
        ("progress_0", [0, 3]),
        ("run1", {"props": {"name": "a"}}),
        ("progress_1", [1, 3]),
        ("progress_2", [1, 3]),
        ("progress_3", [0, 0]),
    ]
    assert reporter.frames_sent == 4
    assert [is_progress_key(k) for k, _ in items] == [True, False, True, True, True]


def test_disabled_reporter_emits_nothing() -> None:
    reporter = ProgressReporter(enabled=False)
    assert reporter.report(1, 2) == reporter.heartbeat() == reporter.finish() == b""
    assert reporter.frames_sent == 0


def test_zero_matches_body_is_one_terminal_frame() -> None:
    reporter = ProgressReporter()
    assert reporter.finish() == progress_frame(0, 0, 0)
    assert decode_frames(reporter.finish()) == [("progress_1", [0, 0])]


def test_error_frame_is_one_progress_tree_carrying_the_error() -> None:
    message = "The query ran longer than the search time limit (1 s)"
    frame = error_frame("search_time_limit", message)
    assert decode_frames(frame) == [
        ("progress_error", [0, 0, {"code": "search_time_limit", "message": message}]),
    ]
    assert ERROR_KEY == "progress_error"
    # Readers that only know progress frames skip it as one (the released UI and client do).
    assert is_progress_key(ERROR_KEY)
    ((_, value),) = decode_frames(frame)
    assert stream_error(value) == {"code": "search_time_limit", "message": message}
    assert stream_error([0, 0]) is None
