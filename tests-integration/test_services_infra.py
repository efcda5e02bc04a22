"""The service scripts themselves: the command line, a broker kept in S3, and the process runner."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from matyan_dev_services import (
    GcsService,
    ManagedProcess,
    PortInUseError,
    ProcessRunner,
    RunDir,
    S3Service,
    ServiceError,
    _cli,
    check_gcs,
    start_gcs,
    start_kafka,
    start_on_free_port,
    wait_healthy,
)

pytestmark = pytest.mark.services


def test_cli_start_status_stop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = tmp_path / "run"
    # The GCS emulator starts fastest; the command line is the same for every kind.
    assert _cli(["--run-dir", str(run_dir), "start", "gcs", "0", "--bucket", "cli-bucket"]) == 0
    started = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    service = GcsService(endpoint=started["endpoint"], bucket=started["bucket"], project=started["project"])
    try:
        assert service.bucket == "cli-bucket"
        check_gcs(service)
        assert (run_dir / "gcs.log").exists()
        record = json.loads((run_dir / "gcs.pid").read_text())
        assert record["pid"] > 0

        assert _cli(["--run-dir", str(run_dir), "status", "gcs"]) == 0
        assert "gcs: healthy" in capsys.readouterr().out
        # A second start of the same service in the same run dir is refused, not doubled.
        assert _cli(["--run-dir", str(run_dir), "start", "gcs", "0"]) == 1
        assert "already running" in capsys.readouterr().err
    finally:
        assert _cli(["--run-dir", str(run_dir), "stop", "gcs"]) == 0
    assert "gcs: stopped" in capsys.readouterr().out
    assert not (run_dir / "gcs.pid").exists()
    assert _cli(["--run-dir", str(run_dir), "status", "gcs"]) == 1
    assert "gcs: not running" in capsys.readouterr().out
    # Stopped means the recorded process is gone. Probing its port would not say so: a freed port may
    # already be serving someone else (reset or even answered instead of refused).
    stopped = ManagedProcess(
        "gcs", record["pid"], record["start_time"], run_dir / "gcs.log", run_dir / "gcs.pid"
    )
    assert not stopped.alive()


@pytest.mark.slow
async def test_kafka_on_s3_storage_survives_restart(s3_service: S3Service, tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path / "run")
    timeouts = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 200, "rebalance_timeout_ms": 500}
    try:
        kafka = await asyncio.to_thread(
            start_on_free_port, lambda port: start_kafka(run_dir, port, data_partitions=2, s3=s3_service)
        )
        payload = uuid.uuid4().hex.encode()
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(kafka.control_topic, payload)
        finally:
            await producer.stop()
        port = int(kafka.bootstrap_servers.rsplit(":", 1)[1])
        run_dir.stop("kafka")

        # Same port, same bucket: the topics and the record come back from S3.
        restarted = await asyncio.to_thread(start_kafka, run_dir, port, data_partitions=2, s3=s3_service)
        consumer = AIOKafkaConsumer(
            restarted.control_topic,
            bootstrap_servers=restarted.bootstrap_servers,
            group_id=f"g-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **timeouts,
        )
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), timeout=30)
        finally:
            await consumer.stop()
        assert record.value == payload
    finally:
        run_dir.stop_all()


def test_process_runner_collects_logs_and_stops(process_runner: ProcessRunner) -> None:
    code = "import time; print('hello from child', flush=True); time.sleep(300)"
    proc = process_runner.start("sleeper", [sys.executable, "-c", code])

    def printed() -> None:
        if "hello from child" not in proc.log_tail():
            raise AssertionError("not yet")

    wait_healthy(proc, printed, "sleeper", timeout=30)
    assert proc.alive()
    assert proc.log_path == process_runner.path / "sleeper.log"
    process_runner.stop("sleeper")
    assert not proc.alive()
    assert not (process_runner.path / "sleeper.pid").exists()


def test_failed_start_reports_the_log(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path / "run")
    proc = run_dir.start("broken", [sys.executable, "-c", "import sys; print('boom: bad flag'); sys.exit(3)"])

    def never_ready() -> None:
        raise OSError("not yet")

    with pytest.raises(ServiceError, match="boom: bad flag"):
        wait_healthy(proc, never_ready, "broken service", timeout=30)
    assert proc.exit_code() == 3


def test_start_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"127.0.0.1:{port} is already in use"):
            start_gcs(RunDir(tmp_path / "run"), port)
    assert not (tmp_path / "run" / "gcs.pid").exists()
