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

Moving a position back on purpose (an operator replaying a topic) is :func:`reset_offsets`, never
:func:`set_offset`.
"""

from __future__ import annotations

from matyan_store.engine.atomic import from_le, le_int
from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.keys import OFFSETS

__all__ = ["get_offset", "list_offsets", "reset_offsets", "set_offset"]

# Kafka offsets are signed 64-bit and never negative: they fit the unsigned operand of atomic max.
_MAX_OFFSET = 2**63 - 1


def _key(group: str, topic: str, partition: int) -> bytes:
    if not isinstance(partition, int) or isinstance(partition, bool) or partition < 0:
        raise ValueError(f"partition must be an int >= 0, got {partition!r}")
    return OFFSETS.pack((group, topic, partition))


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
        found[OFFSETS.unpack(key)[-1]] = from_le(value, signed=False)
    return found


def reset_offsets(tr: Transaction, group: str, topic: str, partition: int | None = None) -> None:
    """Forget the stored offsets of a topic (one partition, or all): an explicit, operator-only rewind."""
    if partition is None:
        tr.clear_range(*OFFSETS.range((group, topic)))
    else:
        tr.clear(_key(group, topic, partition))
