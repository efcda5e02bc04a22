"""The whole backend as real processes: frontier-shaped messages -> ingest-worker -> store -> API, then a
delete through the API -> ingest-worker -> ``run_deleted`` -> control-worker removes the run's blobs.

API, ingest-worker and control-worker run as ``matyan-backend`` subprocesses sharing one LMDB directory and
one local blob directory, on a real tansu broker with topics of their own.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from matyan_dev_services import KafkaService, ProcessRunner, find_free_port, kafka_ensure_topics, wait_healthy

from matyan_models import (
    AddTagWsRequest,
    BlobRefWsRequest,
    CreateRunWsRequest,
    FinishRunWsRequest,
    LogHParamsWsRequest,
    LogMetricWsRequest,
    ws_frame_to_ingestion_message,
)

pytestmark = pytest.mark.services

MATYAN_BACKEND = str(Path(sys.executable).parent / "matyan-backend")
DEADLINE_S = 90.0


def _wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _frames(run_id: str, points: int) -> list[Any]:
    now = datetime.now(UTC)
    frames: list[Any] = [
        CreateRunWsRequest(run_id=run_id, client_datetime=now),
        LogHParamsWsRequest(run_id=run_id, value={"hparams": {"lr": 0.001, "batch_size": 32}}),
        AddTagWsRequest(run_id=run_id, tag_name="e2e"),
        BlobRefWsRequest(run_id=run_id, s3_key=f"{run_id}/artifacts/model.txt", artifact_path="model.txt"),
    ]
    for step in range(points):
        frames.append(
            LogMetricWsRequest(
                run_id=run_id,
                name="loss",
                value=1.0 / (step + 1),
                step=step,
                epoch=step // 10,
                context={"subset": "train"},
                dtype="float",
                client_datetime=now,
            )
        )
    frames.append(FinishRunWsRequest(run_id=run_id))
    return frames


async def _produce(bootstrap: str, topic: str, run_id: str, frames: list[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for frame in frames:
            message = ws_frame_to_ingestion_message(frame)
            await producer.send_and_wait(topic, message.model_dump_json().encode(), key=run_id.encode())
    finally:
        await producer.stop()


def test_ingest_read_delete_round_trip(
    kafka_service: KafkaService, process_runner: ProcessRunner, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:10]
    data_topic, control_topic = f"e2e-data-{tag}", f"e2e-control-{tag}"
    kafka_ensure_topics(kafka_service.bootstrap_servers, {data_topic: 2, control_topic: 1})
    data_dir = tmp_path / "data"
    port = find_free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_service.bootstrap_servers,
        "KAFKA_DATA_INGESTION_TOPIC": data_topic,
        "KAFKA_CONTROL_EVENTS_TOPIC": control_topic,
        "MATYAN_DATA_DIR": str(data_dir),
        "MATYAN_STORE_ENGINE": "lmdb",
        "MATYAN_LMDB_SYNC": "false",
        "BLOB_BACKEND_TYPE": "local",
        "MATYAN_INGEST_GROUP_ID": f"ingest-{tag}",
        "MATYAN_CONTROL_GROUP_ID": f"control-{tag}",
        "MATYAN_KAFKA_SESSION_TIMEOUT_MS": "2000",
        "MATYAN_KAFKA_HEARTBEAT_INTERVAL_MS": "200",
        "MATYAN_KAFKA_REBALANCE_TIMEOUT_MS": "500",
        "METRICS_PORT": "0",
    }
    run_id = f"integration-{uuid.uuid4().hex[:12]}"
    blob = data_dir / "blobs" / run_id / "artifacts" / "model.txt"
    blob.parent.mkdir(parents=True)
    blob.write_text("weights")

    process_runner.start("ingest-worker", [MATYAN_BACKEND, "ingest-worker"], env=env)
    process_runner.start("control-worker", [MATYAN_BACKEND, "control-worker"], env=env)
    api = process_runner.start(
        "api",
        [MATYAN_BACKEND, "start", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"

    def live() -> None:
        httpx.get(f"{base}/health/live/", timeout=2).raise_for_status()

    wait_healthy(api, live, "api", 60)

    asyncio.run(_produce(kafka_service.bootstrap_servers, data_topic, run_id, _frames(run_id, 50)))

    info_url = f"{base}/api/v1/rest/runs/{run_id}/info/"
    info: dict[str, Any] = {}

    def finished() -> bool:
        nonlocal info
        response = httpx.get(info_url, timeout=5)
        if response.status_code != 200:
            return False
        info = response.json()
        metrics = info.get("traces", {}).get("metric", [])
        return (
            bool(metrics)
            and metrics[0]["last_value"] == pytest.approx(1.0 / 50)
            and not info["props"]["active"]
        )

    _wait_for(finished, "the run to be ingested and finished")
    assert info["params"]["hparams"] == {"lr": 0.001, "batch_size": 32}
    assert [t["name"] for t in info["props"]["tags"]] == ["e2e"]
    loss = info["traces"]["metric"][0]
    assert loss["name"] == "loss"
    assert loss["context"] == {"subset": "train"}
    assert [a["path"] for a in info["artifacts"]] == ["model.txt"]

    response = httpx.delete(f"{base}/api/v1/rest/runs/{run_id}/", timeout=5)
    assert response.status_code == 200
    assert httpx.get(info_url, timeout=5).status_code == 404
    _wait_for(lambda: not blob.exists(), "the control-worker to delete the run's blob")
    searched = httpx.get(f"{base}/api/v1/rest/tags/", timeout=5).json()
    assert [t["run_count"] for t in searched if t["name"] == "e2e"] == [0]
