"""``finish-stale``: mark active runs finished when they have had no new data for a while.

Last activity is the newest of the run's ``updated_at`` and the last timestamp of each of its series,
not its creation time (the reference used ``created_at``, so a long run still logging was finished).
Each page of active runs is checked and finished in one transaction, so a run receiving data at that
moment is judged on what is committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from matyan_ops.index_paging import lookup_page
from matyan_ops.runtime import RUN_PAGE
from matyan_store import runs, sequences
from matyan_store.engine import Engine, ReadTransaction, Transaction


@dataclass
class StaleResult:
    """What ``finish-stale`` found and did."""

    active: int = 0
    finished: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, dry_run: bool) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {"dry_run": dry_run, "active": self.active, "finished": self.finished}


def last_activity(tr: ReadTransaction, meta: runs.RunMeta) -> float:
    """The newest of the run's ``updated_at``, ``created_at`` and its series' last timestamps."""
    newest = max(meta.updated_at or 0.0, meta.created_at or 0.0)
    for _, summary in sequences.list_run_series(tr, meta.run_id):
        if summary.last_timestamp is not None:
            newest = max(newest, summary.last_timestamp)
    return newest


def _page(
    tr: Transaction, after: str | None, cutoff: float, now: float, dry_run: bool
) -> tuple[list[str], list[dict[str, Any]]]:
    ids = lookup_page(tr, "active", True, after=after, limit=RUN_PAGE)
    finished: list[dict[str, Any]] = []
    for run_id in ids:
        meta = runs.get_run(tr, run_id)
        if meta is None or not meta.active:
            continue
        seen = last_activity(tr, meta)
        if seen >= cutoff:
            continue
        finished.append({"run_id": run_id, "last_activity": seen, "idle_seconds": round(now - seen)})
        if not dry_run:
            runs.update_run(tr, run_id, active=False, finalized_at=now)
    return ids, finished


def finish_stale(
    engine: Engine,
    older_than_hours: float,
    *,
    dry_run: bool,
    say: Callable[[str], None],
    now: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> StaleResult:
    """Finish every active run idle for more than ``older_than_hours``."""
    now = time.time() if now is None else now
    cutoff = now - older_than_hours * 3600
    result = StaleResult()
    after: str | None = None
    while True:
        # Dry runs go through a read-write transaction too; they simply write nothing.
        ids, finished = engine.transact(partial(_page, after=after, cutoff=cutoff, now=now, dry_run=dry_run))
        result.active += len(ids)
        for item in finished:
            prefix = "  [dry-run] Would finish" if dry_run else "  Finished"
            say(f"{prefix} stale run: {item['run_id']} (no data for {item['idle_seconds']}s)")
        result.finished.extend(finished)
        if progress is not None:
            progress(len(ids))
        if len(ids) < RUN_PAGE:
            break
        after = ids[-1]
    verb = "Would finish" if dry_run else "Finished"
    say(f"{verb} {len(result.finished)} stale run(s) out of {result.active} active.")
    return result
