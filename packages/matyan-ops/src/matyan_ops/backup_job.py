"""``backup``: write runs, entities and blobs as backup format version 1, streaming run by run.

A run's series are read in step windows of about :data:`POINTS_PER_READ` points, each in its own
bounded read transaction, and written line by line, so no run is ever held in memory whole. A run
that changes while it is being backed up may be captured partly before and partly after the change.
"""

from __future__ import annotations

import shutil
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from matyan_models import BackupManifest
from matyan_ops import backup_layout as layout
from matyan_ops.backup_entities import read_entity_records
from matyan_ops.backup_json import dumps, number_json, to_jsonable
from matyan_ops.runtime import RUN_PAGE
from matyan_store import entities, indexes, runs, sequences
from matyan_store.blobs import InvalidBlobKeyError, SyncBlobStore
from matyan_store.engine import Engine, ReadTransaction
from matyan_store.sequences import Block, SeriesKey, SeriesSummary

POINTS_PER_READ = 20_000
_MAX_WINDOW_GROWTH = 4
_BLOB_CHUNK = 1 << 20


@dataclass(frozen=True)
class BackupFilters:
    """Which runs to back up; every given filter must hold (the reference used only the first given)."""

    runs: list[str] | None = None
    experiment: str | None = None
    since: float | None = None
    before: float | None = None

    def manifest_dict(self, since_text: str | None, before_text: str | None) -> dict[str, Any]:
        """The manifest's ``filters`` object (only the filters given)."""
        out: dict[str, Any] = {}
        if self.runs is not None:
            out["runs"] = self.runs
        if self.experiment is not None:
            out["experiment"] = self.experiment
        if since_text is not None:
            out["since"] = since_text
        if before_text is not None:
            out["before"] = before_text
        return out


@dataclass
class BackupResult:
    """What a backup wrote."""

    path: str = ""
    run_ids: list[str] = field(default_factory=list)
    skipped_runs: list[str] = field(default_factory=list)
    points: int = 0
    series: int = 0
    blob_count: int = 0
    blob_bytes: int = 0
    bytes_written: int = 0
    entity_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "path": self.path,
            "run_count": len(self.run_ids),
            "skipped_runs": self.skipped_runs,
            "points": self.points,
            "series": self.series,
            "blob_count": self.blob_count,
            "blob_bytes": self.blob_bytes,
            "bytes_written": self.bytes_written,
            "entity_counts": self.entity_counts,
            "seconds": round(self.seconds, 3),
        }


# --- selecting runs ----------------------------------------------------------------------------------


def _created_page(
    tr: ReadTransaction, start: float | None, end: float | None, after: tuple[float, str] | None
) -> list[tuple[float, str]]:
    return list(indexes.iter_created_at(tr, start=start, end=end, after=after, limit=RUN_PAGE))


def _ids_page(tr: ReadTransaction, after: str | None) -> list[str]:
    return list(runs.iter_run_ids(tr, after=after, limit=RUN_PAGE))


def _page_created(engine: Engine, start: float | None, end: float | None) -> Iterator[str]:
    after: tuple[float, str] | None = None
    while True:
        page = engine.read(partial(_created_page, start=start, end=end, after=after))
        yield from (run_id for _, run_id in page)
        if len(page) < RUN_PAGE:
            return
        after = page[-1]


def _page_all(engine: Engine) -> Iterator[str]:
    after: str | None = None
    while True:
        page = engine.read(partial(_ids_page, after=after))
        yield from page
        if len(page) < RUN_PAGE:
            return
        after = page[-1]


def _matches(meta: runs.RunMeta, experiment_id: str | None, filters: BackupFilters) -> bool:
    if experiment_id is not None and meta.experiment_id != experiment_id:
        return False
    if filters.since is not None and meta.created_at < filters.since:
        return False
    return filters.before is None or meta.created_at < filters.before


def select_runs(engine: Engine, filters: BackupFilters) -> tuple[list[str], list[str]]:
    """``(run ids to back up, notes on what was left out)``; pending-deletion runs are never included."""
    notes: list[str] = []
    experiment_id: str | None = None
    if filters.experiment is not None:
        exp = engine.read(lambda tr: entities.get_experiment_by_name(tr, filters.experiment or ""))
        if exp is None:
            notes.append(f"no experiment named {filters.experiment!r}")
            return [], notes
        experiment_id = exp.id
    if filters.runs is not None:
        candidates: Iterator[str] = iter(dict.fromkeys(filters.runs))
    elif experiment_id is not None:
        candidates = iter(engine.read(lambda tr: indexes.lookup(tr, "experiment", experiment_id)))
    elif filters.since is not None or filters.before is not None:
        candidates = _page_created(engine, filters.since, filters.before)
    else:
        candidates = _page_all(engine)
    chosen: list[str] = []
    batch: list[str] = []

    def check(tr: ReadTransaction, ids: list[str]) -> list[tuple[str, str | None]]:
        out: list[tuple[str, str | None]] = []
        for run_id in ids:
            meta = runs.get_run(tr, run_id)
            if meta is None:
                out.append((run_id, "not found (or being deleted)"))
            elif not _matches(meta, experiment_id, filters):
                out.append((run_id, None))
            elif not layout.safe_dir_name(run_id):
                out.append((run_id, "its id cannot be a directory name"))
            else:
                out.append((run_id, ""))
        return out

    def flush() -> None:
        for run_id, why in engine.read(lambda tr: check(tr, batch)):
            if why == "":
                chosen.append(run_id)
            elif why is not None:
                notes.append(f"run {run_id!r} skipped: {why}")
        batch.clear()

    for run_id in candidates:
        batch.append(run_id)
        if len(batch) >= RUN_PAGE:
            flush()
    flush()
    return chosen, notes


