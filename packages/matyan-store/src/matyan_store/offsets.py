"""Consumed Kafka offsets per (consumer group, topic, partition), stored with the data they produced.

The ingest worker writes :func:`set_offset` in the same transaction as the effects of the messages up to
that offset, and on assignment, restart or retry it reads :func:`get_offset` (in the transaction that
would apply the next messages) and skips every message at or below it. So a crash, a redelivery, a
rebalance or a commit whose result is unknown never applies a message twice nor loses one.

The stored value is the offset of the **last applied** message (Kafka's committed position is that plus
one). It is kept as an unsigned 64-bit little-endian integer and written with the engine's atomic
``max``:

* it never moves backwards. A worker that lost its partition in a rebalance but still commits an older
  batch (a zombie), or a retry that replays an older batch, would otherwise lower the position, and the
  messages between the two offsets would look unapplied and be applied again by the new owner;
* ``max`` reads nothing, so the write itself adds no read conflict; the worker's own :func:`get_offset`
  read is what orders it against another worker on the same partition.

Moving a position back on purpose (an operator replaying a topic, or recovering from a log that went
back below it) is :func:`reset_offsets`, never :func:`set_offset`.

A **halt** (:func:`halt_partition`) records that a worker found a partition's log below the stored
offset (topic recreated, log truncated, broker storage lost): applying from there would skip the new
records at or below the stored offset without a trace, so every worker leaves the partition alone until
an operator moves the offset with :func:`reset_offsets`, which also lifts the halt. See
docs/runbook.md, Offset resets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from matyan_store.engine.atomic import from_le, le_int
from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.keys import OFFSETS

__all__ = [
    "PartitionHalt",
    "get_halt",
    "get_offset",
    "halt_partition",
    "list_halts",
    "list_offsets",
    "reset_offsets",
    "set_offset",
]

# Kafka offsets are signed 64-bit and never negative: they fit the unsigned operand of atomic max.
_MAX_OFFSET = 2**63 - 1


def _key(group: str, topic: str, partition: int) -> bytes:
    if not isinstance(partition, int) or isinstance(partition, bool) or partition < 0:
        raise ValueError(f"partition must be an int >= 0, got {partition!r}")
    return OFFSETS.pack((group, topic, partition))


# A halt sits under its partition's offset key, so one clear of the partition's range lifts both.
_HALT = "halt"


@dataclass(frozen=True, slots=True)
class PartitionHalt:
    """Why a partition is not consumed: the stored offset and the log offset found below it."""

    applied: int
    """The stored offset (last applied) when the reset was found."""
    log_offset: int
    """The log offset that showed the reset (the log's end, or a record at or below ``applied``)."""
    reason: str
    at: float


def get_offset(tr: ReadTransaction, group: str, topic: str, partition: int) -> int | None:
    """The offset of the last message applied for this partition, or ``None`` if none was."""
    raw = tr.get(_key(group, topic, partition))
    return None if raw is None else from_le(raw, signed=False)


def set_offset(tr: Transaction, group: str, topic: str, partition: int, offset: int) -> None:
    """Record that every message up to ``offset`` is applied; a lower offset than stored changes nothing."""
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= _MAX_OFFSET:
        raise ValueError(f"offset must be an int in [0, 2**63), got {offset!r}")
    tr.max(_key(group, topic, partition), le_int(offset))


def list_offsets(tr: ReadTransaction, group: str, topic: str) -> dict[int, int]:
    """``{partition: last applied offset}`` of every partition with a stored offset."""
    begin, end = OFFSETS.range((group, topic))
    found: dict[int, int] = {}
    for key, value in tr.get_range(begin, end):
        parts = OFFSETS.unpack(key)
        if len(parts) == 3:
            found[parts[2]] = from_le(value, signed=False)
    return found


def reset_offsets(
    tr: Transaction, group: str, topic: str, partition: int | None = None, *, next_offset: int = 0
) -> None:
    """Move the stored offsets back on purpose (operator only) and lift the partitions' halts.

    ``next_offset`` is the first offset to apply from now on (0: forget the position, apply the whole
    log); any other value needs ``partition``.
    """
    if (
        not isinstance(next_offset, int)
        or isinstance(next_offset, bool)
        or not 0 <= next_offset <= _MAX_OFFSET
    ):
        raise ValueError(f"next_offset must be an int in [0, 2**63), got {next_offset!r}")
    if next_offset and partition is None:
        raise ValueError("next_offset needs a partition")
    if partition is None:
        tr.clear_range(*OFFSETS.range((group, topic)))
        return
    key = _key(group, topic, partition)
    tr.clear(key)
    tr.clear_range(*OFFSETS.range((group, topic, partition)))
    if next_offset:
        tr.set(key, le_int(next_offset - 1))


def halt_partition(
    tr: Transaction,
    group: str,
    topic: str,
    partition: int,
    *,
    applied: int,
    log_offset: int,
    reason: str,
    at: float,
) -> None:
    """Record that the partition's log went back below its stored offset: workers stop consuming it."""
    value = {"applied": applied, "log_offset": log_offset, "reason": reason, "at": at}
    tr.set(OFFSETS.pack((group, topic, partition, _HALT)), json.dumps(value).encode())


def _halt(raw: bytes) -> PartitionHalt:
    doc = json.loads(raw)
    return PartitionHalt(int(doc["applied"]), int(doc["log_offset"]), str(doc["reason"]), float(doc["at"]))


def get_halt(tr: ReadTransaction, group: str, topic: str, partition: int) -> PartitionHalt | None:
    """The partition's halt, or ``None`` when workers may consume it."""
    _key(group, topic, partition)  # validates the partition
    raw = tr.get(OFFSETS.pack((group, topic, partition, _HALT)))
    return None if raw is None else _halt(raw)


def list_halts(tr: ReadTransaction, group: str, topic: str) -> dict[int, PartitionHalt]:
    """``{partition: halt}`` of every halted partition of the topic."""
    found: dict[int, PartitionHalt] = {}
    for key, value in tr.get_range(*OFFSETS.range((group, topic))):
        parts = OFFSETS.unpack(key)
        if len(parts) == 4 and parts[3] == _HALT:
            found[parts[2]] = _halt(value)
    return found
