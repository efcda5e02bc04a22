"""Progress frames, their numbering, repeats, the terminal frame and heartbeats.

See docs/http-contract.md, Progress frames.
"""

from __future__ import annotations

import asyncio

from matyan_api.streaming import (
    ProgressReporter,
    decode_frames,
    encode_tree_bytes,
    heartbeats_until_done,
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


async def test_heartbeats_while_a_slow_step_runs() -> None:
    reporter = ProgressReporter()
    reporter.report(2, 9)
    release = asyncio.Event()

    async def slow_step() -> str:
        await release.wait()
        return "done"

    task = asyncio.create_task(slow_step())
    beats: list[bytes] = []
    async for frame in heartbeats_until_done(task, reporter, interval=0.01):
        beats.append(frame)
        if len(beats) == 3:
            release.set()
    assert task.result() == "done"
    assert len(beats) >= 3
    decoded = [decode_frames(b)[0] for b in beats]
    assert decoded[:3] == [("progress_1", [2, 9]), ("progress_2", [2, 9]), ("progress_3", [2, 9])]


async def test_no_heartbeat_when_the_step_is_already_done() -> None:
    reporter = ProgressReporter()
    task = asyncio.create_task(asyncio.sleep(0))
    await task
    assert [f async for f in heartbeats_until_done(task, reporter, interval=0.01)] == []
    assert reporter.frames_sent == 0
