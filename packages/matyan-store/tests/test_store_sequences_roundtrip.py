"""Round trips of every kind of series through the real LMDB engine, summaries, replays and limits."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from store_sequences_fixtures import (
    KEY,
    Model,
    apply_to_model,
    assert_matches_model,
    assert_summary_matches_model,
    counted_write,
    seq_engine,
)

from matyan_store.engine import Engine, EngineLimits, TransactionTooLarge, open_engine
from matyan_store.sequences import (
    Point,
    PointTooLarge,
    SeriesKey,
    get_summary,
    list_run_series,
    next_step,
    read_downsampled,
    read_last,
    read_many,
    read_range,
    read_tail,
    write_points,
)
from matyan_store.sequences.append import BLOCK_TARGET_BYTES

__all__ = ["seq_engine"]


def write(engine: Engine, key: SeriesKey, points: list[Point], dtype: str = "float") -> None:
    engine.transact(lambda tr: write_points(tr, key, points, dtype))


def roundtrip(engine: Engine, key: SeriesKey, points: list[Point], dtype: str) -> Model:
    write(engine, key, points, dtype)
    model: Model = {}
    apply_to_model(model, points)
    assert_matches_model(engine.read(lambda tr: read_range(tr, key)), model)
    summary = engine.read(lambda tr: get_summary(tr, key))
    assert_summary_matches_model(summary, model)
    assert summary is not None
    assert summary.dtype == dtype
    return model


def test_float_metric_round_trip_with_epochs_and_timestamps(seq_engine: Engine) -> None:
    rng = random.Random(3)
    pts = [Point(i, rng.gauss(0, 1), i // 100, 1.7e9 + i * 0.1) for i in range(5_000)]
    roundtrip(seq_engine, KEY, pts, "float")
    s = seq_engine.read(lambda tr: get_summary(tr, KEY))
    assert s is not None
    assert s.value_kind == "float"


def test_int_metric_keeps_ints(seq_engine: Engine) -> None:
    pts = [Point(i, (i * 7919) % 1000 - 500) for i in range(3_000)]
    roundtrip(seq_engine, KEY, pts, "int")
    block = seq_engine.read(lambda tr: read_range(tr, KEY, 10, 12))
    assert [type(v) for v in block.values] == [int, int]
    s = seq_engine.read(lambda tr: get_summary(tr, KEY))
    assert s is not None
    assert s.min == -500
    assert s.max == 499
    assert s.value_kind == "int"


def test_mixed_int_and_float_read_back_as_floats(seq_engine: Engine) -> None:
    pts = [Point(i, i if i % 2 else i + 0.5) for i in range(100)]
    write(seq_engine, KEY, pts)
    block = seq_engine.read(lambda tr: read_range(tr, KEY))
    assert list(block.values) == [float(p.value) for p in pts]
    s = seq_engine.read(lambda tr: get_summary(tr, KEY))
    assert s is not None
    assert s.min == 0.5
    assert s.max == 99


def test_nan_and_inf_values(seq_engine: Engine) -> None:
    pts = [Point(0, math.nan), Point(1, 2.0), Point(2, math.inf), Point(3, -1.0), Point(4, math.nan)]
    model = roundtrip(seq_engine, KEY, pts, "float")
    assert len(model) == 5
    s = seq_engine.read(lambda tr: get_summary(tr, KEY))
    assert s is not None
    assert s.min == -1.0
    assert s.max == math.inf
    assert s.max_step == 2


def test_terminal_logs_and_log_records(seq_engine: Engine) -> None:
    logs = SeriesKey("run-a", 0, "logs")
    lines = [Point(i, f"epoch {i}: loss={i / 7:.4f} \u2713", None, 1.7e9 + i) for i in range(2_000)]
    roundtrip(seq_engine, logs, lines, "logs")
    records = SeriesKey("run-a", 0, "__log_records")
    recs = [
        Point(
            i,
            {
                "message": f"step {i}",
                "log_level": 20,
                "timestamp": 1.7e9 + i,
                "args": None if i % 2 else {"k": i},
                "logger_info": ["train.py", i],
            },
        )
        for i in range(500)
    ]
    roundtrip(seq_engine, records, recs, "log_records")
    s = seq_engine.read(lambda tr: get_summary(tr, records))
    assert s is not None
    assert s.value_kind == "object"
    assert s.min is None
    assert s.last_value == recs[-1].value


def test_custom_objects_with_bytes_and_lists(seq_engine: Engine) -> None:
    rng = random.Random(5)
    dist = SeriesKey("run-a", 2, "weights")
    pts = [
        Point(
            i,
            {
                "type": "distribution",
                "bin_count": 64,
                "range": [-1.0, 1.0],
                "dtype": "float64",
                "data": rng.randbytes(512),
            },
            i,
        )
        for i in range(200)
    ]
    roundtrip(seq_engine, dist, pts, "distribution")
    images = SeriesKey("run-a", 2, "samples")
    imgs = [
        Point(
            i,
            [
                {"s3_key": f"run-a/seq/{i}/{j}.png", "caption": "", "width": 32, "height": 32}
                for j in range(3)
            ],
        )
        for i in range(50)
    ]
    roundtrip(seq_engine, images, imgs, "image")


def test_huge_object_is_split_across_keys_and_joined(seq_engine: Engine) -> None:
    rng = random.Random(9)
    fig = SeriesKey("run-a", 0, "plot")
    # ~300 KB of incompressible JSON-ish data: far over one 100 KB value.
    huge = {"type": "figure", "data": {"points": rng.randbytes(300_000).hex()[:300_000]}}
    pts = [
        Point(0, {"type": "figure", "data": {}}),
        Point(1, huge),
        Point(2, {"type": "figure", "data": {"x": 1}}),
    ]
    _, c = counted_write(seq_engine, lambda tr: write_points(tr, fig, pts, "figure"))
    assert c.sets >= 5  # the huge block needs at least three part keys
    block = seq_engine.read(lambda tr: read_range(tr, fig))
    assert block.values[1] == huge
    assert list(block.steps) == [0, 1, 2]
    s = seq_engine.read(lambda tr: get_summary(tr, fig))
    assert s is not None
    assert s.last_value == {"type": "figure", "data": {"x": 1}}
    # Overwriting the huge point with a small one leaves no stale part behind.
    write(seq_engine, fig, [Point(1, "small")], "figure")
    assert list(seq_engine.read(lambda tr: read_range(tr, fig)).values) == [
        pts[0].value,
        "small",
        pts[2].value,
    ]
    last = seq_engine.read(lambda tr: read_last(tr, fig))
    assert last is not None
    assert last.step == 2


def test_large_last_value_is_left_out_of_the_summary(seq_engine: Engine) -> None:
    key = SeriesKey("run-a", 0, "text")
    big = {"type": "text", "data": "y" * 5_000}
    write(seq_engine, key, [Point(0, big)], "text")
    s = seq_engine.read(lambda tr: get_summary(tr, key))
    assert s is not None
    assert s.last_value is None
    assert s.last_value_omitted
    last = seq_engine.read(lambda tr: read_last(tr, key))
    assert last is not None
    assert last.value == big


def test_point_larger_than_a_transaction_raises_naming_the_limit(tmp_path: Any) -> None:
    limits = EngineLimits(max_transaction_bytes=250_000)
    engine = open_engine(f"lmdb://{tmp_path / 'kv'}?sync=false", limits=limits)
    try:
        rng = random.Random(1)
        too_big = {"blob": rng.randbytes(400_000)}
        with pytest.raises(PointTooLarge, match="250000") as info:
            engine.transact(lambda tr: write_points(tr, KEY, [Point(0, too_big)], "custom"))
        assert isinstance(info.value, TransactionTooLarge)
        assert "loss" in str(info.value)
        assert engine.read(lambda tr: get_summary(tr, KEY)) is None
    finally:
        engine.close()


def test_replaying_a_batch_changes_nothing(seq_engine: Engine) -> None:
    rng = random.Random(11)
    batch = [Point(i, rng.random(), None, 1.7e9 + i) for i in range(4_000)]
    write(seq_engine, KEY, batch)

    def snapshot(tr: Any) -> list[tuple[bytes, bytes]]:
        return list(tr.get_range(b"", b"\xff"))

    before = seq_engine.read(snapshot)
    summary = seq_engine.read(lambda tr: get_summary(tr, KEY))
    write(seq_engine, KEY, batch)
    write(seq_engine, KEY, batch[1000:2000])
    assert seq_engine.read(snapshot) == before
    assert seq_engine.read(lambda tr: get_summary(tr, KEY)) == summary


def test_overwrite_of_the_extremes_is_reflected_in_the_summary(seq_engine: Engine) -> None:
    pts = [Point(i, float(i % 50)) for i in range(3_000)]
    model: Model = {}
    write(seq_engine, KEY, pts)
    apply_to_model(model, pts)
    # Replace every maximum (49.0) and add a new minimum in the middle.
    fix = [Point(s, 10.0) for s in range(49, 3_000, 50)] + [Point(1_234, -5.0)]
    write(seq_engine, KEY, fix)
    apply_to_model(model, fix)
    assert_summary_matches_model(seq_engine.read(lambda tr: get_summary(tr, KEY)), model)
    assert_matches_model(seq_engine.read(lambda tr: read_range(tr, KEY)), model)


def test_next_step_and_auto_steps(seq_engine: Engine) -> None:
    rec = SeriesKey("run-a", 0, "__log_records")
    assert seq_engine.read(lambda tr: next_step(tr, rec)) == 0

    def log(tr: Any, message: str) -> int:
        step = next_step(tr, rec)
        write_points(tr, rec, [Point(step, {"message": message})], "log_records")
        return step

    assert [seq_engine.transact(lambda tr, m=m: log(tr, m)) for m in "abc"] == [0, 1, 2]  # type: ignore[misc]

    def two(tr: Any) -> tuple[int, int]:  # read-your-writes within one transaction
        return log(tr, "d"), log(tr, "e")

    assert seq_engine.transact(two) == (3, 4)
    write(seq_engine, rec, [Point(100, {"message": "explicit"})], "log_records")
    assert seq_engine.read(lambda tr: next_step(tr, rec)) == 101


def test_tail_last_and_partial_ranges(seq_engine: Engine) -> None:
    pts = [Point(2 * i, float(i)) for i in range(10_000)]  # even steps only
    write(seq_engine, KEY, pts)
    tail = seq_engine.read(lambda tr: read_tail(tr, KEY, 2_500))
    assert list(tail.steps) == [p.step for p in pts[-2_500:]]
    assert seq_engine.read(lambda tr: read_tail(tr, KEY, 0)).steps == []
    assert len(seq_engine.read(lambda tr: read_tail(tr, KEY, 50_000))) == 10_000
    assert seq_engine.read(lambda tr: read_last(tr, KEY)) == pts[-1]
    mid = seq_engine.read(lambda tr: read_range(tr, KEY, 101, 111))
    assert list(mid.steps) == [102, 104, 106, 108, 110]
    assert len(seq_engine.read(lambda tr: read_range(tr, KEY, 30_000, None))) == 0
    assert len(seq_engine.read(lambda tr: read_range(tr, KEY, 50, 50))) == 0
    missing = SeriesKey("run-a", 0, "nope")
    assert seq_engine.read(lambda tr: read_last(tr, missing)) is None
    assert len(seq_engine.read(lambda tr: read_range(tr, missing))) == 0
    assert len(seq_engine.read(lambda tr: read_downsampled(tr, missing, 10))) == 0


def test_list_run_series_and_read_many_across_runs(seq_engine: Engine) -> None:
    keys = [SeriesKey(run, ctx, name) for run in ("r1", "r2") for ctx in (0, 7) for name in ("acc", "loss")]
    for i, key in enumerate(keys):
        write(seq_engine, key, [Point(s, float(s * (i + 1))) for s in range(300 + i)])
    write(seq_engine, SeriesKey("r10", 0, "acc"), [Point(0, 1.0)])  # a run id sharing a prefix
    listed = seq_engine.read(lambda tr: list_run_series(tr, "r1"))
    assert [k for k, _ in listed] == keys[:4]
    assert [s.count for _, s in listed] == [300, 301, 302, 303]
    got = seq_engine.read(lambda tr: read_many(tr, [*keys, keys[0], SeriesKey("r3", 0, "x")], None, 10, 20))
    assert len(got) == len(keys) + 1
    for i, key in enumerate(keys):
        assert list(got[key].values) == [float(s * (i + 1)) for s in range(10, 20)]
    assert len(got[SeriesKey("r3", 0, "x")]) == 0
    charts = seq_engine.read(lambda tr: read_many(tr, keys, 10))
    for i, key in enumerate(keys):
        block = charts[key]
        assert block.steps[0] == 0
        assert block.steps[-1] == 299 + i
        assert max(block.values) == float((299 + i) * (i + 1))


def test_blocks_stay_under_the_target(seq_engine: Engine) -> None:
    rng = random.Random(2)
    pts = [Point(i, rng.random(), i, rng.random()) for i in range(30_000)]
    for a in range(0, 30_000, 1_000):
        write(seq_engine, KEY, pts[a : a + 1_000])

    def sizes(tr: Any) -> list[int]:
        from matyan_store.sequences import layout

        base = layout.body_key(KEY.run_id, KEY.context_id, KEY.name, 0)[:-1]
        return [len(v) for k, v in tr.get_range(base, base + b"\xff") if k.startswith(base)]

    got = seq_engine.read(sizes)
    assert len(got) > 10
    assert max(got) <= BLOCK_TARGET_BYTES
    assert sum(got[:-1]) / len(got[:-1]) > BLOCK_TARGET_BYTES * 0.8  # full blocks, not slivers


HUGE = 10**30
LAST = 2**63 - 1  # the highest step a write accepts


@pytest.mark.parametrize(
    ("start", "stop", "steps"),
    [
        (-HUGE, HUGE, [0, 5, LAST]),
        (None, 2**64, [0, 5, LAST]),
        (None, 2**70, [0, 5, LAST]),
        (LAST, None, [LAST]),
        (LAST, HUGE, [LAST]),
        (2**64 - 1, None, []),
        (2**64, None, []),
        (HUGE, HUGE + 1, []),
        (-HUGE, 0, []),
        (-HUGE, -5, []),
        (-5, 6, [0, 5]),
        (6, 2, []),
    ],
)
def test_reads_take_bounds_outside_the_step_domain(
    seq_engine: Engine, start: int | None, stop: int | None, steps: list[int]
) -> None:
    # Step keys hold [0, 2**64); bounds come from clients (query strings, align slices) and used to
    # reach the step-key encoder ("step out of range"): a 500 or a cut stream in the API.
    write(seq_engine, KEY, [Point(0, 0.5), Point(5, 1.5), Point(LAST, 2.5)])

    def check(tr: Any) -> None:
        assert list(read_range(tr, KEY, start, stop).steps) == steps
        assert list(read_downsampled(tr, KEY, 4, start, stop).steps) == steps
        assert list(read_downsampled(tr, KEY, 4, start, stop, with_epochs_timestamps=False).steps) == steps

    seq_engine.read(check)
