"""What each control event does (docs/architecture.md, Control events). Every handler is idempotent.

``run_deleted`` deletes everything under the run's own prefix ``<run_id>/`` and the blob keys carried in
the event that lie under it, then checks that nothing it deleted is still there: object stores may
report a failed bulk delete only as a log line, so the check is what turns a transient failure into a
retry. ``experiment_deleted``, ``tag_deleted``, ``run_archived``, ``run_unarchived`` and
``project_deleted`` have nothing to do on the blob side: they are logged and committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from loguru import logger

from matyan_models import ControlEvent, ControlEventType
from matyan_store.blobs import BlobStore, InvalidBlobKeyError, key_in_run, run_prefix, validate_key

__all__ = ["BlobCleanup", "BlobCleanupIncomplete", "handle_event", "run_deleted"]


class BlobCleanupIncomplete(RuntimeError):  # noqa: N818 (reads as a statement)
    """Some blobs of a deleted run are still there after the delete (a transient store failure)."""


class BlobCleanup(NamedTuple):
    """What one ``run_deleted`` did: blobs deleted, and carried keys skipped as not the run's own."""

    deleted: int
    skipped: int


def _is_own_key(key: Any, run_id: str) -> bool:
    try:
        return key_in_run(validate_key(key), run_id)
    except InvalidBlobKeyError:
        return False


def _own_keys(keys: Any, run_id: str) -> tuple[list[str], int]:
    """The carried keys that are the run's own, and how many others were skipped.

    The keys come from the run's metadata, which clients write: one naming another run's blob (or any
    key outside ``<run_id>/``) must never get that blob deleted.
    """
    if not isinstance(keys, list):
        return [], 0
    own = [key for key in keys if _is_own_key(key, run_id)]
    skipped = len(keys) - len(own)
    if skipped:
        other = next(key for key in keys if not _is_own_key(key, run_id))
        logger.warning(
            "run_deleted {}: skipped {} blob key(s) not under the run's own prefix, e.g. {!r}",
            run_id,
            skipped,
            other,
        )
    return own, skipped


async def run_deleted(blobs: BlobStore, payload: Mapping[str, Any]) -> BlobCleanup:
    """Delete the run's own blobs. Raises :class:`BlobCleanupIncomplete` if some are left behind."""
    run_id = payload.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        logger.warning("run_deleted without a run_id: nothing to do")
        return BlobCleanup(0, 0)
    keys, skipped = _own_keys(payload.get("blob_keys"), run_id)
    prefix = run_prefix(run_id)
    deleted = await blobs.delete_many(keys) if keys else 0
    if prefix is not None:
        deleted += await blobs.delete_prefix(prefix)
    left = [k for k in keys if await blobs.exists(k)]
    if prefix is not None:
        left += await blobs.list(prefix)
    if left:
        raise BlobCleanupIncomplete(f"{len(left)} blobs of run {run_id} remain, e.g. {left[0]!r}")
    logger.info("run_deleted {}: {} blobs deleted, {} keys skipped", run_id, deleted, skipped)
    return BlobCleanup(deleted, skipped)


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
