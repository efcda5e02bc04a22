"""The whole local stack with one training run ingested, shared by the browser and client-read tests.

What ``make run`` starts (our ingest-worker, control-worker and ``matyan-backend start --ui``), on free
127.0.0.1 ports, against the session's tansu broker and S3 emulator, plus the released
``matyan-frontier`` (its own venv, see infra/dev/install-tools.sh). ``full_stack_training.py`` then logs
one run through the released ``matyan-client`` and the frontier, and ``ingested_stack`` returns once our
API shows that run finished with its last point. A test module uses it as a module-scoped fixture:

    @pytest.fixture(scope="module")
    def stack(kafka_service, s3_service, tmp_path_factory) -> Iterator[IngestedStack]:
        with ingested_stack(kafka_service, s3_service, tmp_path_factory.mktemp("stack")) as running:
            yield running
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import full_stack_training as script
import httpx
import pytest
import released_stack_training as base
from matyan_dev_services import (
    KafkaService,
    ProcessRunner,
    S3Service,
    find_free_port,
    kafka_ensure_topics,
    wait_healthy,
)

REPO = Path(__file__).resolve().parent.parent
FRONTIER_BIN = REPO / ".cache" / "frontier-venv" / "bin" / "matyan-frontier"
MATYAN_BACKEND = str(Path(sys.executable).parent / "matyan-backend")
INGEST_DEADLINE_S = 90.0


@dataclass(frozen=True)
class IngestedStack:
    """A running stack and the one run ingested through it."""

    api_base: str
    run_id: str
    runner: ProcessRunner
    script_stdout: str


def live_probe(base_url: str) -> Callable[[], None]:
    """A health probe for a process serving ``/health/live/``."""

    def probe() -> None:
        httpx.get(f"{base_url}/health/live/", timeout=2).raise_for_status()

    return probe


def s3_env(s3: S3Service) -> dict[str, str]:
    """The blob-store variables pointing a process at the test S3 service."""
    # The frontier and our backend read the same variable names, so one mapping serves both.
    return {
        "BLOB_BACKEND_TYPE": "s3",
        "S3_ENDPOINT": s3.endpoint_url,
        "S3_BUCKET": s3.bucket,
        "S3_ACCESS_KEY": s3.access_key,
        "S3_SECRET_KEY": s3.secret_key,
        "S3_REGION": s3.region,
    }


def _start_processes(
    kafka: KafkaService, s3: S3Service, runner: ProcessRunner, directory: Path
) -> tuple[str, str]:
    tag = uuid.uuid4().hex[:10]
    data_topic, control_topic = f"full-data-{tag}", f"full-control-{tag}"
    kafka_ensure_topics(kafka.bootstrap_servers, {data_topic: 2, control_topic: 1})
    api_port, frontier_port = find_free_port(), find_free_port()
    api_base, frontier_base = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{frontier_port}"
    kafka_env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers, "KAFKA_DATA_INGESTION_TOPIC": data_topic}

    # The frontier reads ./.env; an empty working directory keeps a developer's file out of the test.
    frontier_cwd = directory / "frontier"
    frontier_cwd.mkdir()
    frontier = runner.start(
        "frontier",
        [str(FRONTIER_BIN), "start", "--host", "127.0.0.1", "--port", str(frontier_port)],
        env={**os.environ, **kafka_env, **s3_env(s3), "CORS_ORIGINS": json.dumps([api_base])},
        cwd=frontier_cwd,
    )
    backend_env = {
        **os.environ,
        **kafka_env,
        **s3_env(s3),
        "KAFKA_CONTROL_EVENTS_TOPIC": control_topic,
        "MATYAN_DATA_DIR": str(directory / "data"),
        "MATYAN_STORE_ENGINE": "lmdb",
        "MATYAN_LMDB_SYNC": "false",
        "MATYAN_INGEST_GROUP_ID": f"ingest-{tag}",
        "MATYAN_CONTROL_GROUP_ID": f"control-{tag}",
        "MATYAN_KAFKA_SESSION_TIMEOUT_MS": "2000",
        "MATYAN_KAFKA_HEARTBEAT_INTERVAL_MS": "200",
        "MATYAN_KAFKA_REBALANCE_TIMEOUT_MS": "500",
        "METRICS_PORT": "0",
    }
    runner.start("ingest-worker", [MATYAN_BACKEND, "ingest-worker"], env=backend_env)
    runner.start("control-worker", [MATYAN_BACKEND, "control-worker"], env=backend_env)
    api = runner.start(
        "api",
        [MATYAN_BACKEND, "start", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "1", "--ui"],
        env=backend_env,
    )
    wait_healthy(frontier, live_probe(frontier_base), "frontier", 60)
    wait_healthy(api, live_probe(api_base), "api", 60)
    return api_base, frontier_base


def run_training_script(
    script_path: str, api_base: str, frontier_base: str, directory: Path
) -> tuple[str, str]:
    """Run a released-client training script against the stack; its run id and stdout."""
    script_dir = directory / "script"
    script_dir.mkdir()
    run_id_file = script_dir / "run_id"
    env = {**os.environ, "MATYAN_FRONTIER_URL": frontier_base, "MATYAN_BACKEND_URL": api_base}
    result = subprocess.run(
        [sys.executable, script_path, str(run_id_file), str(script_dir)],
        env=env,
        cwd=script_dir,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    (script_dir / "stdout.log").write_text(result.stdout)
    (script_dir / "stderr.log").write_text(result.stderr)
    assert result.returncode == 0, f"training script failed:\n{result.stdout}\n{result.stderr}"
    # The client only logs a frontier's error reply (it never raises), so its log is where one would show.
    problems = [line for line in result.stderr.splitlines() if "| ERROR" in line or "| WARNING" in line]
    assert problems == [], result.stderr
    return run_id_file.read_text(), result.stdout


def _wait_finished(api_base: str, run_id: str) -> None:
    # finish_run is the client's last message and one run's messages share a partition, so a finished
    # run with the last loss point means every earlier message has been applied too.
    last_loss = base.expected_loss()[1][-1]
    deadline = time.monotonic() + INGEST_DEADLINE_S
    while time.monotonic() < deadline:
        response = httpx.get(f"{api_base}/api/v1/rest/runs/{run_id}/info/", timeout=5)
        if response.status_code == 200:
            info = response.json()
            losses = [t for t in info["traces"].get("metric", []) if t["name"] == "loss"]
            if losses and losses[0]["last_value"] == last_loss and not info["props"]["active"]:
                return
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} was not ingested and finished within {INGEST_DEADLINE_S:.0f} s")


@contextmanager
def ingested_stack(kafka: KafkaService, s3: S3Service, directory: Path) -> Iterator[IngestedStack]:
    """Start the stack under ``directory``, ingest the training run, yield; stop every process at exit."""
    if not FRONTIER_BIN.exists():
        # Not a skip: without the frontier these tests prove nothing, and `make setup` installs it.
        pytest.fail(f"{FRONTIER_BIN} is missing; run infra/dev/install-tools.sh", pytrace=False)
    runner = ProcessRunner(directory / "processes")
    try:
        try:
            api_base, frontier_base = _start_processes(kafka, s3, runner, directory)
            run_id, stdout = run_training_script(script.__file__, api_base, frontier_base, directory)
            _wait_finished(api_base, run_id)
        except BaseException as exc:
            # A module fixture has no report section of its own: the process logs go with the error.
            raise AssertionError(f"{exc}\n\nprocess logs:\n{runner.log_report()}") from exc
        yield IngestedStack(api_base=api_base, run_id=run_id, runner=runner, script_stdout=stdout)
    finally:
        runner.stop_all()
