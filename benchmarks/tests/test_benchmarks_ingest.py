"""``make bench-ingest`` at tiny sizes: every mode runs to the end and its figures add up."""

from __future__ import annotations

import pytest
from matyan_dev_services import KafkaService

from matyan_benchmarks import ingest

pytestmark = [pytest.mark.services, pytest.mark.timeout(180)]


def test_every_mode_runs_on_tiny_sizes_and_accounts_for_every_message(
    kafka_service: KafkaService, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny = ["--runs", "2", "--metrics", "2", "--steps", "60", "--client-batch", "20", "--max-messages", "20"]
    latency = ["--latency-runs", "2", "--latency-rate", "200", "--latency-seconds", "0.5"]
    report = ingest.main(["--mode", "all", "--bootstrap", kafka_service.bootstrap_servers, *tiny, *latency])

    assert len(report.apply_rows) == 2  # two workloads, one transaction size
    assert all("dead letters 0" in row for row in report.apply_rows)

    records = 2 + 2 * 2 * 60  # create_run per run, then one message per point
    assert [k.label for k in report.kafka] == ["single-point log_metric", "client batches of 20"]
    for figures in report.kafka:
        # Timed from the worker's first commit: what that commit covered is not counted.
        assert 0 <= figures.messages < records
        assert figures.points <= 2 * 2 * 60

    assert report.latency is not None
    lat = report.latency
    assert len(lat.latencies) == 100  # every sent point was seen readable
    assert all(x >= 0 for x in lat.latencies)  # and only after it was sent
    assert lat.quantile(0.5) <= lat.quantile(0.99) <= max(lat.latencies)

    out = capsys.readouterr().out
    assert out.count("dead letters 0") == 2
    assert out.count("target >= 150,000") + out.count("too small to time") == 2
    assert "target p99 <= 2 s" in out
