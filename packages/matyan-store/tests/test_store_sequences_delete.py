"""Bounded deletion of a run's series across transactions, and two processes writing one run at once."""

from __future__ import annotations

import multiprocessing
import random
from pathlib import Path
from typing import Any

from store_sequences_fixtures import counted_write, seq_engine, seq_engine_url, write_series_in_process

from matyan_store.engine import Engine, Transaction, open_engine
from matyan_store.sequences import (
    Point,
    SeriesKey,
    delete_run_series,
    get_summary,
    layout,
    list_run_series,
    read_range,
    write_points,
)

__all__ = ["seq_engine"]


def _stored(tr: Any, run_id: str) -> int:
    begin = layout.run_prefix(run_id)
    return sum(len(k) + len(v) for k, v in tr.get_range(begin, begin + b"\xff"))


def test_big_run_is_deleted_in_bounded_pieces(seq_engine: Engine) -> None:
    rng = random.Random(4)
    run, other = "run-del", "run-del2"  # "run-del2" shares the prefix of "run-del" as a string
    for ctx in range(3):
        for name in ("a", "b", "c", "d"):
            pts = [Point(i, rng.random(), None, 1.7e9 + i) for i in range(20_000)]
            key = SeriesKey(run, ctx, name)

            def fill(tr: Transaction, key: SeriesKey = key, pts: list[Point] = pts) -> None:
                write_points(tr, key, pts, "float")

            seq_engine.transact(fill)
    keep = SeriesKey(other, 0, "a")
    seq_engine.transact(lambda tr: write_points(tr, keep, [Point(0, 1.0), Point(1, 2.0)], "float"))
    before = seq_engine.read(lambda tr: _stored(tr, run))
    assert before > 1_000_000
    budget = 200_000
    calls = 0
    remaining = before
    while True:
        done, c = counted_write(seq_engine, lambda tr: delete_run_series(tr, run, budget))
        calls += 1
        now = seq_engine.read(lambda tr: _stored(tr, run))
        # Each call clears at most its budget plus one pair (the one that crossed it), and progresses.
        assert remaining - now <= budget + 20_000
        assert now < remaining or done
        assert c.bytes_read <= budget + 40_000
        remaining = now
        if done:
            break
        assert calls < 100
    assert calls >= before // (budget + 20_000)
    assert remaining == 0
    assert seq_engine.read(lambda tr: list_run_series(tr, run)) == []
    assert seq_engine.read(lambda tr: get_summary(tr, SeriesKey(run, 0, "a"))) is None
    assert list(seq_engine.read(lambda tr: read_range(tr, keep)).values) == [1.0, 2.0]
    assert seq_engine.transact(lambda tr: delete_run_series(tr, run, budget)) is True  # nothing left


def test_two_processes_write_different_series_of_one_run(tmp_path: Path) -> None:
    url = seq_engine_url(tmp_path / "kv")
    open_engine(url).close()  # create the directory once
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    procs = [
        ctx.Process(target=write_series_in_process, args=(url, "run-mp", name, 40, ready))
        for name in ("a", "b")
    ]
    for p in procs:
        p.start()
    ready.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    engine = open_engine(url)
    try:
        listed = engine.read(lambda tr: list_run_series(tr, "run-mp"))
        assert [(k.name, s.count, s.last_step) for k, s in listed] == [
            ("a", 20_000, 19_999),
            ("b", 20_000, 19_999),
        ]
        for key, offset in ((SeriesKey("run-mp", 0, "a"), 0.0), (SeriesKey("run-mp", 0, "b"), 0.5)):
            block = engine.read(lambda tr, k=key: read_range(tr, k))  # type: ignore[misc]
            assert list(block.values) == [s + offset for s in range(20_000)]
    finally:
        engine.close()
