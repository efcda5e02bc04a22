"""Kafka records → store transactions, each holding its data, its partitions' offsets and its dead letters.

The exactly-once effect rests on one rule: a transaction that applies messages also writes, with
:func:`offsets.set_offset`, the offset of the last message it covered on each partition, and it first
reads the stored offsets and skips every message at or below them. Whatever happens around it (a crash
before or after the commit, a redelivery, a rebalance, a zombie worker, an unknown commit result retried
by the engine) a message's effect lands exactly once.

A message that cannot be applied (bad JSON, unknown type, missing field, a value too large, any error
while applying it) becomes a dead letter in the same transaction as the offsets, so it is kept, never
retried forever, and the batch goes on. A dead letter an operator asked to replay comes back as a record
with ``replay_of`` set: it is applied like any other, except that its transaction removes the dead
letter instead of checking and advancing offsets, and a letter already gone (replayed before) is
skipped, so a replay takes effect exactly once; one that fails again becomes a new dead letter.
Errors of the store itself (unavailable, retries exhausted) are not the message's fault: they
propagate, and the consumer retries the same records after a pause.

Parsing is most of a message's cost, and nearly every message is a ``log_metric`` shaped exactly as the
frontier writes it: :func:`~matyan_workers.ingest.metric_decoder.parse_log_metric` reads those, and
leaves whatever it is not sure of to the full pydantic validation. A transaction holds at most
``max_messages`` messages of other types, while fast-path points count only by size: they are grouped
by series and each series written once per transaction, so a transaction of thousands of single-point
messages costs one append per series.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from loguru import logger
from pydantic import ValidationError

from matyan_models import IngestionMessage, IngestionMessageType
from matyan_models.ingestion import IngestionFrameT, parse_ingestion_payload
from matyan_store import deadletters, offsets
from matyan_store.engine.base import Engine, Transaction
from matyan_store.engine.errors import (
    KeyOutsideLegalRange,
    LimitExceeded,
    TransactionTooLarge,
    TransactionTooOld,
)
from matyan_workers.ingest.apply import MetricPoint, Outcome, TxnApplier
from matyan_workers.ingest.metric_decoder import parse_log_metric

__all__ = [
    "BatchResult",
    "BatchRunner",
    "ParsedRecord",
    "Record",
    "chunk_records",
    "error_type_of",
    "parse_log_metric",
    "parse_record",
]

_KNOWN_TYPES = frozenset(t.value for t in IngestionMessageType)

ALREADY_APPLIED = "already_applied"
DEAD_LETTERED = "dead_lettered"


class Record(NamedTuple):
    """The parts of a Kafka record the worker needs (a tuple: one is made per consumed record)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    replay_of: str | None = None
    """The id of the dead letter this record replays (then offsets are neither checked nor advanced)."""


_NO_PAYLOAD: Mapping[Any, Any] = MappingProxyType({})


class ParsedRecord(NamedTuple):
    """A record with its typed message, or with the reason it cannot be applied.

    A tuple, as one is made per consumed record (a dataclass costs more to build than the fast path takes
    to parse).
    """

    record: Record
    size: int
    """Bytes of the record (what transactions are first sized by)."""
    message_type: str | None = None
    frame: IngestionFrameT | None = None
    payload: Mapping[Any, Any] = _NO_PAYLOAD
    error_type: str | None = None
    reason: str | None = None
    metric: MetricPoint | None = None
    """A ``log_metric`` read by the fast path (then ``frame`` is ``None``)."""

    @property
    def applicable(self) -> bool:
        """Whether the message parsed (into ``frame`` or ``metric``)."""
        return self.frame is not None or self.metric is not None


def error_type_of(exc: BaseException) -> str:
    """The ``error_type`` label of an exception raised by parsing or applying a message.

    See docs/runbook.md, Health and metrics.
    """
    if isinstance(exc, ValidationError | json.JSONDecodeError | UnicodeDecodeError):
        return "validation"
    if isinstance(exc, LimitExceeded | KeyOutsideLegalRange):
        return "fdb"
    return "unknown"


