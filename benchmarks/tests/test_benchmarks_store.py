"""``make bench-store`` and ``make bench-ops`` at tiny sizes, so the benchmarks keep working."""

from __future__ import annotations

import re

import pytest

from matyan_benchmarks import backup, codec, store


def test_codec_bench_prints_every_case_and_both_chart_reads(capsys: pytest.CaptureFixture[str]) -> None:
    codec.main(["3000"])
    out = capsys.readouterr().out
    assert "3,000 points" in out
    assert out.count(" B/pt in blocks") == 4
    assert out.count("downsample 3,000 points") == 2
    assert all(float(ms) >= 0 for ms in re.findall(r"p50 ([0-9.]+) ms", out))


def test_store_bench_returns_and_prints_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--points", "2000", "--series", "4", "--batch", "100", "--series-per-txn", "2"]
    rows = store.main([*argv, "--chart-points", "3000", "--reads", "2"])
    whats = [row.what for row in rows]
    assert whats[0].startswith("ingest 2,000 pts, 4 series")
    assert sum(w.startswith("chart 3,000 pts") for w in whats) == 2
    assert sum(w.startswith("LMDB pages used / point") for w in whats) == 2
    assert all(row.measured for row in rows)
    out = capsys.readouterr().out
    assert all(w in out for w in whats)


def test_backup_bench_restores_every_point_it_backed_up(capsys: pytest.CaptureFixture[str]) -> None:
    backup.main(["4000"])
    out = capsys.readouterr().out
    assert "points: 4000 " in out
    assert re.search(r"^backup: .* points/s", out, re.MULTILINE)
    assert re.search(r"^restore: .* points/s", out, re.MULTILINE)
