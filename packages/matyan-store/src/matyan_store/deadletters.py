"""Dead letters: Kafka messages that could not be parsed or applied, kept for inspection and replay.

A failed message is never dropped silently: the consumer counts and logs it, and stores it here (in the
same transaction that records its offset as consumed, so it is kept exactly once).

Layout under ``DEADLETTERS``:

- ``("r", at_us, topic, partition, offset)``: one record per message, in order of failure time
  (microseconds), then topic, partition and offset. The key is derived from the message and the time
  the caller passes, so a transaction retried with the same arguments rewrites the same record rather
  than adding a second one. The id handed out is the hex of that key's tail: opaque, and sorted like
  the records.
- ``("count",)``: the number of records, maintained on add and remove so counting reads one key.
- ``("replay", topic, partition, id)``: an operator asked for the letter to be applied again. The ingest
  worker consuming that partition applies it through its normal path and removes the letter (and this
  marker) in the same transaction, so a replay takes effect exactly once (``matyan-backend
  dead-letters replay``; see ``docs/runbook.md``).

Each record fits one engine value (100 kB). When the raw message does not, its key is cut to
:data:`MAX_KEY_BYTES`, the reason to :data:`MAX_REASON_CHARS` and the value to what remains;
``truncated`` is then true and ``key_size`` / ``value_size`` keep the original lengths.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Final

from matyan_store.engine.atomic import from_le, le_int
from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.engine.limits import EngineLimits
from matyan_store.keys import DEADLETTERS, pack, unpack
from matyan_store.values import decode_value, encode_value

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_REASON_CHARS",
    "DeadLetter",
    "add_dead_letter",
    "count_dead_letters",
    "get_dead_letter",
    "list_dead_letters",
    "remove_dead_letter",
    "replay_requested",
    "request_replay",
]

MAX_KEY_BYTES: Final = 1_024
MAX_REASON_CHARS: Final = 8_000
_MAX_ERROR_TYPE_CHARS: Final = 200
# The whole record must fit one value of every engine (FoundationDB's limit, enforced by LMDB too).
_VALUE_LIMIT: Final = EngineLimits().max_value_bytes
# Room for the longer length prefix of the value field once it is filled in.
_SLACK: Final = 16

_RECORDS = "r"
_REPLAY = "replay"
_COUNT = DEADLETTERS.pack(("count",))


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead-lettered message; ``truncated`` says whether ``key``/``value``/``reason`` were cut."""

    id: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    reason: str
    error_type: str
    at: float
    truncated: bool = False
    key_size: int = 0
    value_size: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain dict (``key`` and ``value`` stay bytes)."""
        return dataclasses.asdict(self)


def _tail(at: float, topic: str, partition: int, offset: int) -> tuple[Any, ...]:
    return (round(at * 1_000_000), topic, partition, offset)


def _record_key(tail: tuple[Any, ...]) -> bytes:
    return DEADLETTERS.pack((_RECORDS, *tail))


def _key_of_id(dead_letter_id: str) -> bytes | None:
    """The record key of an id, or ``None`` for a string that no dead letter could have as id."""
    try:
        tail = unpack(bytes.fromhex(dead_letter_id))
    except Exception:  # fromhex and fdb.tuple raise assorted errors on garbage; all mean "no such id"
        return None
    shapes = (int, str, int, int)
    if len(tail) != len(shapes) or not all(type(v) is t for v, t in zip(tail, shapes, strict=True)):
        return None
    return _record_key(tail)


def _id_of_key(key: bytes) -> str:
    return pack(DEADLETTERS.unpack(key)[1:]).hex()


def add_dead_letter(
    tr: Transaction,
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes,
    reason: str,
    error_type: str,
    at: float,
) -> str:
    """Store a failed message and return its id (sizes are cut to fit one value; see the module doc)."""
    if not math.isfinite(at):
        raise ValueError(f"at must be a finite unix time, got {at!r}")
    raw_key = None if key is None else bytes(key)
    raw_value = bytes(value)
    short_reason = reason[:MAX_REASON_CHARS]
    record: dict[str, Any] = {
        "topic": topic,
        "partition": int(partition),
        "offset": int(offset),
        "key": None if raw_key is None else raw_key[:MAX_KEY_BYTES],
        "value": b"",
        "reason": short_reason,
        "error_type": error_type[:_MAX_ERROR_TYPE_CHARS],
        "at": float(at),
        "truncated": False,
        "key_size": 0 if raw_key is None else len(raw_key),
        "value_size": len(raw_value),
    }
    budget = _VALUE_LIMIT - len(encode_value(record)) - _SLACK
    truncated = (
        len(raw_value) > budget
        or (raw_key is not None and len(raw_key) > MAX_KEY_BYTES)
        or len(short_reason) < len(reason)
    )
    record["value"] = raw_value[: max(budget, 0)]
    record["truncated"] = truncated
    tail = _tail(at, topic, int(partition), int(offset))
    rkey = _record_key(tail)
    if tr.get(rkey) is None:
        tr.add(_COUNT, le_int(1))
    tr.set(rkey, encode_value(record))
    return pack(tail).hex()


def _from_record(dead_letter_id: str, f: dict[str, Any]) -> DeadLetter:
    key = f.get("key")
    return DeadLetter(
        id=dead_letter_id,
        topic=str(f.get("topic", "")),
        partition=int(f.get("partition", 0)),
        offset=int(f.get("offset", 0)),
        key=bytes(key) if isinstance(key, bytes | bytearray) else None,
        value=bytes(f.get("value") or b""),
        reason=str(f.get("reason", "")),
        error_type=str(f.get("error_type", "")),
        at=float(f.get("at", 0.0)),
        truncated=bool(f.get("truncated", False)),
        key_size=int(f.get("key_size", 0)),
        value_size=int(f.get("value_size", 0)),
    )


def get_dead_letter(tr: ReadTransaction, dead_letter_id: str) -> DeadLetter | None:
    """The dead letter with this id, or ``None`` (also for a malformed id)."""
    rkey = _key_of_id(dead_letter_id)
    raw = None if rkey is None else tr.get(rkey)
    return None if raw is None else _from_record(dead_letter_id, decode_value(raw))


def list_dead_letters(tr: ReadTransaction, limit: int = 100, after: str | None = None) -> list[DeadLetter]:
    """Up to ``limit`` dead letters (0: all), oldest first, starting after the id ``after`` (paging)."""
    begin, end = DEADLETTERS.range((_RECORDS,))
    if after is not None:
        after_key = _key_of_id(after)
        if after_key is None:
            raise ValueError(f"not a dead letter id: {after!r}")
        begin = after_key + b"\x00"
    return [
        _from_record(_id_of_key(key), decode_value(raw)) for key, raw in tr.get_range(begin, end, limit=limit)
    ]


def _replay_key(dead_letter_id: str) -> bytes | None:
    rkey = _key_of_id(dead_letter_id)
    if rkey is None:
        return None
    _, topic, partition, _ = DEADLETTERS.unpack(rkey)[1:]
    return DEADLETTERS.pack((_REPLAY, topic, partition, dead_letter_id))


def request_replay(tr: Transaction, dead_letter_id: str) -> bool:
    """Ask the ingest worker to apply the letter again; returns whether the letter exists."""
    rkey, marker = _key_of_id(dead_letter_id), _replay_key(dead_letter_id)
    if rkey is None or marker is None or tr.get(rkey) is None:
        return False
    tr.set(marker, b"")
    return True


def replay_requested(tr: ReadTransaction, topic: str, partition: int, limit: int = 100) -> list[DeadLetter]:
    """The letters of one partition waiting to be replayed, oldest first (at most ``limit``; 0: all)."""
    begin, end = DEADLETTERS.range((_REPLAY, topic, int(partition)))
    out: list[DeadLetter] = []
    for key, _ in tr.get_range(begin, end, limit=limit):
        letter = get_dead_letter(tr, DEADLETTERS.unpack(key)[-1])
        if letter is not None:
            out.append(letter)
    return out


def remove_dead_letter(tr: Transaction, dead_letter_id: str) -> bool:
    """Delete a dead letter (after a replay, or once inspected); returns whether it existed."""
    rkey = _key_of_id(dead_letter_id)
    if rkey is None or tr.get(rkey) is None:
        return False
    tr.clear(rkey)
    marker = _replay_key(dead_letter_id)
    if marker is not None:
        tr.clear(marker)
    # Read-then-set keeps the count from going below zero even if it ever drifted.
    tr.set(_COUNT, le_int(max(0, from_le(tr.get(_COUNT)) - 1)))
    return True


def count_dead_letters(tr: ReadTransaction) -> int:
    """How many dead letters are stored (one key read)."""
    return max(0, from_le(tr.get(_COUNT)))
