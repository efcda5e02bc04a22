"""One transaction's worth of ingestion messages, applied to the store.

See docs/architecture.md, Ingestion messages.

:class:`TxnApplier` is created per transaction attempt and holds what only that attempt may cache: which
runs exist or are dropped, which contexts are stored, and the metric points waiting to be written. Points
of one series are buffered and written with one :func:`sequences.write_points` call at :meth:`flush`, so
a thousand single-point messages cost one block rewrite instead of a thousand. Nothing here outlives the
transaction, so a retried attempt starts from what the store says (no cache can go stale on a retry).

Rules this module keeps:

* a tombstoned run, or one pending deletion, drops every message but ``delete_run``; the check is a read
  in each transaction, so clearing a tombstone takes effect at once;
* any message for a run that does not exist first creates the run with complete default meta (no ghosts);
* auto-assigned steps continue after the last stored (or buffered) step of the series;
* ``delete_run`` writes the tombstone first, reads the run's blob keys, runs one bounded slice of the
  deletion and records the rest in the store's outbox (:mod:`.deletions`) for after the commit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from loguru import logger

from matyan_models.ingestion import (
    AddTagMessage,
    BlobRefMessage,
    CreateRunMessage,
    DeleteRunMessage,
    FinishRunMessage,
    IngestionFrameT,
    LogCustomObjectMessage,
    LogHParamsMessage,
    LogMetricMessage,
    LogRecordMessage,
    LogTerminalLineMessage,
    RemoveTagMessage,
    SetRunPropertyMessage,
)
from matyan_models.sequence_kinds import (
    BLOBS_ATTR,
    LOG_DTYPES,
    LOG_RECORDS_DTYPE,
    LOG_RECORDS_SEQUENCE,
    LOGS_DTYPE,
    LOGS_SEQUENCE,
)
from matyan_store import entities, runs, sequences, tombstones
from matyan_store.blobs import key_in_run
from matyan_store.codec import normalize_point
from matyan_store.engine.base import Transaction
from matyan_store.sequences import Point, SeriesKey, SeriesSummary
from matyan_workers.ingest.deletions import PendingDeletion, get_pending, put_pending

__all__ = [
    "MetricPoint",
    "Outcome",
    "TxnApplier",
    "collect_blob_keys",
    "metric_point",
    "metric_value",
]


_INT_DTYPES = frozenset({"int", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "long"})


class Outcome:
    """What became of a message (the labels of the worker's logs and tests)."""

    APPLIED = "applied"
    DROPPED_DELETED = "dropped_deleted"
    IGNORED = "ignored"


def metric_value(raw: Any, parsed: float | None, dtype: str | None) -> int | float | bool:
    """The value to store for a ``log_metric``.

    The JSON number is kept as sent (an int stays an int), ``null`` (a NaN or infinity the frontier could
    not serialise) becomes NaN, and an integral float logged with an int dtype (the frontier's
    ``float`` field turns ``3`` into ``3.0``) is stored as the int the client tracked.
    """
    if isinstance(raw, bool) or type(raw) in (int, float):
        value: int | float | bool = raw
    elif parsed is None:
        return math.nan
    else:
        value = parsed
    if dtype in _INT_DTYPES and type(value) is float and value.is_integer():
        return int(value)
    if dtype == "bool" and type(value) in (int, float) and value in (0, 1):
        return bool(value)
    return value


class MetricPoint(NamedTuple):
    """What applying a ``log_metric`` needs: its fields, ``value`` as :func:`metric_value` stores it."""

    run_id: str
    name: str
    value: int | float | bool
    step: int | None
    epoch: int | None
    context: Mapping[Any, Any] | None
    dtype: str
    """The series dtype (a missing or empty ``dtype`` reads as ``"float"``)."""


def metric_point(frame: LogMetricMessage, payload: Mapping[Any, Any]) -> MetricPoint:
    """The :class:`MetricPoint` of a validated ``log_metric`` frame and its raw payload."""
    return MetricPoint(
        run_id=frame.run_id,
        name=frame.name,
        value=metric_value(payload.get("value"), frame.value, frame.dtype),
        step=frame.step,
        epoch=frame.epoch,
        context=frame.context,
        dtype=frame.dtype or "float",
    )


def _timestamp(dt: datetime | None) -> float | None:
    return None if dt is None else dt.timestamp()


def _unwrap_hparams(value: Mapping[Any, Any]) -> tuple[tuple[Any, ...], Any]:
    """Descend through single-key dicts: ``{"hparams": {"lr": 1, "bs": 2}}`` → ``(("hparams",), {...})``."""
    path: list[Any] = []
    current: Any = value
    while isinstance(current, Mapping) and len(current) == 1:
        (key,) = current.keys()
        path.append(key)
        current = current[key]
    return tuple(path), current


def _blob_key_of(value: Any) -> str | None:
    if isinstance(value, Mapping):
        key = value.get("s3_key") or value.get("blob_key")
        return key if isinstance(key, str) and key else None
    return None


def collect_blob_keys(tr: Transaction, run_id: str) -> list[str]:
    """The run's own blob keys: ``attrs.__blobs__`` and the ``s3_key`` of its custom objects.

    Only keys under ``<run_id>/`` are the run's; others (a client may record any key, another run's
    included) are skipped and counted in a log line, so deleting this run never deletes them.
    """
    keys: set[str] = set()
    blobs = runs.get_run_attrs(tr, run_id, (BLOBS_ATTR,))
    if isinstance(blobs, Mapping):
        for ref in blobs.values():
            if (key := _blob_key_of(ref)) is not None:
                keys.add(key)
    for series, summary in sequences.list_run_series(tr, run_id):
        if summary.value_kind != "object" or summary.dtype in LOG_DTYPES:
            continue
        for value in sequences.read_range(tr, series).values:
            items = value if isinstance(value, list) else [value]
            for item in items:
                if (blob := _blob_key_of(item)) is not None:
                    keys.add(blob)
    own = sorted(key for key in keys if key_in_run(key, run_id))
    if len(own) < len(keys):
        logger.warning(
            "delete_run {}: skipped {} recorded blob key(s) not under the run's own prefix",
            run_id,
            len(keys) - len(own),
        )
    return own


@dataclass
class _SeriesBuffer:
    key: SeriesKey
    dtype: str
    summary: SeriesSummary | None
    """The series' summary when first touched in this transaction (only :meth:`flush` writes it)."""
    last_step: int
    points: list[Point] = field(default_factory=list)


class TxnApplier:
    """Applies messages inside one transaction; call :meth:`flush` before the transaction ends."""

    def __init__(
        self,
        tr: Transaction,
        *,
        delete_max_bytes: int = 1 << 20,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tr = tr
        self.delete_max_bytes = delete_max_bytes
        self.clock = clock
        self.started_deletions: list[str] = []
        """Runs whose deletion began in this transaction and must be finished after the commit."""
        self._dropped: dict[str, bool] = {}
        self._ensured: set[str] = set()
        self._contexts: set[tuple[str, int]] = set()
        self._context_ids: dict[str, int] = {}
        # Keyed by plain (run id, context id, name) tuples: hashing them is cheaper than a SeriesKey.
        self._series: dict[tuple[str, int, str], _SeriesBuffer] = {}

    # -- run state ---------------------------------------------------------------------------------

    def is_dropped(self, run_id: str) -> bool:
        """Whether messages for the run are dropped (tombstone, or pending deletion)."""
        dropped = self._dropped.get(run_id)
        if dropped is None:
            if tombstones.is_deleted(self.tr, run_id):
                dropped = True
            else:
                meta = runs.get_run(self.tr, run_id, include_pending=True)
                dropped = meta is not None and meta.pending_deletion
            self._dropped[run_id] = dropped
        return dropped

    def _ensure_run(self, run_id: str) -> runs.RunMeta:
        meta = runs.ensure_run(self.tr, run_id)
        self._ensured.add(run_id)
        return meta

    def _ensure_run_once(self, run_id: str) -> None:
        if run_id not in self._ensured:
            self._ensure_run(run_id)

    def _context_id(self, run_id: str, context: Mapping[Any, Any] | None) -> int:
        if not context:
            ctx: Mapping[Any, Any] = {}
            memo = "{}"
        else:
            ctx = context
            # Hashing a context (canonical JSON) costs more than applying a point; messages of a run
            # repeat the same few contexts. Equal reprs of JSON data mean equal contexts: the memo is exact.
            memo = repr(ctx)
        ctx_id = self._context_ids.get(memo)
        if ctx_id is None:
            from matyan_models import context_to_id

            ctx_id = self._context_ids[memo] = context_to_id(dict(ctx))
        if (run_id, ctx_id) not in self._contexts:
            runs.set_context(self.tr, run_id, ctx)
            self._contexts.add((run_id, ctx_id))
        return ctx_id

    # -- series ------------------------------------------------------------------------------------

    def _buffer(self, run_id: str, ctx_id: int, name: str, dtype: str) -> _SeriesBuffer:
        buf = self._series.get((run_id, ctx_id, name))
        if buf is None:
            key = SeriesKey(run_id, ctx_id, name)
            summary = sequences.get_summary(self.tr, key)
            buf = _SeriesBuffer(
                key=key, dtype=dtype, summary=summary, last_step=-1 if summary is None else summary.last_step
            )
            self._series[(run_id, ctx_id, name)] = buf
        buf.dtype = dtype
        return buf

    def _add_point(
        self,
        run_id: str,
        ctx_id: int,
        name: str,
        dtype: str,
        step: int | None,
        value: Any,
        epoch: int | None,
        checked: bool = False,
    ) -> None:
        buf = self._buffer(run_id, ctx_id, name, dtype)
        if step is None:
            step = buf.last_step + 1
        point = Point(step, value, epoch, self.clock())
        # Validated now, so a bad step or epoch fails its own message rather than the flush.
        buf.points.append(point if checked else normalize_point(point))
        if step > buf.last_step:
            buf.last_step = step

    def flush(self, run_id: str | None = None) -> None:
        """Write the buffered points (of one run, or all) with their summaries' index entries."""
        for k in [k for k in self._series if run_id is None or k[0] == run_id]:
            buf = self._series.pop(k)
            if not buf.points:
                continue
            # Nothing but this flush writes the series in the transaction, so the summary read when it
            # was first touched is still current: no second (or third) read.
            runs.write_run_series(self.tr, buf.key, buf.points, buf.dtype, summary=buf.summary)

    # -- messages ----------------------------------------------------------------------------------

    def apply_metric(self, point: MetricPoint, *, checked: bool = False) -> str:
        """Apply one ``log_metric`` (the common message, parsed by the fast path); an :class:`Outcome`.

        ``checked``: the step is an int in [0, 2**63) or None and the epoch an int64 or None (the fast
        path checked them), so the point needs no further validation.
        """
        run_id = point.run_id
        if self.is_dropped(run_id):
            return Outcome.DROPPED_DELETED
        if run_id not in self._ensured:
            self._ensure_run(run_id)
        ctx_id = self._context_id(run_id, point.context)
        self._add_point(
            run_id, ctx_id, point.name, point.dtype, point.step, point.value, point.epoch, checked
        )
        return Outcome.APPLIED

    def apply_metrics(self, points: Sequence[MetricPoint]) -> list[str]:
        """Apply fast-path ``log_metric`` points (checked as :meth:`apply_metric` says); their outcomes.

        The same effect as :meth:`apply_metric` point by point, in one loop that only appends each point
        to its series' buffer: the run and context checks are made once per run and context.
        """
        outcomes: list[str] = []
        append = outcomes.append
        series = self._series
        ensured = self._ensured
        dropped_runs = self._dropped
        clock = self.clock
        for run_id, name, value, step, epoch, context, dtype in points:
            dropped = dropped_runs.get(run_id)
            if dropped is None:
                dropped = self.is_dropped(run_id)
            if dropped:
                append(Outcome.DROPPED_DELETED)
                continue
            if run_id not in ensured:
                self._ensure_run(run_id)
            ctx_id = self._context_id(run_id, context)
            buf = series.get((run_id, ctx_id, name))
            if buf is None or buf.dtype != dtype:
                buf = self._buffer(run_id, ctx_id, name, dtype)
            if step is None:
                step = buf.last_step + 1
            buf.points.append(Point(step, value, epoch, clock()))
            if step > buf.last_step:
                buf.last_step = step
            append(Outcome.APPLIED)
        return outcomes

    def apply(self, frame: IngestionFrameT, payload: Mapping[Any, Any]) -> str:
        """Apply one typed message (``payload``: its raw payload dict); returns an :class:`Outcome`."""
        run_id = frame.run_id
        if isinstance(frame, DeleteRunMessage):
            self._delete_run(run_id)
            return Outcome.APPLIED
        if self.is_dropped(run_id):
            return Outcome.DROPPED_DELETED
        match frame:
            case CreateRunMessage():
                return self._create_run(frame)
            case LogMetricMessage():
                return self.apply_metric(metric_point(frame, payload))
            case LogCustomObjectMessage():
                self._ensure_run_once(run_id)
                ctx_id = self._context_id(run_id, frame.context)
                self._add_point(run_id, ctx_id, frame.name, frame.dtype, frame.step, frame.value, frame.epoch)
            case LogTerminalLineMessage():
                self._ensure_run_once(run_id)
                ctx_id = self._context_id(run_id, None)
                self._add_point(run_id, ctx_id, LOGS_SEQUENCE, LOGS_DTYPE, frame.step, frame.line, None)
            case LogRecordMessage():
                self._ensure_run_once(run_id)
                ctx_id = self._context_id(run_id, None)
                record = {
                    "message": frame.message,
                    "log_level": frame.level,
                    "timestamp": frame.timestamp,
                    "args": frame.extra_args,
                    "logger_info": frame.logger_info,
                }
                self._add_point(run_id, ctx_id, LOG_RECORDS_SEQUENCE, LOG_RECORDS_DTYPE, None, record, None)
            case LogHParamsMessage():
                if not frame.value:
                    return Outcome.IGNORED
                self._ensure_run_once(run_id)
                path, value = _unwrap_hparams(frame.value)
                runs.set_run_attrs(self.tr, run_id, path, value)
            case FinishRunMessage():
                self._finish_run(frame)
            case SetRunPropertyMessage():
                self._set_run_property(frame)
            case AddTagMessage():
                self._ensure_run_once(run_id)
                tag = entities.get_tag_by_name(self.tr, frame.tag_name)
                if tag is None:
                    tag = entities.create_tag(self.tr, frame.tag_name)
                runs.add_run_tag(self.tr, run_id, tag.id)
            case RemoveTagMessage():
                self._ensure_run_once(run_id)
                tag = entities.get_tag_by_name(self.tr, frame.tag_name)
                if tag is None:
                    logger.warning("remove_tag: no tag named {!r} (run {})", frame.tag_name, run_id)
                    return Outcome.IGNORED
                runs.remove_run_tag(self.tr, run_id, tag.id)
            case BlobRefMessage():
                self._ensure_run_once(run_id)
                runs.set_run_attrs(
                    self.tr,
                    run_id,
                    (BLOBS_ATTR, frame.artifact_path),
                    {"s3_key": frame.s3_key, "content_type": frame.content_type},
                )
        return Outcome.APPLIED

    def _create_run(self, frame: CreateRunMessage) -> str:
        run_id = frame.run_id
        start_ts = _timestamp(frame.client_datetime)
        existing = runs.get_run(self.tr, run_id)
        if frame.force_resume and existing is not None:
            fields: dict[str, Any] = {"active": True, "finalized_at": None}
            if start_ts is not None:
                fields["client_start_ts"] = start_ts
            runs.update_run(self.tr, run_id, **fields)
        else:
            runs.create_run(self.tr, run_id, client_start_ts=start_ts)
        self._ensured.add(run_id)
        return Outcome.APPLIED

    def _finish_run(self, frame: FinishRunMessage) -> None:
        meta = self._ensure_run(frame.run_id)
        finish_ts = _timestamp(frame.client_datetime)
        duration: float | None = None
        if finish_ts is not None and meta.client_start_ts is not None:
            duration = max(0.0, finish_ts - meta.client_start_ts)
        finalized_at = meta.created_at + duration if duration is not None else self.clock()
        runs.update_run(self.tr, frame.run_id, active=False, finalized_at=finalized_at, duration=duration)

    def _set_run_property(self, frame: SetRunPropertyMessage) -> None:
        run_id = frame.run_id
        self._ensure_run_once(run_id)
        fields: dict[str, Any] = {}
        if frame.name is not None:
            fields["name"] = frame.name
        if frame.description is not None:
            fields["description"] = frame.description
        if frame.archived is not None:
            fields["archived"] = frame.archived
        if fields:
            runs.update_run(self.tr, run_id, **fields)
        if frame.experiment is not None:
            name = frame.experiment.strip()
            exp = entities.get_experiment_by_name(self.tr, name)
            if exp is None:
                exp = entities.create_experiment(self.tr, name)
            runs.set_run_experiment(self.tr, run_id, exp.id)

    def _delete_run(self, run_id: str) -> None:
        # Points buffered for the run go in first, so the deletion sees (and removes) them too.
        self.flush(run_id)
        tr = self.tr
        now = self.clock()
        # The tombstone goes first: messages after this one are dropped even while the bounded
        # deletion is still running in later transactions.
        tombstones.mark_deleted(tr, run_id, now)
        previous = get_pending(tr, run_id)
        blob_keys = collect_blob_keys(tr, run_id)
        if previous is not None:
            blob_keys = sorted(set(blob_keys) | set(previous.blob_keys))
        entities.delete_notes_for_run(tr, run_id)
        done = runs.delete_run_data(tr, run_id, max_bytes=self.delete_max_bytes, now=now)
        put_pending(
            tr, PendingDeletion(run_id=run_id, blob_keys=blob_keys, data_deleted=done, recorded_at=now)
        )
        self._dropped[run_id] = True
        self._ensured.discard(run_id)
        self._contexts = {c for c in self._contexts if c[0] != run_id}
        self.started_deletions.append(run_id)
