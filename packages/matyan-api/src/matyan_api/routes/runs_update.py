"""Run update, delete, batch operations and tombstone clearing (docs/http-contract.md, Routes).

The store change is committed first; the Kafka side effects (docs/http-contract.md, Side effects) follow it:

- ``PUT`` with ``archived`` and ``archive-batch`` publish ``run_archived`` / ``run_unarchived``
  ``{run_id, archived}`` control events;
- ``DELETE`` and ``delete-batch`` flag the run pending deletion (it disappears from every read at
  once) and publish ``delete_run`` to the ingestion topic keyed by the run id, for the ingest worker
  to remove the data after everything logged before it.

Every message is recorded in the store's outbox in the transaction making the change
(:mod:`matyan_api.event_outbox`) and cleared once the broker has it, so a broker outage only delays it.

Publishing never fails a request (the publisher logs and reports failures, it never raises).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel

from matyan_api.deps import EngineDep, PublisherDep
from matyan_api.errors import ApiError
from matyan_api.event_outbox import publish_recorded, record_archived, record_delete_run
from matyan_api.routes.entity_common import IdStatusOut, StatusOut
from matyan_api.routes.runs_common import require_run
from matyan_store import entities, tombstones
from matyan_store.engine import Engine, Transaction
from matyan_store.ordered_outbox import OrderedEntry
from matyan_store.runs import get_run, mark_pending_deletion, update_run

__all__ = ["RunUpdateIn", "router"]

router = APIRouter(prefix="/runs", tags=["runs"])

# Runs per transaction in the batch routes: each run touches a handful of index keys, so this stays far
# below the transaction limits whatever the batch size.
BATCH_CHUNK: Final = 100


class RunUpdateIn(BaseModel):
    """Body of ``PUT /runs/{run_id}/``: every field optional; only non-null fields apply."""

    name: str | None = None
    description: str | None = None
    archived: bool | None = None
    experiment: str | None = None
    """An experiment *name*; an unknown name detaches the run."""
    active: bool | None = None


def _unique_ids(run_ids: Iterable[str]) -> list[str]:
    # An empty id names no run (and is not a valid message key); repeated ids act once.
    return list(dict.fromkeys(run_id for run_id in run_ids if run_id))


async def _in_chunks[T](
    engine: Engine, run_ids: list[str], apply: Callable[[Transaction, str], T | None]
) -> list[T]:
    """Apply ``apply`` to every run, ``BATCH_CHUNK`` runs per transaction; its results, ``None`` left out."""
    done: list[T] = []
    for begin in range(0, len(run_ids), BATCH_CHUNK):
        chunk = run_ids[begin : begin + BATCH_CHUNK]

        def run_chunk(tr: Transaction, chunk: list[str] = chunk) -> list[T]:
            return [r for r in (apply(tr, run_id) for run_id in chunk) if r is not None]

        done.extend(await engine.atransact(run_chunk))
    return done


def _finish_fields(finalized_at: float | None) -> dict[str, Any]:
    # An existing end time is kept.
    return {"active": False, "finalized_at": time.time() if finalized_at is None else finalized_at}


@router.put("/{run_id}/")
async def update_run_route(
    run_id: str, body: RunUpdateIn, engine: EngineDep, publisher: PublisherDep
) -> IdStatusOut:
    """Change name, description, archived, experiment (by name) and/or active; 404 for a missing run."""

    def apply(tr: Transaction) -> OrderedEntry | None:
        meta = require_run(tr, run_id)
        fields: dict[str, Any] = {}
        if body.name is not None:
            fields["name"] = body.name
        if body.description is not None:
            fields["description"] = body.description
        if body.archived is not None:
            fields["archived"] = body.archived
        if body.experiment is not None:
            exp = entities.get_experiment_by_name(tr, body.experiment)
            fields["experiment_id"] = None if exp is None else exp.id
        if body.active is False:
            fields.update(_finish_fields(meta.finalized_at))
        elif body.active is True:
            # A resumed run has no end: neither a finalisation time nor a client-measured duration.
            fields.update(active=True, finalized_at=None, duration=None)
        if fields:
            update_run(tr, run_id, **fields)
        return None if body.archived is None else record_archived(tr, run_id, body.archived)

    entry = await engine.atransact(apply)
    if entry is not None:
        await publish_recorded(engine, publisher, [entry])
    return IdStatusOut(id=run_id)


@router.delete("/{run_id}/")
async def delete_run_route(run_id: str, engine: EngineDep, publisher: PublisherDep) -> IdStatusOut:
    """Flag the run pending deletion and publish ``delete_run``; 404 for a run that never existed.

    Deleting a run already pending deletion answers 200 again and re-publishes the message (the
    worker's deletion is idempotent, and a lost first message is thereby retried).
    """

    def apply(tr: Transaction) -> OrderedEntry:
        meta = get_run(tr, run_id, include_pending=True)
        if meta is None:
            raise ApiError(404)
        if not meta.pending_deletion:
            mark_pending_deletion(tr, run_id)
        return record_delete_run(tr, run_id)

    entry = await engine.atransact(apply)
    await publish_recorded(engine, publisher, [entry])
    return IdStatusOut(id=run_id)


@router.post("/delete-batch/")
async def delete_batch(
    run_ids: Annotated[list[str], Body()], engine: EngineDep, publisher: PublisherDep
) -> StatusOut:
    """Flag every listed run pending deletion and publish one ``delete_run`` per id (no existence check)."""
    ids = _unique_ids(run_ids)
    for begin in range(0, len(ids), BATCH_CHUNK):

        def apply(tr: Transaction, chunk: list[str] = ids[begin : begin + BATCH_CHUNK]) -> list[OrderedEntry]:
            recorded = []
            for run_id in chunk:
                mark_pending_deletion(tr, run_id)
                recorded.append(record_delete_run(tr, run_id))
            return recorded

        await publish_recorded(engine, publisher, await engine.atransact(apply))
    return StatusOut()


@router.post("/archive-batch/")
async def archive_batch(
    run_ids: Annotated[list[str], Body()],
    engine: EngineDep,
    publisher: PublisherDep,
    archive: bool = True,
) -> StatusOut:
    """Archive (or, with ``archive=false``, unarchive) the listed runs, one control event per run.

    Unknown ids are skipped: nothing is written and no event is published for them.
    """

    def apply(tr: Transaction, run_id: str) -> OrderedEntry | None:
        if get_run(tr, run_id) is None:
            return None
        update_run(tr, run_id, archived=archive)
        return record_archived(tr, run_id, archive)

    await publish_recorded(engine, publisher, await _in_chunks(engine, _unique_ids(run_ids), apply))
    return StatusOut()


@router.post("/finish-batch/")
async def finish_batch(run_ids: Annotated[list[str], Body()], engine: EngineDep) -> StatusOut:
    """Mark the listed runs finished (``active=false``; an existing end time is kept); unknown ids skipped."""

    def apply(tr: Transaction, run_id: str) -> bool | None:
        meta = get_run(tr, run_id)
        if meta is None:
            return None
        update_run(tr, run_id, **_finish_fields(meta.finalized_at))
        return True

    await _in_chunks(engine, _unique_ids(run_ids), apply)
    return StatusOut()


@router.post("/{run_id}/clear-tombstone/", status_code=204)
async def clear_tombstone(run_id: str, engine: EngineDep) -> Response:
    """Remove the run's "deleted" tombstone so its id can be ingested again; idempotent, always 204."""
    await engine.atransact(lambda tr: tombstones.clear_tombstone(tr, run_id))
    return Response(status_code=204)
