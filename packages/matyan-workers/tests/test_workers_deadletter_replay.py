"""Replaying dead letters through the ingest worker's normal apply path, exactly once."""

from __future__ import annotations

from functools import partial

from workers_fixtures import engine, frontier_value, metric

from matyan_store import deadletters, offsets, sequences
from matyan_store.engine import Engine, ReadTransaction
from matyan_store.sequences import SeriesKey
from matyan_workers.ingest.batching import BatchRunner

__all__ = ["engine"]

GROUP = "ingestion-workers"
TOPIC = "data-ingestion"


def _letter(engine: Engine, offset: int, value: bytes, reason: str = "store was full") -> str:
    return engine.transact(
        partial(
            deadletters.add_dead_letter,
            topic=TOPIC,
            partition=0,
            offset=offset,
            key=b"r",
            value=value,
            reason=reason,
            error_type="unknown",
            at=100.0 + offset,
        )
    )


def _steps(tr: ReadTransaction) -> list[int]:
    return list(sequences.read_range(tr, SeriesKey("r", 0, "m")).steps)


def test_a_replay_applies_once_and_removes_its_letter(engine: Engine) -> None:
    # The letters were kept after failures that are gone now (say, a bug since fixed).
    good = [_letter(engine, i, frontier_value("r", metric("m", float(i), i))) for i in range(2)]
    runner = BatchRunner(engine, GROUP, max_messages=100, max_bytes=8 << 20)
    letters = engine.read(lambda tr: deadletters.list_dead_letters(tr, limit=0))
    first = runner.replay(letters)
    assert first.processed == {"log_metric": 2}
    assert first.last_offsets == {}  # a replay neither reads nor moves the partition's offsets
    # The same letters again (a second request, or a worker that read the requests twice): skipped.
    again = runner.replay(letters)
    assert again.already_applied == 2
    assert again.processed == {}

    def check(tr: ReadTransaction) -> None:
        assert _steps(tr) == [0, 1]
        assert [deadletters.get_dead_letter(tr, i) for i in good] == [None, None]
        assert deadletters.count_dead_letters(tr) == 0
        assert offsets.get_offset(tr, GROUP, TOPIC, 0) is None

    engine.read(check)


def test_a_replay_that_fails_again_stays_a_dead_letter_with_the_new_error(engine: Engine) -> None:
    bad = _letter(
        engine, 7, b'{"type":"teleport","run_id":"r","timestamp":"2026-01-01T00:00:00Z","payload":{}}'
    )
    engine.transact(lambda tr: deadletters.request_replay(tr, bad))
    runner = BatchRunner(engine, GROUP, max_messages=100, max_bytes=8 << 20, clock=lambda: 500.0)
    requested = engine.read(lambda tr: deadletters.replay_requested(tr, TOPIC, 0))
    assert [d.id for d in requested] == [bad]
    result = runner.replay(requested)
    assert result.dead_letters == 1

    def check(tr: ReadTransaction) -> None:
        assert deadletters.get_dead_letter(tr, bad) is None
        [letter] = deadletters.list_dead_letters(tr, limit=0)
        assert (letter.topic, letter.partition, letter.offset) == (TOPIC, 0, 7)
        assert letter.at == 500.0
        assert letter.reason != "store was full"
        assert deadletters.replay_requested(tr, TOPIC, 0) == []  # the new letter waits for a new request

    engine.read(check)