# --- writing one run ---------------------------------------------------------------------------------


def _run_json(meta: runs.RunMeta) -> dict[str, Any]:
    return {
        "name": meta.name,
        "description": meta.description,
        "created_at": meta.created_at,
        "updated_at": meta.updated_at,
        "finalized_at": meta.finalized_at,
        "is_archived": meta.archived,
        "active": meta.active,
        "experiment_id": meta.experiment_id,
        "client_start_ts": meta.client_start_ts,
        "duration": meta.duration,
        "pending_deletion": meta.pending_deletion,
    }


@dataclass
class _RunHead:
    meta: runs.RunMeta
    attrs: Any
    contexts: dict[int, dict[str, Any]]
    tags: list[str]
    series: list[tuple[SeriesKey, SeriesSummary]]


def _read_head(tr: ReadTransaction, run_id: str) -> _RunHead | None:
    meta = runs.get_run(tr, run_id)
    if meta is None:
        return None
    return _RunHead(
        meta=meta,
        attrs=runs.get_run_attrs(tr, run_id),
        contexts=runs.get_contexts(tr, run_id),
        tags=runs.get_run_tag_ids(tr, run_id),
        series=sequences.list_run_series(tr, run_id),
    )


def iter_series_blocks(
    engine: Engine, key: SeriesKey, summary: SeriesSummary, points_per_read: int = POINTS_PER_READ
) -> Iterator[Block]:
    """The series' points in step windows of about ``points_per_read``, one read transaction each.

    The window adapts to the density of steps (sparse steps widen it, at most fourfold per read, so a
    dense stretch after a sparse one is never read in one giant piece).
    """
    cursor, last = summary.first_step, summary.last_step
    window = points_per_read
    while cursor <= last:
        stop = min(cursor + window, last + 1)
        block = engine.read(partial(sequences.read_range, key=key, start=cursor, stop=stop))
        if len(block):
            yield block
        cursor = stop
        n = len(block)
        grow = _MAX_WINDOW_GROWTH if n == 0 else min(_MAX_WINDOW_GROWTH, points_per_read / n)
        window = max(1, int(window * grow))


def _series_lines(key: SeriesKey, block: Block) -> Iterator[str]:
    head = dumps({"ctx_id": key.context_id, "name": key.name})[:-1] + ', "step": '
    for step, value, epoch, ts in zip(block.steps, block.values, block.epochs, block.timestamps, strict=True):
        text = number_json(value)
        extra = ""
        if text is None:
            converted, found = to_jsonable(value)
            text = dumps(converted)
            if found:
                extra = ', "value_bytes": ' + dumps(found)
        if epoch is not None:
            extra += f', "epoch": {epoch}'
        if ts is not None:
            extra += f', "time": {number_json(ts)}'
        yield f'{head}{step}, "value": {text}{extra}}}\n'


def _write_json(path: Path, value: Any) -> int:
    text = dumps(value)
    path.write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))


def _write_blobs(blobs: SyncBlobStore, run_id: str, run_dir: Path, result: BackupResult) -> None:
    prefix = f"{run_id}/"
    try:
        keys = blobs.list(run_id)
    except InvalidBlobKeyError:
        return  # an id the blob store cannot name has no blobs
    for key in keys:
        relative = key[len(prefix) :]
        target = run_dir / layout.BLOBS_DIR / relative
        if not relative or ".." in Path(relative).parts:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            for chunk in blobs.iter_chunks(key, _BLOB_CHUNK):
                out.write(chunk)
                result.blob_bytes += len(chunk)
        result.blob_count += 1


