"""The worker's ``run_deleted`` outbox on the store's outbox: publish-then-clear, failures kept, and
entries of the former layout adopted on the next drain."""

from __future__ import annotations

import json

from workers_fixtures import engine

from matyan_store import outbox
from matyan_store.engine import Engine
from matyan_store.keys import SYSTEM
from matyan_store.values import encode_value
from matyan_workers.ingest.deletions import (
    OUTBOX_KIND,
    PendingDeletion,
    drain_outbox,
    list_pending,
    put_pending,
)

__all__ = ["engine"]


async def test_drain_publishes_clears_and_keeps_failures(engine: Engine) -> None:
    engine.transact(lambda tr: put_pending(tr, PendingDeletion("ok", ["ok/a.bin"], True, 1.0)))
    engine.transact(lambda tr: put_pending(tr, PendingDeletion("down", [], True, 2.0)))
    sent: list[dict[str, object]] = []

    async def publish(value: bytes) -> None:
        event = json.loads(value)
        if event["payload"]["run_id"] == "down":
            raise ConnectionError("broker unreachable")
        sent.append(event)

    assert await drain_outbox(engine, publish, max_bytes=1 << 20) == 1
    assert [e["payload"] for e in sent] == [{"run_id": "ok", "blob_keys": ["ok/a.bin"]}]
    assert [p.run_id for p in engine.read(lambda tr: list_pending(tr))] == ["down"]
    # Stored as a general outbox entry of the worker's kind.
    entry = engine.read(lambda tr: outbox.get(tr, OUTBOX_KIND, "down"))
    assert entry is not None
    assert entry.recorded_at == 2.0


async def test_entries_of_the_former_layout_are_adopted(engine: Engine) -> None:
    legacy = SYSTEM[("workers", "run_deleted_outbox")]
    value = {"blob_keys": ["old/x.png"], "data_deleted": True, "recorded_at": 3.0}
    engine.transact(lambda tr: tr.set(legacy.pack(("old-run",)), encode_value(value)))
    sent: list[bytes] = []

    async def publish(value: bytes) -> None:
        sent.append(value)

    assert await drain_outbox(engine, publish, max_bytes=1 << 20) == 1
    assert json.loads(sent[0])["payload"] == {"run_id": "old-run", "blob_keys": ["old/x.png"]}
    begin, end = legacy.range()
    assert engine.read(lambda tr: list(tr.get_range(begin, end))) == []
    assert engine.read(lambda tr: list_pending(tr)) == []
