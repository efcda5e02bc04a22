"""The released stack against our backend: ``matyan-client`` 0.3.0 -> ``matyan-frontier`` 0.3.0 -> Kafka
(tansu) -> our ingest-worker -> store -> our API, with artifact uploads presigned by the frontier and PUT to
the S3 emulator (moto) that our backend reads blobs from.

Everything runs as a real process. The frontier has its own virtualenv (its pins clash with our lock; see
infra/dev/install-tools.sh), the training script runs with the workspace python and is configured only
through the client's documented env vars. Values are checked through our API and, where the API has no
JSON read (texts, distributions, log records, terminal lines), in the LMDB store the worker wrote.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import released_stack_training as script
from full_stack_fixture import live_probe, run_training_script, s3_env
from matyan_dev_services import (
    KafkaService,
    ProcessRunner,
    S3Service,
    find_free_port,
    kafka_ensure_topics,
    wait_healthy,
)

from matyan_models import context_to_id
from matyan_store import sequences
from matyan_store.codec import Block
from matyan_store.engine import Engine, open_engine

pytestmark = [pytest.mark.services, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
FRONTIER_BIN = REPO / ".cache" / "frontier-venv" / "bin" / "matyan-frontier"
MATYAN_BACKEND = str(Path(sys.executable).parent / "matyan-backend")
DEADLINE_S = 90.0


def _wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _series(engine: Engine, run_id: str, context: dict[str, Any], name: str) -> Block:
    key = sequences.SeriesKey(run_id, context_to_id(context), name)
    return engine.read(lambda tr: sequences.read_range(tr, key))


def test_released_client_and_frontier_against_our_backend(
    kafka_service: KafkaService, s3_service: S3Service, process_runner: ProcessRunner, tmp_path: Path
) -> None:
    if not FRONTIER_BIN.exists():
        # Not a skip: without the frontier this test proves nothing, and `make setup` installs it.
        pytest.fail(f"{FRONTIER_BIN} is missing; run infra/dev/install-tools.sh", pytrace=False)
    tag = uuid.uuid4().hex[:10]
    data_topic, control_topic = f"released-data-{tag}", f"released-control-{tag}"
    kafka_ensure_topics(kafka_service.bootstrap_servers, {data_topic: 2, control_topic: 1})
    data_dir = tmp_path / "data"
    api_port, frontier_port = find_free_port(), find_free_port()
    api_base, frontier_base = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{frontier_port}"
    kafka_env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_service.bootstrap_servers,
        "KAFKA_DATA_INGESTION_TOPIC": data_topic,
    }

    # The frontier reads ./.env; an empty working directory keeps a developer's file out of the test.
    frontier_cwd = tmp_path / "frontier"
    frontier_cwd.mkdir()
    frontier_env = {
        **os.environ,
        **kafka_env,
        **s3_env(s3_service),
        "CORS_ORIGINS": json.dumps([api_base]),
        "LOG_LEVEL": "INFO",
    }
    frontier = process_runner.start(
        "frontier",
        [str(FRONTIER_BIN), "start", "--host", "127.0.0.1", "--port", str(frontier_port)],
        env=frontier_env,
        cwd=frontier_cwd,
    )

    backend_env = {
        **os.environ,
        **kafka_env,
        **s3_env(s3_service),
        "KAFKA_CONTROL_EVENTS_TOPIC": control_topic,
        "MATYAN_DATA_DIR": str(data_dir),
        "MATYAN_STORE_ENGINE": "lmdb",
        "MATYAN_LMDB_SYNC": "false",
        "MATYAN_INGEST_GROUP_ID": f"ingest-{tag}",
        "MATYAN_KAFKA_SESSION_TIMEOUT_MS": "2000",
        "MATYAN_KAFKA_HEARTBEAT_INTERVAL_MS": "200",
        "MATYAN_KAFKA_REBALANCE_TIMEOUT_MS": "500",
        "METRICS_PORT": "0",
    }
    process_runner.start("ingest-worker", [MATYAN_BACKEND, "ingest-worker"], env=backend_env)
    api = process_runner.start(
        "api",
        [MATYAN_BACKEND, "start", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "1"],
        env=backend_env,
    )
    wait_healthy(frontier, live_probe(frontier_base), "frontier", 60)
    wait_healthy(api, live_probe(api_base), "api", 60)

    # The user's side: the workspace python with the released client, configured by env vars only.
    run_id, _ = run_training_script(script.__file__, api_base, frontier_base, tmp_path)

    steps, values, epochs = script.expected_loss()
    info_url = f"{api_base}/api/v1/rest/runs/{run_id}/info/"
    info: dict[str, Any] = {}

    def finished() -> bool:
        # finish_run is the client's last message and one run's messages share a partition, so a finished
        # run with the last loss point means every earlier message has been applied too.
        nonlocal info
        response = httpx.get(info_url, timeout=5)
        if response.status_code != 200:
            return False
        info = response.json()
        losses = [t for t in info.get("traces", {}).get("metric", []) if t["name"] == "loss"]
        return bool(losses) and losses[0]["last_value"] == values[-1] and not info["props"]["active"]

    _wait_for(finished, "the run to be ingested and finished")

    # Params: the hparams subtree and a top-level key, as set with run[...] = ...
    assert info["params"] == {"hparams": script.HPARAMS, "seed": script.SEED}
    props = info["props"]
    assert props["name"] == script.RUN_NAME
    assert props["experiment"]["name"] == script.EXPERIMENT
    assert [t["name"] for t in props["tags"]] == [script.TAG]
    assert props["end_time"] is not None
    metric_traces = {(t["name"], json.dumps(t["context"], sort_keys=True)) for t in info["traces"]["metric"]}
    assert metric_traces == {("loss", json.dumps(script.LOSS_CONTEXT)), ("accuracy", "{}")}
    assert [t["name"] for t in info["traces"]["texts"]] == [script.TEXT_NAME]
    assert [t["name"] for t in info["traces"]["distributions"]] == [script.DIST_NAME]
    assert [a["path"] for a in info["artifacts"]] == [script.ARTIFACT_NAME]

    # Metric values through the API's JSON read, every point (density above the point count).
    response = httpx.post(
        f"{api_base}/api/v1/rest/runs/{run_id}/metric/get-batch/",
        params={"record_density": 1000},
        json=[{"name": "loss", "context": script.LOSS_CONTEXT}, {"name": "accuracy", "context": {}}],
        timeout=10,
    )
    assert response.status_code == 200, response.text
    batch = {trace["name"]: trace for trace in response.json()}
    assert batch["loss"]["iters"] == steps
    assert batch["loss"]["values"] == values
    assert batch["accuracy"]["iters"] == list(range(script.AUTO_STEPS))
    assert batch["accuracy"]["values"] == [float(script.accuracy_at(i)) for i in range(script.AUTO_STEPS)]

    # The artifact went client -> frontier presign -> PUT to moto; our API reads it back from the bucket.
    response = httpx.get(
        f"{api_base}/api/v1/rest/runs/{run_id}/artifacts/download/",
        params={"path": script.ARTIFACT_NAME},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.content == script.ARTIFACT_BYTES

    # The rest in the store itself (the API process keeps the LMDB directory open; LMDB allows readers).
    engine = open_engine(f"lmdb://{data_dir / 'kv'}")
    try:
        loss = _series(engine, run_id, script.LOSS_CONTEXT, "loss")
        assert list(loss.steps) == steps
        assert list(loss.values) == values
        assert list(loss.epochs) == epochs
        accuracy = _series(engine, run_id, {}, "accuracy")
        stored_accuracy = list(accuracy.values)
        assert stored_accuracy == [script.accuracy_at(i) for i in range(script.AUTO_STEPS)]
        assert all(type(v) is int for v in stored_accuracy)

        texts = _series(engine, run_id, {}, script.TEXT_NAME)
        assert list(texts.steps) == list(script.TEXT_STEPS)
        assert list(texts.values) == [{"type": "text", "data": t} for t in script.TEXT_STEPS.values()]

        dist = _series(engine, run_id, {}, script.DIST_NAME)
        assert list(dist.steps) == [0]
        (dist_value,) = dist.values
        assert dist_value["type"] == "distribution"
        assert dist_value["bin_count"] == len(script.DIST_HIST)
        assert tuple(dist_value["range"]) == script.DIST_RANGE
        assert list(dist_value["data"]) == script.DIST_HIST

        records = _series(engine, run_id, {}, "__log_records")
        (record,) = records.values
        assert record["message"] == script.LOG_MESSAGE
        assert record["log_level"] == 20  # log_info
        assert record["args"] == script.LOG_EXTRA
        assert record["logger_info"][0] == script.__file__

        lines = list(_series(engine, run_id, {}, "logs").values)
        assert script.PRINTED_LINE in lines, lines
    finally:
        engine.close()