def backup_run(
    engine: Engine,
    run_id: str,
    run_dir: Path,
    blobs: SyncBlobStore | None,
    result: BackupResult,
    on_points: Callable[[int], None] | None = None,
) -> bool:
    """Write ``runs/<run_id>/``; returns False if the run vanished before it was read."""
    head = engine.read(lambda tr: _read_head(tr, run_id))
    if head is None:
        return False
    run_dir.mkdir(parents=True, exist_ok=True)
    attrs, attrs_bytes = to_jsonable(head.attrs if isinstance(head.attrs, dict) else {})
    written = _write_json(run_dir / layout.RUN_FILE, _run_json(head.meta))
    written += _write_json(run_dir / layout.ATTRS_FILE, attrs)
    contexts, _ = to_jsonable({str(ctx_id): ctx for ctx_id, ctx in head.contexts.items()})
    written += _write_json(run_dir / layout.CONTEXTS_FILE, contexts)
    traces = []
    for key, summary in head.series:
        last, _ = to_jsonable(summary.last_value)
        traces.append(
            {
                "name": key.name,
                "context_id": key.context_id,
                "dtype": summary.dtype,
                "last": last,
                "last_step": summary.last_step,
            }
        )
    written += _write_json(run_dir / layout.TRACES_FILE, traces)
    extras = {"source": layout.EXTRAS_SOURCE, "tags": head.tags, "attrs_bytes": attrs_bytes}
    written += _write_json(run_dir / layout.EXTRAS_FILE, extras)
    with (run_dir / layout.SEQUENCES_FILE).open("w", encoding="utf-8") as out:
        for key, summary in head.series:
            result.series += 1
            for block in iter_series_blocks(engine, key, summary):
                for line in _series_lines(key, block):
                    out.write(line)
                result.points += len(block)
                if on_points is not None:
                    on_points(len(block))
        written += out.tell()
    result.bytes_written += written
    if blobs is not None:
        _write_blobs(blobs, run_id, run_dir, result)
    return True


# --- the whole backup --------------------------------------------------------------------------------


def backup_dir_name(now: datetime | None = None) -> str:
    """``matyan-backup-<UTC %Y%m%d-%H%M%S>``."""
    return layout.BACKUP_DIR_PREFIX + (now or datetime.now(tz=UTC)).strftime("%Y%m%d-%H%M%S")


def _unique_dir(parent: Path, name: str) -> Path:
    candidate = parent / name
    n = 1
    while candidate.exists() or candidate.with_name(candidate.name + ".tar.gz").exists():
        n += 1
        candidate = parent / f"{name}-{n}"
    return candidate


def write_entities(engine: Engine, root: Path) -> dict[str, int]:
    """``entities.jsonl`` and (ours only) ``project.json``; returns the entity counts by type."""
    records = engine.read(read_entity_records)
    counts: dict[str, int] = {}
    with (root / layout.ENTITIES_FILE).open("w", encoding="utf-8") as out:
        for record in records:
            converted, _ = to_jsonable(record)
            out.write(dumps(converted) + "\n")
            counts[record["entity_type"]] = counts.get(record["entity_type"], 0) + 1
    project = engine.read(
        lambda tr: {
            "project": entities.get_project(tr),
            "pinned_sequences": entities.get_pinned_sequences(tr),
        }
    )
    _write_json(root / layout.PROJECT_FILE, to_jsonable(project)[0])
    return counts


def compress(backup_dir: Path) -> Path:
    """``<dir>.tar.gz`` with the top-level entry ``<dir name>/``; the directory is removed afterwards."""
    archive = backup_dir.with_name(backup_dir.name + ".tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(backup_dir, arcname=backup_dir.name)
    shutil.rmtree(backup_dir)
    return archive


def run_backup(
    engine: Engine,
    output_path: Path,
    filters: BackupFilters,
    manifest_filters: dict[str, Any],
    *,
    blobs: SyncBlobStore | None,
    compress_output: bool,
    say: Callable[[str], None],
    progress: Callable[[int, int], None] | None = None,
    on_points: Callable[[int], None] | None = None,
    started: Callable[[int], None] | None = None,
) -> BackupResult:
    """Back up the selected runs and every entity under ``output_path/matyan-backup-<time>/``."""
    began = time.perf_counter()
    result = BackupResult()
    output_path.mkdir(parents=True, exist_ok=True)
    root = _unique_dir(output_path, backup_dir_name())
    (root / layout.RUNS_DIR).mkdir(parents=True)
    run_ids, notes = select_runs(engine, filters)
    for note in notes:
        say(note)
    manifest = BackupManifest(filters=manifest_filters, include_blobs=blobs is not None)
    if not run_ids:
        say("No runs matched the given filters.")
    else:
        result.entity_counts = write_entities(engine, root)
        if started is not None:
            started(len(run_ids))
        for i, run_id in enumerate(run_ids, start=1):
            say(f"  [{i}/{len(run_ids)}] Exporting run {run_id}...")
            before = (result.blob_count, result.blob_bytes)
            if backup_run(engine, run_id, root / layout.RUNS_DIR / run_id, blobs, result, on_points):
                result.run_ids.append(run_id)
            else:
                result.skipped_runs.append(run_id)
                say(f"           run {run_id} disappeared before it was read; skipped")
            if blobs is not None:
                say(
                    f"           {result.blob_count - before[0]} blob(s), "
                    f"{result.blob_bytes - before[1]} bytes"
                )
            if progress is not None:
                progress(i, len(run_ids))
    manifest.run_count = len(result.run_ids)
    manifest.run_hashes = list(result.run_ids)
    manifest.entity_counts = result.entity_counts
    manifest.blob_count = result.blob_count
    manifest.blob_bytes = result.blob_bytes
    manifest.write(root)
    final = compress(root) if compress_output else root
    result.path = str(final)
    result.seconds = time.perf_counter() - began
    say(
        f"Backup complete: {final} ({len(result.run_ids)} run(s), {result.points} point(s), "
        f"{result.blob_count} blob(s), {result.blob_bytes} blob bytes)"
    )
    return result
