"""``cleanup-orphan-blobs`` and ``cleanup-tombstones``: the two scheduled clean-ups, under job locks.

Both page through tombstones in bounded transactions and renew their lock between pages.

Orphan blobs are those under ``<run>/`` of a run that no longer exists: a tombstoned run, and, with
``scan_store``, any top-level prefix of the blob store that names no run at all (a run deleted before
its tombstone was purged). Only blobs under a run's own prefix are deleted (``run_prefix``): a run id
such as ``victim/seq`` names a directory inside another run's and owns no blobs; such runs are skipped
and counted. The scan is opt-in because an artifact can be uploaded before the ingest
worker has created its run; scan only while ingestion is caught up. Tombstones are never removed here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from matyan_ops.job_lock import JobLock
from matyan_store import runs, tombstones
from matyan_store.blobs import SyncBlobStore, key_in_run, run_prefix
from matyan_store.engine import Engine, ReadTransaction, Transaction

TOMBSTONE_PAGE = 200
ORPHAN_LOCK = "cleanup_orphan_blobs"
TOMBSTONE_LOCK = "cleanup_tombstones"


@dataclass
class CleanupResult:
    """What a clean-up found and did (or, dry, would do)."""

    examined: int = 0
    eligible: int = 0
    done: int = 0
    blobs_deleted: int = 0
    skipped: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, dry_run: bool) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "dry_run": dry_run,
            "examined": self.examined,
            "eligible": self.eligible,
            "done": self.done,
            "blobs_deleted": self.blobs_deleted,
            "skipped": self.skipped,
            "items": self.items,
        }


def _tombstone_pages(engine: Engine, lock: JobLock) -> Iterator[list[tuple[str, float, bool]]]:
    """Pages of ``(run_id, deleted_at, run_absent)``; renews the lock before each page."""
    after: str | None = None

    def page(tr: ReadTransaction, start: str | None) -> list[tuple[str, float, bool]]:
        rows = list(tombstones.iter_tombstones(tr, after=start, limit=TOMBSTONE_PAGE))
        return [(r, at, runs.get_run(tr, r, include_pending=True) is None) for r, at in rows]

    while True:
        lock.renew()
        rows = engine.read(partial(page, start=after))
        if rows:
            yield rows
        if len(rows) < TOMBSTONE_PAGE:
            return
        after = rows[-1][0]


def _existing(tr: ReadTransaction, ids: list[str]) -> set[str]:
    """The ids among ``ids`` that have a run (pending deletion included)."""
    return {r for r in ids if runs.get_run(tr, r, include_pending=True) is not None}


def _own_blobs(blobs: SyncBlobStore, run_id: str) -> list[str] | None:
    """The blobs under the run's own prefix; ``None`` if its id names no prefix of its own."""
    prefix = run_prefix(run_id)
    if prefix is None:
        return None
    return [key for key in blobs.list(prefix) if key_in_run(key, run_id)]


def cleanup_orphan_blobs(
    engine: Engine,
    blobs: SyncBlobStore,
    *,
    lock_ttl_s: int,
    dry_run: bool,
    limit: int,
    scan_store: bool,
    say: Callable[[str], None],
    progress: Callable[[int], None] | None = None,
) -> CleanupResult:
    """Delete the blobs of tombstoned (and, with ``scan_store``, unknown) runs; ``limit`` 0 = all runs."""
    result = CleanupResult()
    with JobLock(engine, ORPHAN_LOCK, lock_ttl_s) as lock:
        candidates: list[tuple[str, float | None]] = []
        seen: set[str] = set()
        for rows in _tombstone_pages(engine, lock):
            for run_id, at, absent in rows:
                result.examined += 1
                seen.add(run_id)
                if absent:
                    candidates.append((run_id, at))
        if scan_store:
            prefixes = sorted({key.split("/", 1)[0] for key in blobs.list("") if "/" in key} - seen)
            for start in range(0, len(prefixes), TOMBSTONE_PAGE):
                chunk = prefixes[start : start + TOMBSTONE_PAGE]
                lock.renew()
                known = engine.read(partial(_existing, ids=chunk))
                candidates.extend((r, None) for r in chunk if r not in known)
        if limit > 0:
            candidates = candidates[:limit]
        result.eligible = len(candidates)
        say(f"Found {len(candidates)} run(s) with blobs to process.")
        for i, (run_id, deleted) in enumerate(candidates, start=1):
            lock.renew()
            if (keys := _own_blobs(blobs, run_id)) is None:
                result.skipped += 1
                say(f"  Skipped {run_id!r}: the id names no blob prefix of its own")
                continue
            why = "no such run" if deleted is None else f"deleted at {deleted:.0f}"
            if dry_run:
                say(f"  [dry-run] Would delete blob prefix: {run_id}/ ({why}, {len(keys)} blob(s))")
            else:
                # Re-check just before deleting: a restore may have brought the run back meanwhile.
                if engine.read(partial(_existing, ids=[run_id])):
                    continue
                result.blobs_deleted += blobs.delete_many(keys) if keys else 0
            result.done += 1
            result.items.append({"run_id": run_id, "deleted_at": deleted, "blobs": len(keys)})
            if progress is not None:
                progress(1)
            if not dry_run and (i % 50 == 0 or i == len(candidates)):
                say(f"  Processed {i}/{len(candidates)} runs ({result.blobs_deleted} blobs deleted)")
    verb = "Would delete" if dry_run else "Deleted"
    blob_total = sum(item["blobs"] for item in result.items) if dry_run else result.blobs_deleted
    say(f"Done. {verb} {blob_total} blob(s) across {result.done} run(s).")
    return result


def cleanup_tombstones(
    engine: Engine,
    *,
    older_than_hours: float,
    lock_ttl_s: int,
    dry_run: bool,
    limit: int,
    say: Callable[[str], None],
    now: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> CleanupResult:
    """Clear tombstones older than ``older_than_hours``; ``limit`` 0 = all of them."""
    now = time.time() if now is None else now
    cutoff = now - older_than_hours * 3600
    result = CleanupResult()

    def clear(tr: Transaction, ids: list[str]) -> int:
        cleared = 0
        for run_id in ids:
            # The tombstone may have been renewed (the id deleted again) since it was read.
            at = tombstones.deleted_at(tr, run_id)
            if at is not None and at < cutoff and tombstones.clear_tombstone(tr, run_id):
                cleared += 1
        return cleared

    with JobLock(engine, TOMBSTONE_LOCK, lock_ttl_s) as lock:
        for rows in _tombstone_pages(engine, lock):
            result.examined += len(rows)
            old = [(r, at) for r, at, _ in rows if at < cutoff]
            if limit > 0:
                old = old[: max(0, limit - result.eligible)]
            result.eligible += len(old)
            for run_id, at in old:
                result.items.append({"run_id": run_id, "deleted_at": at})
                if dry_run:
                    say(f"  [dry-run] Would clear tombstone: {run_id} (deleted at {at:.0f})")
            if old and not dry_run:
                ids = [r for r, _ in old]
                result.done += engine.transact(partial(clear, ids=ids))
            if progress is not None:
                progress(len(rows))
            if limit > 0 and result.eligible >= limit:
                break
    say(f"Found {result.examined} tombstone(s), {result.eligible} older than {older_than_hours:g}h.")
    say(
        f"Done. {'Would clear' if dry_run else 'Cleared'} "
        f"{result.eligible if dry_run else result.done} tombstone(s)."
    )
    return result
