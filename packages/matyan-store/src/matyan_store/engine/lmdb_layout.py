"""How user keys of up to 10,000 bytes are laid out in LMDB, whose keys stop at 511 bytes.

A key is cut into segments of ``SEGMENT`` bytes. Each segment is an entry in a *namespace*: the root
namespace holds first segments, and an entry whose segment is a full ``SEGMENT`` long may point to a
child namespace holding the next segments of every longer key sharing that prefix (a trie with wide
nodes). An LMDB key is the namespace prefix plus the segment:

* ``0x00 + segment``: root namespace (almost every key: those shorter than ``SEGMENT`` live only here);
* ``0x01 + id (8 bytes, big-endian) + segment``: child namespace ``id``;
* ``0x02 + name``: engine metadata (format version, next namespace id).

An entry's LMDB value is a flags byte (has value, has child), the 8-byte child id if any, then the user
value. Byte order is preserved: entries of one namespace sort by segment, and a segment shorter than
``SEGMENT`` cannot have a child, so visiting entries in order (an entry's own value before its child
namespace) yields keys in byte order; the reverse walk mirrors it.

These functions run inside one LMDB write or read transaction (``txn``) and take no locks.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

SEGMENT = 480
ROOT_NS = b"\x00"
_CHILD_TAG = b"\x01"
META_PREFIX = b"\x02"
META_FORMAT = META_PREFIX + b"format"
META_NEXT_NS = META_PREFIX + b"next-namespace"
FORMAT_VERSION = b"1"

_HAS_VALUE = 1
_HAS_CHILD = 2

Entry = tuple[bytes | None, bytes | None]  # (value, child namespace)
_Rows = Generator[tuple[bytes, bytes]]


def _decode(raw: bytes) -> Entry:
    flags = raw[0]
    pos = 1
    child = None
    if flags & _HAS_CHILD:
        child = raw[1:9]
        pos = 9
    value = raw[pos:] if flags & _HAS_VALUE else None
    return value, child


def _encode(value: bytes | None, child: bytes | None) -> bytes:
    flags = (_HAS_VALUE if value is not None else 0) | (_HAS_CHILD if child is not None else 0)
    return bytes([flags]) + (child or b"") + (value or b"")


def _ns(child: bytes) -> bytes:
    return _CHILD_TAG + child


def _ns_end(ns: bytes) -> bytes:
    # Namespaces are 0x00 or 0x01+id; the next prefix is found by incrementing the last non-0xff byte.
    stripped = ns.rstrip(b"\xff")
    return stripped[:-1] + bytes([stripped[-1] + 1])


def _new_child(txn: Any) -> bytes:
    raw = txn.get(META_NEXT_NS)
    number = int.from_bytes(raw, "big") if raw else 1
    txn.put(META_NEXT_NS, (number + 1).to_bytes(8, "big"))
    return number.to_bytes(8, "big")


def get(txn: Any, key: bytes) -> bytes | None:
    """The value stored at ``key``, or ``None``."""
    ns, rest = ROOT_NS, key
    while True:
        raw = txn.get(ns + rest[:SEGMENT])
        if raw is None:
            return None
        value, child = _decode(raw)
        if len(rest) <= SEGMENT:
            return value
        if child is None:
            return None
        ns, rest = _ns(child), rest[SEGMENT:]


def put(txn: Any, key: bytes, value: bytes) -> None:
    """Store ``value`` at ``key``, creating child namespaces as the key needs."""
    ns, rest = ROOT_NS, key
    while len(rest) > SEGMENT:
        local = ns + rest[:SEGMENT]
        raw = txn.get(local)
        old_value, child = _decode(raw) if raw is not None else (None, None)
        if child is None:
            child = _new_child(txn)
            txn.put(local, _encode(old_value, child))
        ns, rest = _ns(child), rest[SEGMENT:]
    local = ns + rest
    raw = txn.get(local)
    child = _decode(raw)[1] if raw is not None else None
    txn.put(local, _encode(value, child))


def delete(txn: Any, key: bytes) -> None:
    """Remove ``key`` and any namespace left empty by it."""
    path: list[tuple[bytes, bytes | None]] = []  # (LMDB key of entry, its child), root first
    ns, rest = ROOT_NS, key
    while True:
        local = ns + rest[:SEGMENT]
        raw = txn.get(local)
        if raw is None:
            return
        value, child = _decode(raw)
        if len(rest) <= SEGMENT:
            if value is None:
                return
            if child is not None:
                txn.put(local, _encode(None, child))
                return
            txn.delete(local)
            break
        if child is None:
            return
        path.append((local, child))
        ns, rest = _ns(child), rest[SEGMENT:]
    # Walk back up, unlinking namespaces that became empty.
    while path:
        local, child = path.pop()
        assert child is not None
        if _namespace_has_entries(txn, _ns(child)):
            return
        raw = txn.get(local)
        assert raw is not None
        value, _ = _decode(raw)
        if value is not None:
            txn.put(local, _encode(value, None))
            return
        txn.delete(local)


def _namespace_has_entries(txn: Any, ns: bytes) -> bool:
    with txn.cursor() as cur:
        return bool(cur.set_range(ns)) and bytes(cur.key()).startswith(ns)


def iter_forward(txn: Any, begin: bytes, end: bytes) -> _Rows:
    """Pairs with ``begin <= key < end`` in ascending order."""
    return _forward(txn, ROOT_NS, b"", begin, end)


def _forward(txn: Any, ns: bytes, prefix: bytes, low: bytes | None, end: bytes) -> _Rows:
    # ``low`` is what remains of ``begin`` below this namespace (None: no lower bound here).
    with txn.cursor() as cur:
        if not cur.set_range(ns + (low[:SEGMENT] if low is not None else b"")):
            return
        for local, raw in cur.iternext():
            if not local.startswith(ns):
                return
            segment = local[len(ns) :]
            key = prefix + segment
            if key >= end:
                return  # every key of this entry's subtree starts with ``key``, so is >= end too
            value, child = _decode(raw)
            if low is not None and segment == low[:SEGMENT] and len(low) > SEGMENT:
                # begin extends this entry: its own value sorts before begin, part of its subtree after.
                if child is not None:
                    yield from _forward(txn, _ns(child), key, low[SEGMENT:], end)
            else:
                if value is not None:
                    yield key, value
                if child is not None:
                    yield from _forward(txn, _ns(child), key, None, end)
            low = None


def iter_reverse(txn: Any, begin: bytes, end: bytes) -> _Rows:
    """Pairs with ``begin <= key < end`` in descending order."""
    return _reverse(txn, ROOT_NS, b"", end, begin)


def _reverse(txn: Any, ns: bytes, prefix: bytes, high: bytes | None, begin: bytes) -> _Rows:
    # ``high`` is what remains of the exclusive ``end`` below this namespace (None: no upper bound).
    with txn.cursor() as cur:
        target = ns + high[:SEGMENT] if high is not None else _ns_end(ns)
        if cur.set_range(target):
            # Start at the last entry <= target: an entry equal to target may hold keys below ``end``.
            if (high is None or bytes(cur.key()) != target) and not cur.prev():
                return
        elif not cur.last():
            return
        for local, raw in cur.iterprev():
            if not local.startswith(ns):
                return
            segment = local[len(ns) :]
            key = prefix + segment
            value, child = _decode(raw)
            if high is not None and segment == high[:SEGMENT]:
                # Equal to end: excluded with its subtree. end extends it: the value and part of the
                # subtree sort before end.
                if len(high) > SEGMENT:
                    if child is not None:
                        yield from _reverse(txn, _ns(child), key, high[SEGMENT:], begin)
                    if value is not None and key >= begin:
                        yield key, value
            else:
                if child is not None:
                    yield from _reverse(txn, _ns(child), key, None, begin)
                if value is not None and key >= begin:
                    yield key, value
            high = None
            if key <= begin:
                return  # earlier entries and their subtrees sort before ``key``
