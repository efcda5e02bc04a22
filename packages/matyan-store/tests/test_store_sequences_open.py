"""The open tail block: small appends, sealing, compaction and kind changes read exactly like sealed data."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from store_sequences_fixtures import (
    Model,
    apply_to_model,
    assert_matches_model,
    assert_summary_matches_model,
    counted_write,
    seq_engine,
)

from matyan_store.engine import Engine
from matyan_store.sequences import (
    Point,
    SeriesKey,
    delete_run_series,
    get_summary,
    layout,
    read_downsampled,
    read_last,
    read_many,
    read_range,
    read_tail,
    write_points,
)
from matyan_store.sequences import append as seq_append
from matyan_store.sequences.open_block import MAX_SEGMENTS

__all__ = ["seq_engine"]

SMALL = SeriesKey("run-open", 0, "loss")
BATCHED = SeriesKey("run-open", 1, "loss")


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small blocks, so a few thousand points cross many seals and compactions."""
    monkeypatch.setattr(seq_append, "BLOCK_TARGET_BYTES", 1_000)


def _entries(engine: Engine, key: SeriesKey) -> list[layout.IndexEntry]:
    base = layout.index_base(key.run_id, key.context_id, key.name)
    return engine.read(
        lambda tr: [layout.decode_index_entry(v) for _, v in tr.get_range(base + b"\x00", base + b"\xff")]
    )


def _chart(tr: Any, key: SeriesKey, full: bool, start: int | None, stop: int | None) -> Any:
    return read_downsampled(tr, key, 40, start, stop, with_epochs_timestamps=full)


