"""``restore``: load a backup (format version 1, ours or the reference's) into the store.

Lossless for our backups: run ids, meta (``created_at`` included), attributes (bytes too), contexts,
series with their dtypes, tag links, entities under their ids. Each run's contexts, attributes and
series are written first, in bounded transactions, while the run has no meta and so is invisible;
one last transaction creates the run, links its tags, sets its meta and clears its tombstone. A
restore interrupted midway therefore leaves no half-visible run, and running it again completes it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matyan_models import BackupManifest
from matyan_ops import backup_layout as layout
from matyan_ops.backup_entities import EntityRestore, restore_entities
from matyan_ops.backup_json import restore_bytes, restore_reference_bytes
from matyan_ops.runtime import UsageError
from matyan_store import entities, indexes, runs, tombstones
from matyan_store.blobs import SyncBlobStore
from matyan_store.codec import normalize_point
from matyan_store.engine import Engine, ReadTransaction, Transaction
from matyan_store.reindex import expected_run_entries
from matyan_store.sequences import Point, SeriesKey

ENTITY_BATCH = 200
POINTS_PER_TXN = 20_000
BYTES_PER_TXN = 2_000_000
DELETE_BYTES_PER_TXN = 2_000_000
BLOB_THREADS = 8


@dataclass(frozen=True)
class RestoreOptions:
    """What ``restore`` may do."""

    dry_run: bool = False
    skip_entities: bool = False
    skip_blobs: bool = False
    overwrite: bool = False


@dataclass
class RestoreResult:
    """What a restore did (or, dry, would do)."""

    restored: list[str] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    points: int = 0
    input_bytes: int = 0
    blob_count: int = 0
    blob_bytes: int = 0
    index_fixes: int = 0
    tombstones_cleared: int = 0
    entities: EntityRestore = field(default_factory=EntityRestore)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self, dry_run: bool) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "dry_run": dry_run,
            "restored": self.restored,
            "overwritten": self.overwritten,
            "skipped": self.skipped,
            "points": self.points,
            "input_bytes": self.input_bytes,
            "blob_count": self.blob_count,
            "blob_bytes": self.blob_bytes,
            "index_fixes": self.index_fixes,
            "tombstones_cleared": self.tombstones_cleared,
            "entities": self.entities.to_dict(),
            "problems": self.problems,
            "seconds": round(self.seconds, 3),
        }


def read_manifest(backup_dir: Path, say_error: Callable[[str], None]) -> BackupManifest:
    """The backup's manifest, validated against its layout; raises :class:`UsageError` if unusable."""
    try:
        manifest = BackupManifest.read(backup_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    errors = manifest.validate(backup_dir)
    for error in errors:
        say_error(error)
    if errors:
        raise UsageError("Backup validation failed")
    return manifest


def _read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    return json.loads(path.read_text(encoding="utf-8"))


def _iter_jsonl(path: Path) -> Iterator[tuple[dict[str, Any], int]]:
    if not path.exists():
        return
    with path.open("r", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line), len(line)


# --- entities ----------------------------------------------------------------------------------------


def _restore_entities(engine: Engine, backup_dir: Path, dry_run: bool) -> EntityRestore:
    outcome = EntityRestore()
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        part = engine.transact(lambda tr: restore_entities(tr, list(batch), outcome, dry_run))
        outcome.merge(part)
        batch.clear()

    for record, _ in _iter_jsonl(backup_dir / layout.ENTITIES_FILE):
        batch.append(record)
        if len(batch) >= ENTITY_BATCH:
            flush()
    if batch:
        flush()
    project = _read_json(backup_dir / layout.PROJECT_FILE, None)
    if isinstance(project, dict) and not dry_run:

        def put_project(tr: Transaction) -> None:
            info = project.get("project")
            if isinstance(info, dict):
                entities.set_project(tr, **{k: v for k, v in info.items() if k != "telemetry_enabled"})
            pinned = project.get("pinned_sequences")
            if isinstance(pinned, list) and pinned:
                entities.set_pinned_sequences(tr, pinned)

        engine.transact(put_project)
    return outcome


# --- one run -----------------------------------------------------------------------------------------


@dataclass
class _RunFiles:
    run_id: str
    meta: dict[str, Any]
    attrs: dict[str, Any]
    traces: dict[tuple[int, str], str]
    contexts: dict[int, dict[str, Any]]
    tags: list[str]
    ours: bool


def _load_run(run_dir: Path, run_id: str) -> _RunFiles:
    meta = _read_json(run_dir / layout.RUN_FILE, {})
    attrs = _read_json(run_dir / layout.ATTRS_FILE, {})
    extras = _read_json(run_dir / layout.EXTRAS_FILE, {})
    ours = isinstance(extras, dict) and extras.get("source") == layout.EXTRAS_SOURCE
    if ours:
        attrs = restore_bytes(attrs, extras.get("attrs_bytes") or [])
    traces: dict[tuple[int, str], str] = {}
    for trace in _read_json(run_dir / layout.TRACES_FILE, []):
        if isinstance(trace, dict) and "name" in trace:
            traces[(int(trace.get("context_id") or 0), str(trace["name"]))] = str(
                trace.get("dtype") or "float"
            )
    contexts = {
        int(ctx_id): ctx
        for ctx_id, ctx in (_read_json(run_dir / layout.CONTEXTS_FILE, {}) or {}).items()
        if isinstance(ctx, dict)
    }
    tags = [str(t) for t in extras.get("tags") or []] if ours else []
    return _RunFiles(
        run_id=run_id,
        meta=meta if isinstance(meta, dict) else {},
        attrs=attrs if isinstance(attrs, dict) else {},
        traces=traces,
        contexts=contexts,
        tags=tags,
        ours=ours,
    )


def _opt_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _point(record: dict[str, Any], ours: bool) -> Point:
    value = record.get("value")
    if ours:
        paths = record.get("value_bytes")
        if paths:
            value = restore_bytes(value, paths)
    else:
        value = restore_reference_bytes(value)
    epoch = record.get("epoch")
    if isinstance(epoch, float) and epoch.is_integer():
        epoch = int(epoch)
    return normalize_point((record["step"], value, epoch, _opt_float(record.get("time"))))


def _write_batch(
    tr: Transaction,
    run_id: str,
    batch: dict[tuple[int, str], list[Point]],
    dtypes: dict[tuple[int, str], str],
) -> None:
    for (ctx_id, name), points in batch.items():
        key = SeriesKey(run_id, ctx_id, name)
        runs.write_run_series(tr, key, points, dtypes.get((ctx_id, name), "float"))


def _restore_series(
    engine: Engine,
    run_dir: Path,
    files: _RunFiles,
    ctx_map: dict[int, int],
    result: RestoreResult,
    dry_run: bool,
    on_points: Callable[[int], None] | None,
) -> None:
    batch: dict[tuple[int, str], list[Point]] = {}
    dtypes = {(ctx_map.get(c, c), n): d for (c, n), d in files.traces.items()}
    size = count = 0

    def flush() -> None:
        nonlocal size, count
        if batch and not dry_run:
            engine.transact(lambda tr: _write_batch(tr, files.run_id, batch, dtypes))
        result.points += count
        if on_points is not None:
            on_points(count)
        batch.clear()
        size = count = 0

    for record, nbytes in _iter_jsonl(run_dir / layout.SEQUENCES_FILE):
        result.input_bytes += nbytes
        try:
            ctx_id = int(record.get("ctx_id") or 0)
            point = _point(record, files.ours)
        except (KeyError, TypeError, ValueError) as exc:
            result.problems.append(f"run {files.run_id}: point skipped ({exc})")
            continue
        batch.setdefault((ctx_map.get(ctx_id, ctx_id), str(record.get("name"))), []).append(point)
        size += nbytes
        count += 1
        if count >= POINTS_PER_TXN or size >= BYTES_PER_TXN:
            flush()
    flush()


def _delete_run(engine: Engine, run_id: str) -> None:
    while not engine.transact(lambda tr: runs.delete_run_data(tr, run_id, max_bytes=DELETE_BYTES_PER_TXN)):
        pass


def fix_run_indexes(tr: Transaction, run_id: str) -> int:
    """Make the run's index entries exactly what its data calls for; returns how many changed."""
    expected = expected_run_entries(tr, run_id)
    actual = set(indexes.run_index_entries(tr, run_id))
    for entry in actual - expected:
        indexes.set_index_entry(tr, entry[0], tuple(entry[1:]), run_id, present=False)
    for entry in expected - actual:
        indexes.set_index_entry(tr, entry[0], tuple(entry[1:]), run_id, present=True)
    return len(actual ^ expected)


def _finish_run(
    tr: Transaction, files: _RunFiles, experiment_id: str | None, tag_ids: list[str]
) -> tuple[bool, int]:
    meta = files.meta
    cleared = tombstones.clear_tombstone(tr, files.run_id)
    created_at = _opt_float(meta.get("created_at")) or time.time()
    runs.create_run(
        tr,
        files.run_id,
        name=meta.get("name") or None,
        description=str(meta.get("description") or ""),
        experiment_id=experiment_id,
        created_at=created_at,
        client_start_ts=_opt_float(meta.get("client_start_ts")),
    )
    for tag_id in tag_ids:
        if entities.get_tag(tr, tag_id) is not None:
            runs.add_run_tag(tr, files.run_id, tag_id)
    runs.update_run(
        tr,
        files.run_id,
        finalized_at=_opt_float(meta.get("finalized_at")),
        duration=_opt_float(meta.get("duration")),
        active=bool(meta.get("active", True)),
        archived=bool(meta.get("archived", meta.get("is_archived", False))),
        updated_at=_opt_float(meta.get("updated_at")) or created_at,
    )
    return cleared, fix_run_indexes(tr, files.run_id)


def _upload_blobs(
    blobs: SyncBlobStore, run_id: str, blob_dir: Path, result: RestoreResult, dry_run: bool
) -> None:
    if not blob_dir.is_dir():
        return
    files = [p for p in sorted(blob_dir.rglob("*")) if p.is_file()]

    def put(path: Path) -> int:
        data = path.read_bytes()
        if not dry_run:
            blobs.put(f"{run_id}/{path.relative_to(blob_dir).as_posix()}", data)
        return len(data)

    with ThreadPoolExecutor(max_workers=BLOB_THREADS) as pool:
        for nbytes in pool.map(put, files):
            result.blob_count += 1
            result.blob_bytes += nbytes


def _resolve_experiment(tr: ReadTransaction, experiment_id: Any, mapping: dict[str, str]) -> str | None:
    if not experiment_id:
        return None
    mapped = mapping.get(str(experiment_id), str(experiment_id))
    return mapped if entities.get_experiment(tr, mapped) is not None else None


def restore_run(
    engine: Engine,
    run_dir: Path,
    run_id: str,
    options: RestoreOptions,
    blobs: SyncBlobStore | None,
    result: RestoreResult,
    on_points: Callable[[int], None] | None = None,
) -> str:
    """Restore one run directory; returns what happened: ``restored``, ``overwritten`` or ``skipped``."""
    files = _load_run(run_dir, run_id)
    exists = engine.read(lambda tr: runs.get_run(tr, run_id, include_pending=True)) is not None
    if exists and not options.overwrite:
        return "skipped"
    if options.dry_run:
        _restore_series(engine, run_dir, files, {}, result, True, on_points)
        if blobs is not None:
            _upload_blobs(blobs, run_id, run_dir / layout.BLOBS_DIR, result, True)
        return "overwritten" if exists else "restored"
    if exists:
        _delete_run(engine, run_id)

    def put_head(tr: Transaction) -> dict[int, int]:
        ctx_map = {ctx_id: runs.set_context(tr, run_id, ctx) for ctx_id, ctx in files.contexts.items()}
        if files.attrs:
            runs.set_run_attrs(tr, run_id, (), files.attrs)
        return ctx_map

    ctx_map = engine.transact(put_head)
    _restore_series(engine, run_dir, files, ctx_map, result, False, on_points)
    mapping = result.entities

    def finish(tr: Transaction) -> tuple[bool, int]:
        experiment_id = _resolve_experiment(tr, files.meta.get("experiment_id"), mapping.experiment_ids)
        tag_ids = [mapping.tag_ids.get(t, t) for t in files.tags]
        return _finish_run(tr, files, experiment_id, tag_ids)

    cleared, fixes = engine.transact(finish)
    result.tombstones_cleared += int(cleared)
    result.index_fixes += fixes
    if blobs is not None:
        _upload_blobs(blobs, run_id, run_dir / layout.BLOBS_DIR, result, False)
    return "overwritten" if exists else "restored"


# --- the whole restore -------------------------------------------------------------------------------


def run_restore(
    engine: Engine,
    backup_dir: Path,
    options: RestoreOptions,
    *,
    blobs: SyncBlobStore | None,
    say: Callable[[str], None],
    say_error: Callable[[str], None],
    started: Callable[[int], None] | None = None,
    run_done: Callable[[], None] | None = None,
    on_points: Callable[[int], None] | None = None,
) -> RestoreResult:
    """Restore everything in ``backup_dir`` (already extracted); see the module docstring."""
    began = time.perf_counter()
    manifest = read_manifest(backup_dir, say_error)
    result = RestoreResult()
    if not options.skip_entities:
        result.entities = _restore_entities(engine, backup_dir, options.dry_run)
        result.problems.extend(result.entities.problems)
    if started is not None:
        started(len(manifest.run_hashes))
    blob_store = None if options.skip_blobs else blobs
    for i, run_id in enumerate(manifest.run_hashes, start=1):
        run_dir = backup_dir / layout.RUNS_DIR / run_id
        if not run_dir.is_dir():
            say(f"  SKIP {run_id} (directory missing)")
            result.skipped.append(run_id)
            continue
        outcome = restore_run(engine, run_dir, run_id, options, blob_store, result, on_points)
        {"restored": result.restored, "overwritten": result.overwritten, "skipped": result.skipped}[
            outcome
        ].append(run_id)
        verb = {"restored": "Restoring", "overwritten": "Overwriting", "skipped": "SKIP (exists)"}[outcome]
        say(f"  [{i}/{len(manifest.run_hashes)}] {verb} run {run_id}")
        if run_done is not None:
            run_done()
    result.seconds = time.perf_counter() - began
    if options.dry_run:
        say(f"Dry run: {len(manifest.run_hashes)} run(s), {result.blob_count} blob(s)")
        say(
            f"Validation passed. No data written. Would restore {len(result.restored)}, "
            f"overwrite {len(result.overwritten)}, skip {len(result.skipped)} run(s); "
            f"{result.points} point(s)."
        )
    else:
        say(
            f"Restore complete: {len(result.restored)} run(s) restored, "
            f"{len(result.overwritten)} overwritten, "
            f"{len(result.skipped)} skipped, {result.points} point(s), {result.blob_count} blob(s)."
        )
    return result