def _size(record: Record) -> int:
    return len(record.value) + len(record.key or b"")


def parse_record(record: Record) -> ParsedRecord:
    """Validate the envelope and the payload of its type; a failure is described, never raised."""
    point = parse_log_metric(record.value)
    if point is not None:
        return ParsedRecord(record, _size(record), message_type="log_metric", metric=point)
    try:
        msg = IngestionMessage.model_validate_json(record.value)
    except ValidationError as exc:
        return ParsedRecord(
            record, _size(record), error_type="validation", reason=f"invalid message: {_short(exc)}"
        )
    if msg.type not in _KNOWN_TYPES:
        return ParsedRecord(
            record,
            _size(record),
            message_type=msg.type,
            error_type="validation",
            reason=f"unknown message type {msg.type!r}",
        )
    try:
        frame = parse_ingestion_payload(msg)
    except ValidationError as exc:
        return ParsedRecord(
            record,
            _size(record),
            message_type=msg.type,
            error_type="validation",
            reason=f"invalid {msg.type}: {_short(exc)}",
        )
    return ParsedRecord(record, _size(record), message_type=msg.type, frame=frame, payload=msg.payload)


def _short(exc: BaseException) -> str:
    return str(exc).replace("\n", " ")[:500]


def chunk_records(items: Sequence[ParsedRecord], max_count: int, max_bytes: int) -> list[list[ParsedRecord]]:
    """Cut ``items`` into runs of about ``max_bytes`` (a big one alone) and ``max_count`` messages.

    Fast-path ``log_metric`` points do not count towards ``max_count``: they are written a series at a
    time, so many of them in one transaction cost little more than a few.
    """
    chunks: list[list[ParsedRecord]] = []
    current: list[ParsedRecord] = []
    size = 0
    counted = 0
    for item in items:
        if current and (counted >= max_count or size + item.size > max_bytes):
            chunks.append(current)
            current, size, counted = [], 0, 0
        current.append(item)
        size += item.size
        if item.metric is None:
            counted += 1
    if current:
        chunks.append(current)
    return chunks


@dataclass
class BatchResult:
    """What one batch did; the consumer turns it into metrics and post-commit work."""

    processed: Counter[str] = field(default_factory=Counter)
    """Messages applied (or dropped by a tombstone, or ignored) per message type."""
    errors: Counter[str] = field(default_factory=Counter)
    """Processing errors per ``error_type`` label, ``txn_too_large_split`` included."""
    dead_letters: int = 0
    already_applied: int = 0
    transactions: int = 0
    attempts: int = 0
    txn_bytes: list[int] = field(default_factory=list)
    started_deletions: list[str] = field(default_factory=list)
    last_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    """The highest offset covered per (topic, partition), applied or skipped."""

    @property
    def retries(self) -> int:
        """Transaction attempts beyond the first of each transaction (conflicts, unknown results)."""
        return self.attempts - self.transactions


class _MessageFailedError(Exception):
    def __init__(self, index: int, error: BaseException) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


