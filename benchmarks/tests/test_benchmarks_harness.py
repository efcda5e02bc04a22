"""The helpers the benchmarks share."""

from __future__ import annotations

import itertools

import pytest

from matyan_benchmarks.harness import Row, loss_curve, percentile, print_rows, timestamps, to_float32


def test_percentile_is_the_nearest_rank() -> None:
    samples = [float(x) for x in range(100, 0, -1)]
    assert percentile(samples, 0.5) == 50.0
    assert percentile(samples, 0.99) == 99.0
    assert percentile(samples, 1.0) == 100.0
    assert percentile([7.0], 0.5) == 7.0


def test_synthetic_series_are_reproducible_and_shaped_like_training() -> None:
    values = loss_curve(1000, 3, float32=True)
    assert values == loss_curve(1000, 3, float32=True)
    assert values != loss_curve(1000, 4, float32=True)
    assert all(v == to_float32(v) for v in values)
    times = timestamps(1000, 4)
    assert all(b > a for a, b in itertools.pairwise(times))
    assert 90 < times[-1] - times[0] < 110  # about 10 steps per second


def test_report_table_aligns_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    print_rows([Row("a", "1 ms", "<= 2 ms"), Row("longer what", "3 ms", "")])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert len({line.index("|") for line in lines if "|" in line}) == 1
