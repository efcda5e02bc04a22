"""The control worker: blob cleanup on a local dir and on S3 (moto), retries, dead letters; and the whole
delete chain (delete_run → ingest worker → run_deleted → control worker)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from matyan_dev_services import KafkaService, S3Service
from workers_fixtures import CLIENT_DT, delete_value, engine, frontier_value, lmdb_url, metric
from workers_kafka_fixtures import fresh_topics, produce

from matyan_models import ControlEvent
from matyan_models.kafka_settings import KafkaSettings
from matyan_store import deadletters, runs, tombstones
from matyan_store.blobs import BlobSettings, BlobStore, open_blob_store
from matyan_store.engine import Engine, open_engine
from matyan_workers.control.consumer import ControlWorker
from matyan_workers.control.handlers import BlobCleanup, run_deleted
from matyan_workers.ingest.consumer import IngestWorker
from matyan_workers.ingest.deletions import list_pending
from matyan_workers.settings import WorkerSettings

__all__ = ["engine"]


def _event(kind: str, **payload: Any) -> bytes:
    return ControlEvent(type=kind, timestamp=datetime.now(UTC), payload=payload).model_dump_json().encode()


def _record(value: bytes, offset: int = 0) -> Any:
    return SimpleNamespace(topic="control", partition=0, offset=offset, key=None, value=value)


def _worker_settings(group: str, kafka: KafkaSettings | None = None) -> WorkerSettings:
    return WorkerSettings(
        kafka=kafka or KafkaSettings(),
        matyan_ingest_group_id=group,
        matyan_control_group_id=group,
        matyan_kafka_session_timeout_ms=2000,
        matyan_kafka_heartbeat_interval_ms=200,
        matyan_kafka_rebalance_timeout_ms=500,
        matyan_control_blob_retries=3,
    )


def _local_store(tmp_path: Path) -> BlobStore:
    return open_blob_store(
        BlobSettings.from_values(blob_backend_type="local", blob_local_dir=str(tmp_path / "b"))
    )


async def _until(check: Callable[[], Awaitable[bool]], limit_s: float = 60.0) -> None:
    async with asyncio.timeout(limit_s):
        while not await check():  # noqa: ASYNC110 (polling other processes' effects)
            await asyncio.sleep(0.1)


class _FlakyBlobs:
    """A blob store whose prefix deletes fail ``failures`` times before working."""

    def __init__(self, inner: BlobStore, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def delete_prefix(self, prefix: str) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise OSError("connection reset by peer")
        return await self.inner.delete_prefix(prefix)


async def test_run_deleted_retries_transient_errors_then_dead_letters(engine: Engine, tmp_path: Path) -> None:
    store = _local_store(tmp_path)
    await store.put("r1/a.bin", b"1")
    settings = _worker_settings("g")
    flaky = _FlakyBlobs(store, failures=2)
    worker = ControlWorker(settings, engine, flaky)  # type: ignore[arg-type]
    assert await worker.handle_record(_record(_event("run_deleted", run_id="r1")))
    assert await store.list("r1") == []
    assert flaky.calls == 3
    broken = _FlakyBlobs(store, failures=100)
    worker = ControlWorker(settings, engine, broken)  # type: ignore[arg-type]
    assert not await worker.handle_record(_record(_event("run_deleted", run_id="r2"), offset=1))
    assert not await worker.handle_record(_record(b"{oops", offset=2))
    letters = engine.read(lambda tr: deadletters.list_dead_letters(tr, limit=0))
    assert [(d.offset, d.error_type) for d in letters] == [(1, "blob_storage"), (2, "validation")]


async def test_run_deleted_deletes_only_the_runs_own_blobs(tmp_path: Path) -> None:
    store = _local_store(tmp_path)
    foreign = ["r2/keep.bin", "r10/keep.bin", "artifacts/r10/x.bin", "r1x/keep.bin"]
    for key in ["r1/a.bin", "r1/seq/img/0.png", "artifacts/r1/x.bin", *foreign]:
        await store.put(key, b"1")
    # The legacy artifacts/<run>/ layout is the run's own; every other carried key is not.
    carried = ["r1/a.bin", "artifacts/r1/x.bin", *foreign, "../etc/passwd", 7]
    result = await run_deleted(store, {"run_id": "r1", "blob_keys": carried})
    assert result == BlobCleanup(deleted=3, skipped=6)
    assert await store.list("r1") == []
    assert await store.list("artifacts/r1") == []
    assert sorted(await store.list("")) == sorted(foreign)
    # A run id inside another run's prefix owns nothing: r2's blobs under r2/sub/ stay.
    await store.put("r2/sub/b.bin", b"1")
    result = await run_deleted(store, {"run_id": "r2/sub", "blob_keys": ["r2/sub/b.bin"]})
    assert result == BlobCleanup(deleted=0, skipped=1)
    assert await store.list("r2") == ["r2/keep.bin", "r2/sub/b.bin"]


async def test_other_events_are_logged_and_idempotent(engine: Engine, tmp_path: Path) -> None:
    store = _local_store(tmp_path)
    await store.put("keep/a.bin", b"1")
    worker = ControlWorker(_worker_settings("g"), engine, store)
    events: list[tuple[str, dict[str, Any]]] = [
        ("experiment_deleted", {"experiment_id": "e"}),
        ("tag_deleted", {"tag_id": "t"}),
        ("run_archived", {"run_id": "keep", "archived": True}),
        ("run_unarchived", {"run_id": "keep", "archived": False}),
        ("project_deleted", {"project_id": "00000001"}),
        ("something_new", {}),
        ("run_deleted", {"run_id": ""}),
    ]
    for kind, payload in events:
        assert await worker.handle_record(_record(_event(kind, **payload)))
    assert await store.list("keep") == ["keep/a.bin"]
    for _ in range(2):  # a repeated run_deleted finds nothing left and still succeeds
        assert await worker.handle_record(_record(_event("run_deleted", run_id="keep")))
    assert await store.list("keep") == []


@pytest.mark.services
@pytest.mark.timeout(120)
async def test_control_worker_deletes_blobs_on_s3(
    kafka_service: KafkaService, s3_service: S3Service, tmp_path: Path
) -> None:
    _, control_topic = fresh_topics(kafka_service, 1)
    group = f"control-{uuid.uuid4().hex[:8]}"
    kafka = KafkaSettings(
        kafka_bootstrap_servers=kafka_service.bootstrap_servers, kafka_control_events_topic=control_topic
    )
    prefix = uuid.uuid4().hex[:8]
    store = open_blob_store(
        BlobSettings.from_values(
            blob_backend_type="s3",
            s3_endpoint=s3_service.endpoint_url,
            s3_access_key=s3_service.access_key,
            s3_secret_key=s3_service.secret_key,
            s3_bucket=s3_service.bucket,
            s3_region=s3_service.region,
        )
    )
    run_a, run_b = f"{prefix}a", f"{prefix}b"
    for key in (
        f"{run_a}/model.pt",
        f"{run_a}/seq/img/0.png",
        f"artifacts/{run_a}/x.bin",
        f"{run_b}/keep.bin",
    ):
        await store.put(key, b"data")
    await produce(
        kafka_service.bootstrap_servers,
        control_topic,
        [
            (None, b"not an event"),
            (None, _event("run_deleted", run_id=run_a, blob_keys=[f"artifacts/{run_a}/x.bin"])),
            (None, _event("tag_deleted", tag_id="t")),
        ],
    )
    with open_engine(lmdb_url(tmp_path / "kv")) as eng:
        worker = ControlWorker(_worker_settings(group, kafka), eng, store)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))

        async def cleaned() -> bool:
            left = await store.list(run_a)
            letters = eng.read(lambda tr: deadletters.count_dead_letters(tr))
            return not left and letters == 1

        try:
            await _until(cleaned)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
        assert await store.list(run_b) == [f"{run_b}/keep.bin"]
        # The carried key is in the legacy artifacts/<run>/ layout: the run's own, deleted with it.
        assert await store.list(f"artifacts/{run_a}") == []


@pytest.mark.services
@pytest.mark.timeout(120)
async def test_delete_run_chain_removes_data_and_blobs(kafka_service: KafkaService, tmp_path: Path) -> None:
    data_topic, control_topic = fresh_topics(kafka_service)
    group = f"chain-{uuid.uuid4().hex[:8]}"
    kafka = KafkaSettings(
        kafka_bootstrap_servers=kafka_service.bootstrap_servers,
        kafka_data_ingestion_topic=data_topic,
        kafka_control_events_topic=control_topic,
    )
    store = _local_store(tmp_path)
    run_id, other = f"r{uuid.uuid4().hex[:8]}", f"o{uuid.uuid4().hex[:8]}"
    for key in (f"{run_id}/model.pt", f"artifacts/{run_id}/ckpt.bin", f"{other}/keep.bin"):
        await store.put(key, b"data")
    await produce(
        kafka_service.bootstrap_servers,
        data_topic,
        [
            (run_id, frontier_value(run_id, {"type": "create_run", "client_datetime": CLIENT_DT})),
            (run_id, frontier_value(run_id, metric("loss", 1.0, 0))),
            (
                run_id,
                frontier_value(
                    run_id,
                    {
                        "type": "blob_ref",
                        "s3_key": f"artifacts/{run_id}/ckpt.bin",
                        "artifact_path": "ckpt.bin",
                    },
                ),
            ),
            (run_id, delete_value(run_id)),
            (run_id, frontier_value(run_id, metric("loss", 2.0, 1))),
            (other, frontier_value(other, metric("loss", 1.0, 0))),
        ],
    )
    with open_engine(lmdb_url(tmp_path / "kv")) as eng:
        ingest = IngestWorker(_worker_settings(group, kafka), eng)
        control = ControlWorker(_worker_settings(group + "-c", kafka), eng, store)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(ingest.run(stop)), asyncio.create_task(control.run(stop))]

        async def done() -> bool:
            left = await store.list(run_id)
            pending = eng.read(lambda tr: list_pending(tr))
            return not left and not pending and eng.read(lambda tr: runs.get_run(tr, other)) is not None

        try:
            await _until(done)
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 30)
        assert eng.read(lambda tr: tombstones.is_deleted(tr, run_id))
        assert eng.read(lambda tr: runs.get_run(tr, run_id, include_pending=True)) is None
        assert await store.list(other) == [f"{other}/keep.bin"]
        assert await store.list(f"artifacts/{run_id}") == []
