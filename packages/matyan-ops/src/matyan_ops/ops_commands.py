"""The ops commands of ``matyan-backend`` (cyclopts functions; the jobs live in their own modules).

Exit codes: 0 done, 1 the job failed or its lock is held elsewhere (retry later), 2 bad usage or
input (retrying will not help). Every command takes ``--json`` for a one-line JSON summary on stdout
(human text then goes to stderr).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import cyclopts
from loguru import logger

from matyan_ops import backup_job, cleanup_jobs, restore_job, stale_runs, tensorboard_convert
from matyan_ops.backup_source import open_backup
from matyan_ops.runtime import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    JobFailed,
    Output,
    UsageError,
    open_blobs,
    open_store_engine,
)
from matyan_ops.settings import OpsSettings
from matyan_store.reindex import check_indexes

JsonFlag = Annotated[bool, cyclopts.Parameter(name="--json", negative="")]
DryRun = Annotated[bool, cyclopts.Parameter(name="--dry-run", negative="")]


def _guarded(out: Output, job: Callable[[], int]) -> int:
    """Run ``job``, mapping errors to exit codes and messages."""
    try:
        return job()
    except UsageError as exc:
        out.error(f"Error: {exc}")
        out.summary({"ok": False, "error": str(exc)})
        return EXIT_USAGE
    except JobFailed as exc:
        out.error(str(exc))
        out.summary({"ok": False, "error": str(exc)})
        return EXIT_FAILURE
    except Exception as exc:
        logger.exception("job failed")
        out.error(f"Failed: {exc}")
        out.summary({"ok": False, "error": str(exc)})
        return EXIT_FAILURE


def _timestamp(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise UsageError(f"{option} must be an ISO 8601 date or datetime, got {text!r}") from None


def _lock_ttl(value: int | None) -> int:
    ttl = OpsSettings().cleanup_job_lock_ttl_seconds if value is None else value
    if ttl < 0:
        raise UsageError("--lock-ttl-seconds must be >= 0")
    return ttl


# --- reindex -----------------------------------------------------------------------------------------


def reindex_command(
    *, verify_only: Annotated[bool, cyclopts.Parameter(negative="")] = False, json_output: JsonFlag = False
) -> int:
    """Check every index against the runs' data and repair what differs.

    Parameters
    ----------
    verify_only
        Report the differences without writing anything; exit code 1 if there are any.
    json_output
        Print a JSON summary on stdout.
    """
    out = Output(json_output)

    def job() -> int:
        with open_store_engine() as engine, out.progress("Checking runs", None) as bar:
            report = check_indexes(engine, fix=not verify_only, progress=lambda n: bar.update(completed=n))
        for line in report.differences:
            out.say(f"  {line}")
        out.say(f"Indexed {report.runs_checked} run(s).")
        if report.clean:
            out.say("Indexes match the data.")
        else:
            total = (
                report.missing_entries + report.extra_entries + report.orphan_entries + report.run_count_fixes
            )
            out.say(f"{'Fixed' if not verify_only else 'Found'} {total} difference(s).")
        out.summary({"ok": True, **report.to_dict()})
        return EXIT_FAILURE if verify_only and not report.clean else EXIT_OK

    return _guarded(out, job)


# --- backup / restore --------------------------------------------------------------------------------


def backup_command(
    output_path: Path,
    *,
    runs: str | None = None,
    experiment: str | None = None,
    since: str | None = None,
    before: str | None = None,
    include_blobs: Annotated[bool, cyclopts.Parameter(negative="--no-blobs")] = True,
    compress: Annotated[bool, cyclopts.Parameter(negative="")] = False,
    json_output: JsonFlag = False,
) -> int:
    """Back up runs, entities and blobs as backup format version 1.

    Writes OUTPUT_PATH/matyan-backup-YYYYmmdd-HHMMSS/ (UTC; manifest.json, entities.jsonl, runs/RUN_ID/...).
    Given filters must all hold.

    Parameters
    ----------
    output_path
        Directory in which the backup directory (or archive) is created.
    runs
        Comma-separated run ids to back up.
    experiment
        Only runs of the experiment with this name.
    since
        Only runs created at or after this ISO datetime (naive = local time).
    before
        Only runs created before this ISO datetime (naive = local time).
    include_blobs
        Copy each run's blobs (everything under RUN_ID/ in the blob store); --no-blobs skips them.
    compress
        Write the backup as BACKUP_DIR.tar.gz and remove the directory.
    json_output
        Print a JSON summary on stdout.
    """
    out = Output(json_output)

    def job() -> int:
        run_list = None if runs is None else [r.strip() for r in runs.split(",") if r.strip()]
        filters = backup_job.BackupFilters(
            runs=run_list,
            experiment=experiment,
            since=_timestamp(since, "--since"),
            before=_timestamp(before, "--before"),
        )
        manifest_filters = filters.manifest_dict(since, before)
        blobs = open_blobs() if include_blobs else None
        try:
            with open_store_engine() as engine, out.progress("Backing up runs", None) as bar:
                result = backup_job.run_backup(
                    engine,
                    output_path,
                    filters,
                    manifest_filters,
                    blobs=blobs,
                    compress_output=compress,
                    say=out.say,
                    started=lambda n: bar.update(total=n),
                    progress=lambda i, _n: bar.update(completed=i),
                )
        finally:
            if blobs is not None:
                blobs.close()
        out.summary({"ok": True, **result.to_dict()})
        return EXIT_OK

    return _guarded(out, job)


def restore_command(
    backup_path: Path,
    *,
    dry_run: DryRun = False,
    skip_entities: Annotated[bool, cyclopts.Parameter(negative="")] = False,
    skip_blobs: Annotated[bool, cyclopts.Parameter(negative="")] = False,
    overwrite: Annotated[bool, cyclopts.Parameter(negative="")] = False,
    json_output: JsonFlag = False,
) -> int:
    """Restore a backup (format version 1, this backend's or the reference's; a directory or .tar.gz).

    Runs keep their ids and meta; experiments, tags, dashboards, apps, reports and notes keep their
    ids (an experiment or tag whose name exists is mapped to the existing one). Tombstones of restored
    runs are cleared and their indexes are right when the command ends.

    Parameters
    ----------
    backup_path
        The backup directory, a directory holding exactly one, or a .tar.gz archive.
    dry_run
        Validate and report what would be restored, writing nothing.
    skip_entities
        Do not restore entities.jsonl (runs keep experiment links only to existing experiments).
    skip_blobs
        Do not upload the runs' blobs.
    overwrite
        Replace runs that already exist (default: skip them).
    json_output
        Print a JSON summary on stdout.
    """
    out = Output(json_output)

    def job() -> int:
        options = restore_job.RestoreOptions(dry_run, skip_entities, skip_blobs, overwrite)
        blobs = None if skip_blobs else open_blobs()
        try:
            with (
                open_backup(backup_path, out.say) as backup_dir,
                open_store_engine() as engine,
                out.progress("Restoring runs", None) as bar,
            ):
                result = restore_job.run_restore(
                    engine,
                    backup_dir,
                    options,
                    blobs=blobs,
                    say=out.say,
                    say_error=out.error,
                    started=lambda n: bar.update(total=n),
                    run_done=bar.advance,
                )
        finally:
            if blobs is not None:
                blobs.close()
        for problem in result.problems[:50]:
            out.error(f"  warning: {problem}")
        out.summary({"ok": True, **result.to_dict(dry_run)})
        return EXIT_OK

    return _guarded(out, job)


# --- scheduled jobs ----------------------------------------------------------------------------------


def finish_stale_command(
    *,
    older_than: Annotated[float, cyclopts.Parameter(name=["--older-than", "--timeout-hours"])] = 24.0,
    dry_run: DryRun = False,
    json_output: JsonFlag = False,
) -> int:
    """Finish active runs that have received no data for a while.

    A run's last activity is the newest of its updated_at and its series' last timestamps.

    Parameters
    ----------
    older_than
        Hours without data after which an active run is finished (--timeout-hours is the
        reference's name).
    dry_run
        List the runs that would be finished, changing nothing.
    json_output
        Print a JSON summary on stdout.
    """
    out = Output(json_output)

    def job() -> int:
        if older_than < 0:
            raise UsageError("--older-than must be >= 0")
        with open_store_engine() as engine, out.progress("Checking active runs", None) as bar:
            result = stale_runs.finish_stale(
                engine, older_than, dry_run=dry_run, say=out.say, progress=bar.advance
            )
        out.summary({"ok": True, **result.to_dict(dry_run)})
        return EXIT_OK

    return _guarded(out, job)


LockTtl = Annotated[int | None, cyclopts.Parameter(name="--lock-ttl-seconds")]


def cleanup_orphan_blobs_command(
    *,
    dry_run: DryRun = False,
    limit: int = 0,
    lock_ttl_seconds: LockTtl = None,
    scan_store: Annotated[bool, cyclopts.Parameter(negative="")] = False,
    json_output: JsonFlag = False,
) -> int:
    """Delete the blobs of deleted runs (tombstoned, or with --scan-store unknown to the store).

    Tombstones are kept (cleanup-tombstones removes them); run this job first.

    Parameters
    ----------
    dry_run
        List what would be deleted, deleting nothing.
    limit
        Process at most this many runs (0: all).
    lock_ttl_seconds
        Hold the job lock this long (renewed while working); 0 runs without a lock. Default:
        CLEANUP_JOB_LOCK_TTL_SECONDS.
    scan_store
        Also delete top-level blob prefixes that name no run at all. Only while ingestion is caught
        up: an artifact may be uploaded before its run is created.
    json_output
        Print a JSON summary on stdout.
    """
    out = Output(json_output)

    def job() -> int:
        if limit < 0:
            raise UsageError("--limit must be >= 0")
        ttl = _lock_ttl(lock_ttl_seconds)
        blobs = open_blobs()
        try:
            with open_store_engine() as engine, out.progress("Cleaning blobs", None) as bar:
                result = cleanup_jobs.cleanup_orphan_blobs(
                    engine,
                    blobs,
                    lock_ttl_s=ttl,
                    dry_run=dry_run,
                    limit=limit,
                    scan_store=scan_store,
                    say=out.say,
                    progress=bar.advance,
                )
        finally:
            blobs.close()
        out.summary({"ok": True, **result.to_dict(dry_run)})
        return EXIT_OK

    return _guarded(out, job)


def cleanup_tombstones_command(
    *,
    older_than_hours: int | None = None,
    dry_run: DryRun = False,
    limit: int = 0,
    lock_ttl_seconds: LockTtl = None,
    json_output: JsonFlag = False,
) -> int:
    """Remove tombstones of runs deleted long ago, so their ids may be used again.

    Run cleanup-orphan-blobs before: it finds deleted runs' blobs through their tombstones.

    Parameters
    ----------
    older_than_hours
        Clear tombstones older than this many hours. Default: TOMBSTONE_CLEANUP_OLDER_THAN_HOURS (168).
    dry_run
        List what would be cleared, clearing nothing.
    limit
        Clear at most this many tombstones (0: all).
    lock_ttl_seconds
        Hold the job lock this long (renewed while working); 0 runs without a lock. Default:
        CLEANUP_JOB_LOCK_TTL_SECONDS.
    json_output
        Print a JSON summary on stdout.
    """
    out = Output(json_output)

    def job() -> int:
        hours = (
            OpsSettings().tombstone_cleanup_older_than_hours if older_than_hours is None else older_than_hours
        )
        if hours < 0 or limit < 0:
            raise UsageError("--older-than-hours and --limit must be >= 0")
        ttl = _lock_ttl(lock_ttl_seconds)
        with open_store_engine() as engine, out.progress("Checking tombstones", None) as bar:
            result = cleanup_jobs.cleanup_tombstones(
                engine,
                older_than_hours=hours,
                lock_ttl_s=ttl,
                dry_run=dry_run,
                limit=limit,
                say=out.say,
                progress=bar.advance,
            )
        out.summary({"ok": True, **result.to_dict(dry_run)})
        return EXIT_OK

    return _guarded(out, job)


# --- convert -----------------------------------------------------------------------------------------


def convert_tensorboard_command(
    logdir: Path,
    output: Path | None = None,
    *,
    experiment: str | None = None,
    restore: Annotated[bool, cyclopts.Parameter(negative="")] = False,
    compress: Annotated[bool, cyclopts.Parameter(negative="")] = False,
    json_output: JsonFlag = False,
) -> int:
    """Convert TensorBoard event files into a backup (one run per directory of event files).

    Scalars, histograms (as distributions), images, text and hparams plugin data are converted.

    Parameters
    ----------
    logdir
        Directory searched recursively for *tfevents* files.
    output
        Directory in which the backup directory is created; optional with --restore.
    experiment
        Put every converted run in the experiment with this name.
    restore
        Restore the converted runs straight into the store (and blob store).
    compress
        Write the backup as a .tar.gz archive.
    json_output
        Print a JSON summary on stdout.
    """
    out = Output(json_output)

    def job() -> int:
        if tensorboard_convert.IMPORT_ERROR is not None:
            raise JobFailed(f"convert tensorboard: not available: {tensorboard_convert.IMPORT_ERROR}")
        if not logdir.is_dir():
            raise UsageError(f"{logdir} is not a directory")
        if output is None and not restore:
            raise UsageError("give OUTPUT, or --restore to load the runs straight into the store")
        temp = Path(tempfile.mkdtemp(prefix="matyan-convert-")) if output is None else None
        parent = temp if temp is not None else output
        assert parent is not None
        parent.mkdir(parents=True, exist_ok=True)
        root = backup_job._unique_dir(parent, backup_job.backup_dir_name())
        summary: dict[str, Any] = {"ok": True}
        try:
            with out.progress("Converting runs", None) as bar:
                result = tensorboard_convert.convert_tensorboard(
                    logdir,
                    root,
                    experiment=experiment,
                    say=out.say,
                    started=lambda n: bar.update(total=n),
                    run_done=bar.advance,
                )
            if restore:
                blobs = open_blobs()
                try:
                    with open_store_engine() as engine:
                        restored = restore_job.run_restore(
                            engine,
                            root,
                            restore_job.RestoreOptions(),
                            blobs=blobs,
                            say=out.say,
                            say_error=out.error,
                        )
                finally:
                    blobs.close()
                summary["restore"] = restored.to_dict(False)
            final = backup_job.compress(root) if compress and temp is None else root
            result.path = "" if temp is not None else str(final)
            out.say(
                f"Converted {len(result.runs)} run(s), {result.points} point(s) "
                f"-> {result.path or 'the store'}"
            )
            summary.update(result.to_dict())
        finally:
            if temp is not None:
                shutil.rmtree(temp, ignore_errors=True)
        out.summary(summary)
        return EXIT_OK

    return _guarded(out, job)


convert_app = cyclopts.App(name="convert", help="Convert other trackers' logs into Matyan backups.")
convert_app.command(convert_tensorboard_command, name="tensorboard")
