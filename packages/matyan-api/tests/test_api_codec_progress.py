"""Progress frames, their numbering, repeats and the terminal frame; the error frame.

See docs/http-contract.md, Progress frames.
"""

from __future__ import annotations

from matyan_api.streaming import (
    ProgressReporter,
    decode_frames,
    encode_tree_bytes,
    error_frame,
    is_error_key,
    is_progress_key,
    progress_frame,
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


def test_error_frame_is_one_tree_under_the_error_key() -> None:
    frame = error_frame("search_time_limit", "The query ran longer than the search time limit (1 s)")
    assert decode_frames(frame) == [
        (
            "error",
            {"code": "search_time_limit", "message": "The query ran longer than the search time limit (1 s)"},
        )
    ]
    assert is_error_key("error")
    assert not is_error_key("progress_0")
    assert not is_progress_key("error")