def _same_reads(engine: Engine, a: SeriesKey, b: SeriesKey, n: int) -> None:
    """Every read of ``a`` (written point by point) equals that of ``b`` (the same points, one batch)."""

    def cols(block: Any) -> tuple[list[Any], ...]:
        # repr: NaN equals NaN, and 1 differs from 1.0
        return list(block.steps), list(map(repr, block.values)), list(block.epochs), list(block.timestamps)

    for start, stop in [(None, None), (0, n), (n // 3, n // 2), (n - 5, None)]:
        ra = engine.read(lambda tr, s=start, e=stop: read_range(tr, a, s, e))  # type: ignore[misc]
        rb = engine.read(lambda tr, s=start, e=stop: read_range(tr, b, s, e))  # type: ignore[misc]
        assert cols(ra) == cols(rb)
        for full in (False, True):
            da = engine.read(lambda tr, f=full, s=start, e=stop: _chart(tr, a, f, s, e))  # type: ignore[misc]
            db = engine.read(lambda tr, f=full, s=start, e=stop: _chart(tr, b, f, s, e))  # type: ignore[misc]
            # Without epochs/timestamps only steps and values are asked for (blocks answered from
            # their summaries fill the others in, so those depend on where blocks start).
            assert cols(da)[: 4 if full else 2] == cols(db)[: 4 if full else 2]
    assert cols(engine.read(lambda tr: read_tail(tr, a, 17))) == cols(
        engine.read(lambda tr: read_tail(tr, b, 17))
    )
    assert engine.read(lambda tr: read_last(tr, a)) == engine.read(lambda tr: read_last(tr, b))
    many = engine.read(lambda tr: read_many(tr, [a, b], 25))
    assert cols(many[a]) == cols(many[b])
    sa = engine.read(lambda tr: get_summary(tr, a))
    sb = engine.read(lambda tr: get_summary(tr, b))
    assert sa == sb


def test_point_by_point_appends_read_like_one_batch(seq_engine: Engine, small_blocks: None) -> None:
    rng = random.Random(7)
    n = 3_000
    pts = [
        Point(i, math.nan if i % 97 == 5 else rng.gauss(0, 1), i // 100 if i % 3 else None, 1.7e9 + i)
        for i in range(n)
    ]
    model: Model = {}
    for a in range(0, n, 7):  # 7 points per transaction, one write per series each
        part = pts[a : a + 7]
        seq_engine.transact(lambda tr, part=part: write_points(tr, SMALL, part, "float"))  # type: ignore[misc]
        apply_to_model(model, part)
    seq_engine.transact(lambda tr: write_points(tr, BATCHED, pts, "float"))
    assert_matches_model(seq_engine.read(lambda tr: read_range(tr, SMALL)), model)
    assert_summary_matches_model(seq_engine.read(lambda tr: get_summary(tr, SMALL)), model)
    entries = _entries(seq_engine, SMALL)
    assert entries[-1].open
    assert not any(e.open for e in entries[:-1])  # only the tail block is ever open
    assert len(entries) > 5  # it was sealed many times over
    assert entries[-1].parts <= MAX_SEGMENTS
    _same_reads(seq_engine, SMALL, BATCHED, n)


def test_an_append_writes_one_segment_and_two_records(seq_engine: Engine) -> None:
    seq_engine.transact(lambda tr: write_points(tr, SMALL, [Point(0, 1.0)], "float"))
    _, c = counted_write(seq_engine, lambda tr: write_points(tr, SMALL, [Point(1, 2.0, None, 3.0)], "float"))
    assert c.sets == 3  # the new segment, the open index entry, the series summary
    assert c.clears == 0
    body = layout.body_key(SMALL.run_id, SMALL.context_id, SMALL.name, 0)
    assert not any(k.startswith(body) for k in c.keys_read)  # the open block itself is not read


def test_kind_changes_overwrites_and_objects_in_the_open_block(seq_engine: Engine) -> None:
    model: Model = {}
    writes: list[list[Point]] = [
        [Point(0, 1), Point(1, 2)],  # INT
        [Point(2, 3)],
        [Point(3, 0.5)],  # FLOAT now: the block is rewritten and its ints read back as floats
        [Point(4, 7)],  # an int appended to a FLOAT block is stored as a float
        [Point(1, -4.0)],  # out of order: lands inside the open block
        [Point(5, 2**60)],  # an int too large for a float: OBJECT
        [Point(6, True)],
        [Point(7, {"text": "x"}), Point(8, "y")],
    ]
    for n, w in enumerate(writes):
        seq_engine.transact(lambda tr, w=w: write_points(tr, SMALL, w, "custom"))  # type: ignore[misc]
        apply_to_model(model, w)
        assert_matches_model(seq_engine.read(lambda tr: read_range(tr, SMALL)), model)
        summary = seq_engine.read(lambda tr: get_summary(tr, SMALL))
        if n < 5:
            assert_summary_matches_model(summary, model)
        else:  # an object block among numeric ones: the series has no order (as for sealed blocks)
            assert summary is not None
            assert summary.value_kind == "object"
            assert summary.min is None
    got = seq_engine.read(lambda tr: read_range(tr, SMALL))
    assert got.values[5] == 2**60
    assert got.values[6] is True


def test_replayed_appends_and_deletion_leave_nothing_behind(seq_engine: Engine, small_blocks: None) -> None:
    pts = [Point(i, float(i % 17), None, 1.0 + i) for i in range(500)]
    for p in pts:
        seq_engine.transact(lambda tr, p=p: write_points(tr, SMALL, [p], "float"))  # type: ignore[misc]
    before = seq_engine.read(lambda tr: (read_range(tr, SMALL), get_summary(tr, SMALL)))
    for a in range(0, 500, 50):  # a redelivery of the same points, in other batches
        seq_engine.transact(lambda tr, a=a: write_points(tr, SMALL, pts[a : a + 50], "float"))  # type: ignore[misc]
    after = seq_engine.read(lambda tr: (read_range(tr, SMALL), get_summary(tr, SMALL)))
    assert list(after[0].points()) == list(before[0].points())
    assert after[1] == before[1]
    assert seq_engine.transact(lambda tr: delete_run_series(tr, SMALL.run_id, 1 << 30))
    begin = layout.run_prefix(SMALL.run_id)
    assert seq_engine.read(lambda tr: list(tr.get_range(begin, begin + b"\xff"))) == []


def test_fast_step_packing_matches_the_tuple_layer() -> None:
    from matyan_store.keys import pack

    for step in [0, 1, 255, 256, 65_535, 2**32, 2**63 - 1, *random.Random(3).sample(range(2**40), 50)]:
        assert layout.pack_step(step) == pack((step,))
    assert layout.series_prefixes("r", 2, "m").summary == layout.summary_key("r", 2, "m")
    assert layout.series_prefixes("r", 2, "m").body + layout.pack_step(7) == layout.body_key("r", 2, "m", 7)
