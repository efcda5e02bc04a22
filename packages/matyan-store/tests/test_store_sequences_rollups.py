"""Charts from the rollup pyramid equal the exact computation over every point, whatever was written."""

from __future__ import annotations

import itertools
import math
import random
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_sequences_fixtures import counted, seq_engine_url

from matyan_store.codec import Block, Point
from matyan_store.engine import Engine, open_engine
from matyan_store.sequences import SeriesKey, layout, read_downsampled, read_range, write_points
from matyan_store.sequences.rollup import FINE_WIDTH

_KEYS = itertools.count()

VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-10, 10, width=32),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0]),
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = open_engine(seq_engine_url(Path(tmp_path_factory.mktemp("rollups")) / "kv"))
    yield eng
    eng.close()


def reference(points: dict[int, Point], buckets: int, start: int | None, stop: int | None) -> list[Any]:
    """First/min/max/last of aligned power-of-two buckets, in plain Python over every point."""
    inside = [
        points[s] for s in sorted(points) if (start is None or s >= start) and (stop is None or s < stop)
    ]
    if not inside:
        return []
    lo, hi = inside[0].step, inside[-1].step
    width = 1
    while hi // width - lo // width + 1 > buckets:
        width *= 2
    kept: set[int] = set()
    for _, group in itertools.groupby(inside, key=lambda p: p.step // width):
        pts = list(group)
        kept |= {pts[0].step, pts[-1].step}
        real = [p for p in pts if p.value == p.value]
        if real:
            kept.add(min(real, key=lambda p: p.value).step)  # min/max return the earliest on ties
            kept.add(max(real, key=lambda p: p.value).step)
    return canon([points[s] for s in sorted(kept)])


def canon(points: Any) -> list[Any]:
    return [
        (p[0], struct.pack("<d", float(p[1])), p[2], None if p[3] is None else struct.pack("<d", p[3]))
        for p in points
    ]


def chart(engine: Engine, key: SeriesKey, buckets: int, start: int | None, stop: int | None) -> list[Any]:
    block: Block = engine.read(lambda tr: read_downsampled(tr, key, buckets, start, stop))
    return canon(block.points())


SPECIALS = (math.nan, math.inf, -math.inf, -0.0, 0.0)


def build_series(seed: int, n: int, max_gap: int, ints: bool, first: int) -> list[Point]:
    """``n`` points with random step gaps in ``[1, max_gap]``; NaN and infinities sprinkled in floats."""
    rng = random.Random(seed)
    step = first
    out: list[Point] = []
    for i in range(n):
        value: float | int
        if ints:
            value = rng.randrange(-(2**40), 2**40) if rng.random() < 0.01 else rng.randrange(-50, 50)
        elif rng.random() < 0.02:
            value = rng.choice(SPECIALS)
        else:
            value = rng.gauss(0, 1) if rng.random() < 0.5 else float(rng.randrange(5))
        epoch = i // 100 if i % 5 else None
        out.append(Point(step, value, epoch, 1.7e9 + step * 0.1 + rng.random() * 1e-3))
        step += rng.randint(1, max_gap)
    return out


SERIES = st.builds(
    build_series,
    st.integers(0, 2**32),
    st.integers(1, 20_000),
    st.sampled_from([1, 1, 2, 5, 300]),
    st.booleans(),
    st.integers(0, 3_000),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    SERIES,
    st.lists(st.tuples(st.integers(0, 30_000), VALUES), max_size=30),
    st.sampled_from([1, 700, 5_000, 20_000]),
    st.lists(
        st.tuples(st.sampled_from([1, 2, 5, 40, 300]), st.none() | st.integers(0, 400_000)),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from([1, 37, 500]),
    st.lists(st.integers(0, 400_000), max_size=4),
)
def test_charts_equal_the_exact_computation(
    engine: Engine,
    points: list[Point],
    overwrites: list[tuple[int, float]],
    batch: int,
    ranges: list[tuple[int, int | None]],
    appends_per_txn: int,
    edges: list[int],
) -> None:
    key = SeriesKey("run-rollups", 0, f"s{next(_KEYS)}")
    model: dict[int, Point] = {}
    for a in range(0, len(points), batch):
        part = points[a : a + batch]
        engine.transact(lambda tr, part=part: write_points(tr, key, part, "float"))  # type: ignore[misc]
        model.update((p.step, p) for p in part)
    # Overwrites of existing (and new) steps, a few per transaction: rollups of rewritten blocks follow.
    over = [Point(s, v, None, None) for s, v in overwrites]
    for a in range(0, len(over), appends_per_txn):
        part = over[a : a + appends_per_txn]
        engine.transact(lambda tr, part=part: write_points(tr, key, part, "float"))  # type: ignore[misc]
        model.update((p.step, p) for p in part)
    # Zoom ranges starting and ending at block edges (and one past them), and arbitrary ones.
    firsts = engine.read(lambda tr: [b.first_step for b in _entries(tr, key)])
    bounds = [*firsts, *(f + 1 for f in firsts), *edges]
    cases: list[tuple[int, int | None, int | None]] = [(n, None, None) for n, _ in ranges]
    cases += [
        (n, s, None if s is None else s + span) for (n, s), span in zip(ranges, edges or [0], strict=False)
    ]
    cases += [(n, a, b) for n, (a, b) in zip([3, 50, 250], itertools.pairwise(sorted(bounds)), strict=False)]
    for buckets, start, stop in cases:
        if start is not None and stop is not None and stop <= start:
            continue
        assert chart(engine, key, buckets, start, stop) == reference(model, buckets, start, stop)


def _entries(tr: Any, key: SeriesKey) -> list[layout.IndexEntry]:
    base = layout.index_base(key.run_id, key.context_id, key.name)
    return [layout.decode_index_entry(v) for _, v in tr.get_range(base + b"\x00", base + b"\xff")]


def test_wide_charts_of_a_large_series_read_no_block_body_and_keep_a_one_step_spike(
    tmp_path: Path,
) -> None:
    engine = open_engine(seq_engine_url(tmp_path / "kv"))
    key = SeriesKey("run-spike", 0, "loss")
    n = 300_000
    spike = 123_457
    for a in range(0, n, 7_000):  # appends: sealed blocks and an open tail, every rollup incremental
        pts = [
            Point(i, 1e6 if i == spike else 1.0 / (1 + i * 1e-4), i // 1000, 1.7e9 + i * 0.1)
            for i in range(a, min(n, a + 7_000))
        ]
        engine.transact(lambda tr, pts=pts: write_points(tr, key, pts, "float"))  # type: ignore[misc]
    body = layout.body_key(key.run_id, key.context_id, key.name, 0)[:-1]
    for buckets in (250, 1_000, 30):
        block, c = counted(engine, lambda tr, b=buckets: read_downsampled(tr, key, b))  # type: ignore[misc]
        assert not any(k.startswith(body) for k in c.keys_read)
        found = dict(zip(block.steps, block.values, strict=True))
        assert found[spike] == 1e6
        assert block.point(list(block.steps).index(spike)).timestamp == 1.7e9 + spike * 0.1
        assert len(block) <= 4 * buckets
    # The spike overwritten back to normal: the rewritten block's rollup follows.
    engine.transact(lambda tr: write_points(tr, key, [Point(spike, 0.5)], "float"))
    block = engine.read(lambda tr: read_downsampled(tr, key, 250))
    assert 1e6 not in list(block.values)
    full = engine.read(lambda tr: read_range(tr, key))
    assert max(full.values) == max(block.values)
    assert n // 250 >= FINE_WIDTH
    engine.close()