class _ColumnarFailedError(Exception):
    """Applying a run of fast-path points together failed: the chunk is applied again point by point."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class _FlushFailedError(Exception):
    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _ChunkOutcome:
    consumed: int
    outcomes: list[str]
    started_deletions: list[str]
    size: int
    last_offsets: dict[tuple[str, int], int]


class BatchRunner:
    """Applies parsed records in store transactions for one consumer group."""

    def __init__(
        self,
        engine: Engine,
        group: str,
        *,
        max_messages: int,
        max_bytes: int,
        delete_max_bytes: int = 1 << 20,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.group = group
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.delete_max_bytes = delete_max_bytes
        self.clock = clock

    def run(self, records: Sequence[Record]) -> BatchResult:
        """Apply ``records`` (any partitions; each partition's records in offset order) and commit them."""
        result = BatchResult()
        parsed = [parse_record(r) for r in records]
        pending = chunk_records(parsed, self.max_messages, self.max_bytes)
        poisoned: dict[tuple[str, int, int], tuple[str, str]] = {}
        for item in parsed:
            if item.error_type is not None:
                poisoned[_where(item)] = (item.error_type, item.reason or "")
        columnar = True
        while pending:
            chunk = pending.pop(0)
            try:
                out = self._transact(chunk, poisoned, result, columnar)
            except _ColumnarFailedError:
                # Some point failed (none should): find which, point by point, for the rest of the batch.
                columnar = False
                pending.insert(0, chunk)
                continue
            except _MessageFailedError as failed:
                item = chunk[failed.index]
                poisoned[_where(item)] = (
                    error_type_of(failed.error),
                    f"apply failed: {_short(failed.error)}",
                )
                pending.insert(0, chunk)
                continue
            except (TransactionTooLarge, TransactionTooOld, _FlushFailedError) as exc:
                error = exc.error if isinstance(exc, _FlushFailedError) else exc
                if len(chunk) > 1:
                    half = len(chunk) // 2
                    pending[:0] = [chunk[:half], chunk[half:]]
                    result.errors["txn_too_large_split"] += 1
                else:
                    poisoned[_where(chunk[0])] = (
                        error_type_of(error),
                        f"cannot apply alone: {_short(error)}",
                    )
                    pending.insert(0, chunk)
                continue
            self._account(chunk, out, poisoned, result)
            if out.consumed < len(chunk):
                pending.insert(0, chunk[out.consumed :])
        return result

    def replay(self, letters: Sequence[deadletters.DeadLetter]) -> BatchResult:
        """Apply dead letters again through :meth:`run`; each removed in its applying transaction."""
        return self.run(
            [Record(d.topic, d.partition, d.offset, d.key, d.value, replay_of=d.id) for d in letters]
        )

    def _account(
        self,
        chunk: list[ParsedRecord],
        out: _ChunkOutcome,
        poisoned: Mapping[tuple[str, int, int], tuple[str, str]],
        result: BatchResult,
    ) -> None:
        result.transactions += 1
        result.txn_bytes.append(out.size)
        result.started_deletions.extend(out.started_deletions)
        for tp, off in out.last_offsets.items():
            result.last_offsets[tp] = max(off, result.last_offsets.get(tp, -1))
        processed = result.processed
        for item, outcome in zip(chunk, out.outcomes, strict=False):
            if outcome is Outcome.APPLIED:
                processed[item.message_type or "unknown"] += 1
            elif outcome == ALREADY_APPLIED:
                result.already_applied += 1
            elif outcome == DEAD_LETTERED:
                error_type, reason = poisoned[_where(item)]
                result.dead_letters += 1
                result.errors[error_type] += 1
                rec = item.record
                logger.warning(
                    "dead letter {}/{}@{} ({}): {}", rec.topic, rec.partition, rec.offset, error_type, reason
                )
            else:
                processed[item.message_type or "unknown"] += 1
                if outcome == Outcome.DROPPED_DELETED:
                    logger.debug(
                        "dropped {} for deleted run at offset {}", item.message_type, item.record.offset
                    )

    def _transact(
        self,
        chunk: list[ParsedRecord],
        poisoned: Mapping[tuple[str, int, int], tuple[str, str]],
        result: BatchResult,
        columnar: bool,
    ) -> _ChunkOutcome:
        def attempt(tr: Transaction) -> _ChunkOutcome:
            result.attempts += 1
            return self._apply_chunk(tr, chunk, poisoned, columnar)

        return self.engine.transact(attempt)

    def _apply_chunk(
        self,
        tr: Transaction,
        chunk: list[ParsedRecord],
        poisoned: Mapping[tuple[str, int, int], tuple[str, str]],
        columnar: bool,
    ) -> _ChunkOutcome:
        stored: dict[tuple[str, int], int | None] = {}
        applier = TxnApplier(tr, delete_max_bytes=self.delete_max_bytes, clock=self.clock)
        outcomes: list[str] = []
        last: dict[tuple[str, int], int] = {}
        covered: dict[tuple[str, int], int] = {}
        # Fast-path points waiting to be applied together (``columnar``), and where their outcomes go.
        points: list[MetricPoint] = []
        points_at: list[int] = []

        def apply_points() -> None:
            try:
                done = applier.apply_metrics(points)
            except Exception as exc:
                if _not_the_message(exc):
                    raise
                raise _ColumnarFailedError(exc) from exc
            for at, outcome in zip(points_at, done, strict=True):
                outcomes[at] = outcome
            points.clear()
            points_at.clear()

        consumed = 0
        # Sized by what is actually written plus the buffered points' record sizes (written at flush).
        budget = self.max_bytes - tr.approximate_size
        buffered = 0
        for index, item in enumerate(chunk):
            rec = item.record
            tp = (rec.topic, rec.partition)
            consumed = index + 1
            if rec.replay_of is not None:
                # Removing the letter here makes this transaction the one replay of it.
                if not deadletters.remove_dead_letter(tr, rec.replay_of):
                    outcomes.append(ALREADY_APPLIED)
                    continue
            else:
                if tp not in stored:
                    stored[tp] = offsets.get_offset(tr, self.group, rec.topic, rec.partition)
                done = stored[tp]
                covered[tp] = rec.offset  # a partition's records come in offset order
                if done is not None and rec.offset <= done:
                    outcomes.append(ALREADY_APPLIED)
                    continue
                last[tp] = rec.offset
            bad = poisoned.get((rec.topic, rec.partition, rec.offset)) if poisoned else None
            if bad is None and columnar and item.metric is not None:
                points.append(item.metric)
                points_at.append(len(outcomes))
                outcomes.append(Outcome.APPLIED)
            elif bad is not None or not item.applicable:
                error_type, reason = bad or ("validation", item.reason or "unparsed message")
                deadletters.add_dead_letter(
                    tr,
                    topic=rec.topic,
                    partition=rec.partition,
                    offset=rec.offset,
                    key=rec.key,
                    value=rec.value,
                    reason=reason,
                    error_type=error_type,
                    at=self.clock(),
                )
                outcomes.append(DEAD_LETTERED)
                continue
            else:
                if points:
                    apply_points()  # in order: this message may concern the same run (a deletion)
                try:
                    if item.metric is not None:
                        outcomes.append(applier.apply_metric(item.metric, checked=True))
                    else:
                        assert item.frame is not None
                        outcomes.append(applier.apply(item.frame, item.payload))
                except Exception as exc:
                    if _not_the_message(exc):
                        raise
                    raise _MessageFailedError(index, exc) from exc
                budget = self.max_bytes - tr.approximate_size
            # Stop here once the transaction is big enough; the rest goes in the next one.
            buffered += item.size
            if buffered >= budget and index + 1 < len(chunk):
                break
        if points:
            apply_points()
        try:
            applier.flush()
        except Exception as exc:
            if _not_the_message(exc):
                raise
            raise _FlushFailedError(exc) from exc
        for (topic, partition), off in last.items():
            offsets.set_offset(tr, self.group, topic, partition, off)
        return _ChunkOutcome(
            consumed, outcomes, list(applier.started_deletions), tr.approximate_size, covered
        )


def _where(item: ParsedRecord) -> tuple[str, int, int]:
    return item.record.topic, item.record.partition, item.record.offset


def _not_the_message(exc: BaseException) -> bool:
    """Errors no message is to blame for, re-raised as they are.

    A transaction too large or too old (the batch is split or retried) and errors of the store itself
    (never dead-lettered, the batch is retried).
    """
    from matyan_store.engine.errors import StoreError

    if isinstance(exc, TransactionTooLarge | TransactionTooOld):
        return True
    return isinstance(exc, StoreError) and not isinstance(exc, LimitExceeded | KeyOutsideLegalRange)
