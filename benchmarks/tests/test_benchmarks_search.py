"""``python -m matyan_benchmarks.search`` at tiny sizes, so the benchmark keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest

from matyan_benchmarks import search
from matyan_benchmarks.harness import open_lmdb
from matyan_models import context_to_id
from matyan_store import indexes
from matyan_store.sequences import SeriesKey, get_summary, read_range


def test_bench_main_runs_at_tiny_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    rows = search.main(
        ["--runs", "40", "--stream-runs", "30", "--metric-runs", "3", "--points", "3000", "--repeats", "2"]
    )
    whats = [row.what for row in rows]
    assert [w[:3] for w in whats] == ["(e)", "(a)", "(a)", "(a)", "(b)", "(c)", "(d)", "(f)"]
    assert all(row.measured for row in rows)
    out = capsys.readouterr().out
    for row in rows:
        assert row.what in out
    for target in ("<= 20 ms p95", "<= 300 ms p50", "<= 12 ms p50", "<= 150 ms"):
        assert target in out


def test_bench_metric_figures_over_http_at_tiny_sizes() -> None:
    rows = search.main(
        [
            "--runs",
            "0",
            "--stream-runs",
            "0",
            "--metric-runs",
            "2",
            "--points",
            "2000",
            "--repeats",
            "2",
            "--http",
        ]
    )
    assert [row.what[:3] for row in rows] == ["(c)", "(d)", "(f)"]
    assert all("over HTTP" in row.what and "CPU" not in row.measured for row in rows)


def test_fill_metric_runs_copies_read_back_like_the_written_run(tmp_path: Path) -> None:
    engine = open_lmdb(tmp_path / "kv")
    try:
        ids = search.fill_metric_runs(engine, 3, 2_500)
        assert engine.read(lambda tr: indexes.lookup(tr, "trace", "loss")) == ids
        keys = [SeriesKey(run_id, context_to_id({"subset": "train"}), "loss") for run_id in ids]
        blocks = engine.read(lambda tr: [read_range(tr, key) for key in keys])
        summaries = engine.read(lambda tr: [get_summary(tr, key) for key in keys])
        first = blocks[0]
        assert len(first) == 2_500
        for block in blocks[1:]:
            assert list(block.steps) == list(first.steps)
            assert list(block.values) == list(first.values)
            assert list(block.epochs) == list(first.epochs)
            assert list(block.timestamps) == list(first.timestamps)
        assert summaries[1] == summaries[0] == summaries[2]
    finally:
        engine.close()
