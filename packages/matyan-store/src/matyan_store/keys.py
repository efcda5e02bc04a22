"""Key encoding: FoundationDB's tuple layer, our own ``Subspace`` helper and the top-level subspaces.

Tuples are encoded with ``fdb.tuple``. That module is pure Python: importing it loads neither
``libfdb_c`` nor ``fdb.impl`` and needs no ``fdb.api_version()`` call (``import fdb`` only defines
``api_version``; the C library is loaded by ``fdb.api_version`` itself, which only the FoundationDB engine
calls). So every process can encode keys, including machines without a FoundationDB client.

The encoding orders keys the way their tuples compare, type first: ``None`` < bytes < str < nested
tuple < int < float < bool, and by value within a type (ints of any size and sign, floats including
negatives). Range reads over a ``Subspace`` therefore come back in tuple order.

The top-level subspaces below are only prefixes; what lives under each is defined by the layers that
own them. The prefixes are one-element tuples of small ints (two bytes per key) rather than names,
because every stored key pays for them.
"""

from __future__ import annotations

from typing import Any

import fdb.tuple as fdb_tuple

__all__ = [
    "DEADLETTERS",
    "ENTITIES",
    "INDEXES",
    "LOCKS",
    "OFFSETS",
    "ROOT",
    "RUNS",
    "SEARCH_RECORDS",
    "SERIES",
    "SYSTEM",
    "TOMBSTONES",
    "Subspace",
    "pack",
    "prefix_range",
    "strinc",
    "unpack",
]

# Keys at or after this byte are FoundationDB system keys; the engines refuse them.
KEYSPACE_END = b"\xff"


def pack(items: tuple[Any, ...]) -> bytes:
    """Encode a tuple of ``None``, bytes, str, int, float, bool, UUID or nested tuples."""
    return bytes(fdb_tuple.pack(items))


def unpack(key: bytes) -> tuple[Any, ...]:
    """Decode bytes produced by :func:`pack`."""
    return tuple(fdb_tuple.unpack(key))


def strinc(prefix: bytes) -> bytes:
    """The first key after every key that starts with ``prefix`` (trailing ``0xff`` bytes dropped)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        raise ValueError(f"no key follows every key starting with {prefix!r}")
    return stripped[:-1] + bytes([stripped[-1] + 1])


def prefix_range(prefix: bytes) -> tuple[bytes, bytes]:
    """``(begin, end)`` covering exactly the keys that start with ``prefix``.

    The empty prefix covers the whole user keyspace, which ends before ``b"\\xff"``.
    """
    if not prefix:
        return b"", KEYSPACE_END
    return prefix, strinc(prefix)


class Subspace:
    """A key prefix, with tuple packing relative to it.

    ``Subspace(("runs",))`` holds the keys ``pack(("runs", ...))``; ``sub[("x",)]`` or ``sub.subspace(
    ("x",))`` nests deeper. ``raw_prefix`` puts raw bytes before the tuple part (e.g. a deployment prefix).
    """

    __slots__ = ("_key",)

    def __init__(self, prefix: tuple[Any, ...] = (), raw_prefix: bytes = b"") -> None:
        self._key = bytes(raw_prefix) + pack(prefix)

    @classmethod
    def from_key(cls, key: bytes) -> Subspace:
        """A subspace whose prefix is exactly ``key``."""
        return cls(raw_prefix=key)

    @property
    def key(self) -> bytes:
        """The raw prefix shared by every key of this subspace."""
        return self._key

    def pack(self, items: tuple[Any, ...] = ()) -> bytes:
        """The key of ``items`` inside this subspace."""
        return self._key + pack(items)

    def unpack(self, key: bytes) -> tuple[Any, ...]:
        """The tuple of a key of this subspace; ``ValueError`` if the key lies elsewhere."""
        if not self.contains(key):
            raise ValueError(f"key {key!r} is not in subspace {self._key!r}")
        return unpack(key[len(self._key) :])

    def contains(self, key: bytes) -> bool:
        """Whether ``key`` starts with this subspace's prefix."""
        return key.startswith(self._key)

    def range(self, items: tuple[Any, ...] = ()) -> tuple[bytes, bytes]:
        """``(begin, end)`` of the keys packed from tuples that *extend* ``items`` (not ``items`` itself).

        Every encoded element starts with a type code below ``0xff``, so ``p + 0x00 .. p + 0xff`` holds
        exactly the longer tuples.
        """
        p = self.pack(items)
        return p + b"\x00", p + b"\xff"

    def prefix_range(self) -> tuple[bytes, bytes]:
        """``(begin, end)`` of every key starting with this subspace's prefix (the prefix included)."""
        return prefix_range(self._key)

    def subspace(self, items: tuple[Any, ...]) -> Subspace:
        """The nested subspace for ``items``."""
        return Subspace.from_key(self.pack(items))

    def __getitem__(self, item: Any) -> Subspace:
        return self.subspace(item if isinstance(item, tuple) else (item,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Subspace) and other._key == self._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"Subspace({self._key!r})"


ROOT = Subspace()
RUNS = Subspace((1,))
SERIES = Subspace((2,))
ENTITIES = Subspace((3,))
INDEXES = Subspace((4,))
SYSTEM = Subspace((5,))
OFFSETS = Subspace((6,))
LOCKS = Subspace((7,))
DEADLETTERS = Subspace((8,))
TOMBSTONES = Subspace((9,))
SEARCH_RECORDS = Subspace((10,))
