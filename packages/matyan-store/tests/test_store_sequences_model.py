"""Out-of-order, interleaved and overwriting batches against a dict model (hypothesis), and chart reads."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_sequences_fixtures import (
    Model,
    apply_to_model,
    assert_matches_model,
    assert_summary_matches_model,
    seq_engine_url,
)

from matyan_store.engine import Engine, Transaction, open_engine
from matyan_store.sequences import (
    Block,
    Point,
    SeriesKey,
    get_summary,
    read_downsampled,
    read_range,
    read_tail,
    write_points,
)
from matyan_store.sequences import append as seq_append


@pytest.fixture(scope="module")
def model_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One engine for every example; each example writes under a fresh run id."""
    engine = open_engine(seq_engine_url(Path(tmp_path_factory.mktemp("seq-model")) / "kv"))
    yield engine
    engine.close()


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny blocks, so a few hundred points span many blocks and every write crosses block edges."""
    monkeypatch.setattr(seq_append, "BLOCK_TARGET_BYTES", 300)


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(min_value=-(2**40), max_value=2**40),
)
points = st.builds(
    Point,
    st.integers(min_value=0, max_value=400),
    numbers,
    st.one_of(st.none(), st.integers(min_value=0, max_value=9)),
    st.one_of(st.none(), st.floats(min_value=0, max_value=2e9)),
)
batches = st.lists(st.lists(points, min_size=1, max_size=60), min_size=1, max_size=8)
objects = st.one_of(
    st.text(max_size=20),
    st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.binary(max_size=30)), max_size=3),
)
object_points = st.builds(Point, st.integers(min_value=0, max_value=200), objects, st.none(), st.none())


def _check(engine: Engine, key: SeriesKey, model: Model) -> None:
    assert_matches_model(engine.read(lambda tr: read_range(tr, key)), model)
    assert_summary_matches_model(engine.read(lambda tr: get_summary(tr, key)), model)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches, split=st.integers(min_value=1, max_value=4))
def test_numeric_batches_match_the_model(
    model_engine: Engine, small_blocks: None, batches: list[list[Point]], split: int
) -> None:
    key = SeriesKey(uuid.uuid4().hex, 0, "m")
    model: Model = {}
    for batch in batches:
        # Several writes of one series in one transaction must see each other.
        parts = [batch[i::split] for i in range(split)]

        def txn(tr: Transaction, parts: list[list[Point]] = parts) -> None:
            for part in parts:
                if part:
                    write_points(tr, key, part, "float")

        model_engine.transact(txn)
        for part in parts:
            apply_to_model(model, part)
        _check(model_engine, key, model)
    lo, hi = 37, 211
    rng_block = model_engine.read(lambda tr: read_range(tr, key, lo, hi))
    assert_matches_model(rng_block, {s: p for s, p in model.items() if lo <= s < hi})
    tail = model_engine.read(lambda tr: read_tail(tr, key, 7))
    assert list(tail.steps) == sorted(model)[-7:]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(
        st.lists(st.one_of(points, object_points), min_size=1, max_size=40), min_size=1, max_size=6
    )
)
def test_interleaved_series_and_kinds_match_the_model(
    model_engine: Engine, small_blocks: None, batches: list[list[Point]]
) -> None:
    run = uuid.uuid4().hex
    keys = [SeriesKey(run, 0, "a"), SeriesKey(run, 1, "a"), SeriesKey(run, 0, "b")]
    models: dict[SeriesKey, Model] = {k: {} for k in keys}
    for n, batch in enumerate(batches):

        def txn(tr: Transaction, batch: list[Point] = batch, n: int = n) -> None:
            for i, key in enumerate(keys):
                part = batch[(i + n) % 3 :: 3]
                if part:
                    write_points(tr, key, part, "custom")

        model_engine.transact(txn)
        for i, key in enumerate(keys):
            apply_to_model(models[key], batch[(i + n) % 3 :: 3])
    for key in keys:
        _check(model_engine, key, models[key])


def _assert_chart_invariants(chart: Block, model: Model, buckets: int, lo: int, hi: int) -> None:
    """Every output point is stored; first, last, global min and max are present; ≤ 4 per bucket."""
    inside = {s: p for s, p in model.items() if lo <= s < hi}
    steps = list(chart.steps)
    assert steps == sorted(set(steps))
    for s, v in zip(steps, chart.values, strict=True):
        assert s in inside
        assert v == inside[s].value or (v != v and inside[s].value != inside[s].value)
    if not inside:
        assert not steps
        return
    assert steps[0] == min(inside)
    assert steps[-1] == max(inside)
    real = [p.value for p in inside.values() if p.value == p.value]
    if real:
        assert min(real) in chart.values
        assert max(real) in chart.values
    assert len(steps) <= 4 * buckets


def _series(n: int, seed: int, spike_at: int) -> list[Point]:
    rng = random.Random(seed)
    x = 1.0
    out = []
    for i in range(n):
        x = abs(x * 0.9999 + rng.gauss(0, 0.01))
        out.append(Point(i, 1e6 if i == spike_at else x, None, 1.7e9 + i))
    return out


@pytest.mark.parametrize("with_all_columns", [False, True])
def test_chart_keeps_the_spike_and_the_extremes(model_engine: Engine, with_all_columns: bool) -> None:
    key = SeriesKey(uuid.uuid4().hex, 0, "loss")
    pts = _series(120_000, 4, spike_at=77_777)
    for a in range(0, len(pts), 20_000):
        model_engine.transact(lambda tr, a=a: write_points(tr, key, pts[a : a + 20_000], "float"))  # type: ignore[misc]
    model = {p.step: p for p in pts}
    for buckets, lo, hi in [
        (100, 0, 120_000),
        (50, 1_000, 119_000),
        (7, 60_000, 90_001),
        (500, 77_000, 78_000),
    ]:
        chart = model_engine.read(
            lambda tr, b=buckets, lo=lo, hi=hi: read_downsampled(  # type: ignore[misc]
                tr, key, b, lo, hi, with_epochs_timestamps=with_all_columns
            )
        )
        _assert_chart_invariants(chart, model, buckets, lo, hi)
        if lo <= 77_777 < hi:
            assert 1e6 in chart.values
        if with_all_columns:
            assert all(t is not None for t in chart.timestamps)


def test_rollup_chart_agrees_with_the_exact_chart_on_extremes(model_engine: Engine) -> None:
    key = SeriesKey(uuid.uuid4().hex, 0, "loss")
    pts = _series(200_000, 8, spike_at=123_456)
    pts[5_000] = Point(5_000, -3.0)  # a dip too
    for a in range(0, len(pts), 50_000):
        model_engine.transact(lambda tr, a=a: write_points(tr, key, pts[a : a + 50_000], "float"))  # type: ignore[misc]
    fast = model_engine.read(lambda tr: read_downsampled(tr, key, 100, with_epochs_timestamps=False))
    exact = model_engine.read(lambda tr: read_downsampled(tr, key, 100))
    assert fast.timestamps[0] is None  # the rollup path answered (no epochs/timestamps decoded)
    assert exact.timestamps[0] is not None
    assert min(fast.values) == min(exact.values) == -3.0
    assert max(fast.values) == max(exact.values) == 1e6
    assert fast.steps[0] == exact.steps[0] == 0
    assert fast.steps[-1] == exact.steps[-1] == 199_999
    # Bucket edges move by less than a sketch window, so the bucket count is the same within one.
    assert abs(len(fast) - len(exact)) <= 8
    _assert_chart_invariants(fast, {p.step: p for p in pts}, 100, 0, 200_000)


def test_chart_over_a_series_with_nan_and_ints(model_engine: Engine) -> None:
    key = SeriesKey(uuid.uuid4().hex, 0, "m")
    pts = [
        Point(i, math.nan if i % 1000 < 70 else (i % 997 if i < 60_000 else float(i % 991)))
        for i in range(90_000)
    ]
    model_engine.transact(lambda tr: write_points(tr, key, pts, "float"))
    model = {p.step: p for p in pts}
    for full in (False, True):
        chart = model_engine.read(lambda tr, f=full: read_downsampled(tr, key, 60, with_epochs_timestamps=f))  # type: ignore[misc]
        _assert_chart_invariants(chart, model, 60, 0, 90_000)
