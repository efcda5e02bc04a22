"""What each control event does (docs/architecture.md, Control events). Every handler is idempotent.

``run_deleted`` deletes the blob keys carried in the event (which may lie outside ``<run_id>/``) and
everything under ``<run_id>/``, then checks that nothing it deleted is still there: object stores may
report a failed bulk delete only as a log line, so the check is what turns a transient failure into a
retry. ``experiment_deleted``, ``tag_deleted``, ``run_archived``, ``run_unarchived`` and
``project_deleted`` have nothing to do on the blob side: they are logged and committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loguru import logger

from matyan_models import ControlEvent, ControlEventType
from matyan_store.blobs import BlobStore, InvalidBlobKeyError, validate_key, validate_prefix

__all__ = ["BlobCleanupIncomplete", "handle_event", "run_deleted"]


class BlobCleanupIncomplete(RuntimeError):  # noqa: N818 (reads as a statement)
    """Some blobs of a deleted run are still there after the delete (a transient store failure)."""


def _valid_keys(keys: Any) -> list[str]:
    if not isinstance(keys, list):
        return []
    valid: list[str] = []
    for key in keys:
        try:
            valid.append(validate_key(key))
        except InvalidBlobKeyError as exc:
            logger.warning("run_deleted: skipping unusable blob key {!r}: {}", key, exc)
    return valid


async def run_deleted(blobs: BlobStore, payload: Mapping[str, Any]) -> int:
    """Delete the run's blobs; returns how many were deleted. Raises if some are left behind."""
    run_id = payload.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        logger.warning("run_deleted without a run_id: nothing to do")
        return 0
    keys = _valid_keys(payload.get("blob_keys"))
    try:
        prefix: str | None = validate_prefix(f"{run_id}/", allow_empty=False)
    except InvalidBlobKeyError:
        prefix = None  # a run id that cannot name a directory has no blobs under it
    deleted = await blobs.delete_many(keys) if keys else 0
    if prefix is not None:
        deleted += await blobs.delete_prefix(prefix)
    left = [k for k in keys if await blobs.exists(k)]
    if prefix is not None:
        left += await blobs.list(prefix)
    if left:
        raise BlobCleanupIncomplete(f"{len(left)} blobs of run {run_id} remain, e.g. {left[0]!r}")
    logger.info("run_deleted {}: {} blobs deleted", run_id, deleted)
    return deleted


async def handle_event(blobs: BlobStore, event: ControlEvent) -> None:
    """Carry out one event (raises on failure; the caller retries and dead-letters)."""
    match event.type:
        case ControlEventType.RUN_DELETED:
            await run_deleted(blobs, event.payload)
        case (
            ControlEventType.RUN_ARCHIVED
            | ControlEventType.RUN_UNARCHIVED
            | ControlEventType.EXPERIMENT_DELETED
            | ControlEventType.TAG_DELETED
            | ControlEventType.PROJECT_DELETED
        ):
            logger.info("{}: nothing to do on the blob side ({})", event.type, dict(event.payload))
        case _:
            logger.warning("unknown control event type {!r}: ignored", event.type)
