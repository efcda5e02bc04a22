"""``make bench-api`` at tiny sizes, so it cannot rot: a real store, a real server, every endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from matyan_benchmarks.api import bench_run_id, fill_store, main
from matyan_store.engine import open_engine
from matyan_store.entities import list_experiments, list_tags
from matyan_store.runs import get_run, get_run_attrs, get_run_tag_ids


def test_fill_store_writes_runs_with_params_tags_and_experiments(tmp_path: Path) -> None:
    engine = open_engine(f"lmdb://{tmp_path / 'kv'}?sync=false")
    try:
        filled = fill_store(engine, 7, experiments=2, tags=3, points=4)
        assert filled.run_ids == [bench_run_id(i) for i in range(7)]
        assert {e.id for e in engine.read(list_experiments)} == set(filled.experiment_ids)
        assert {t.id for t in engine.read(list_tags)} == set(filled.tag_ids)
        meta = engine.read(lambda tr: get_run(tr, bench_run_id(5)))
        assert meta is not None
        assert meta.experiment_id == filled.experiment_ids[1]
        attrs = engine.read(lambda tr: get_run_attrs(tr, bench_run_id(5)))
        assert set(attrs) == {"hparams", "dataset"}
        assert len(engine.read(lambda tr: get_run_tag_ids(tr, bench_run_id(5)))) == 2
    finally:
        engine.close()


@pytest.mark.slow
def test_bench_runs_end_to_end_at_tiny_sizes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = main(
        [
            "--runs",
            "50",
            "--points",
            "5",
            "--requests",
            "10",
            "--concurrency",
            "3",
            "--workers",
            "1",
            "--dir",
            str(tmp_path),
        ]
    )
    assert {row.endpoint for row in rows} == {
        "GET runs/{id}/info/",
        "GET experiments/",
        "GET tags/",
        "GET projects/params/",
    }
    for row in rows:
        assert (row.workers, row.concurrency, row.requests, row.errors) == (1, 3, 10, 0)
        assert 0 < row.p50_ms <= row.p99_ms
        assert row.req_per_s > 0
    out = capsys.readouterr().out
    assert "<= 20 ms p50" in out
    assert out.count("GET runs/{id}/info/") == 2  # the first-request line and the table row
