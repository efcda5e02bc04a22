"""What every entity kind shares: errors, the "leave unchanged" sentinel, and the key layout helpers.

Layout under the ``ENTITIES`` subspace (``kind`` is the entity's singular name, as in backups:
``"experiment"``, ``"tag"``, ``"dashboard"``, ``"dashboard_app"``, ``"report"``, ``"note"``):

- ``(kind, "r", id, part)``: the entity's fields (without ``id`` and ``run_count``) as one encoded dict,
  split into parts below the engine's value limit, so a long report or a big app state still fits;
- ``(kind, "n", name)`` -> id: the unique-name entry of experiments and tags;
- ``(kind, "c", id)``: the run count of experiments and tags, a little-endian signed 64-bit integer kept
  apart from the record so that attaching runs never rewrites (nor conflicts on) the entity itself;
- ``("note", "o", owner_kind, owner_id, note_id)``: notes by owner (see :mod:`.notes`);
- ``("project", "r", "", part)`` and ``("pinned_sequences", "r", "", part)``: the project settings.

Listing a kind is one range read in id order, which is the order the API promises (by id).
Functions take a transaction and never open one, so callers combine them with other writes atomically.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any, Final

from matyan_store.engine.atomic import from_le, le_int
from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.keys import ENTITIES, Subspace
from matyan_store.values import decode_value, encode_value

__all__ = [
    "MAX_ID_BYTES",
    "MAX_NAME_BYTES",
    "MAX_RECORD_BYTES",
    "UNSET",
    "EntityError",
    "EntityExists",
    "EntityNotFound",
    "InvalidEntity",
    "Unset",
]

# Ids and names go into keys, and FoundationDB caps keys at 10 kB; these bounds leave ample room.
MAX_ID_BYTES: Final = 512
MAX_NAME_BYTES: Final = 2_000
# A record is split into parts of this size: below FoundationDB's 100 kB value limit.
CHUNK_BYTES: Final = 90_000
# A whole record stays well inside one transaction (10 MB) even next to other writes.
MAX_RECORD_BYTES: Final = 2_000_000

_RECORD = "r"
_NAME = "n"
_COUNT = "c"


class Unset(enum.Enum):
    """Type of :data:`UNSET`, the default of update parameters meaning "leave this field as it is"."""

    UNSET = 0

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET


class EntityError(Exception):
    """Base class of the entity layer's errors (distinct from the engines' ``StoreError``)."""


class EntityExists(EntityError, ValueError):  # noqa: N818 (reads as a statement, like RunExists)
    """An entity with this unique name (or this id) already exists.

    ``str()`` is the message the API returns, e.g. ``Experiment with name 'x' already exists``.
    """

    def __init__(self, label: str, field: str, value: str) -> None:
        super().__init__(f"{label} with {field} '{value}' already exists")
        self.label = label
        self.field = field
        self.value = value


class EntityNotFound(EntityError, KeyError):  # noqa: N818 (reads as a statement, like RunNotFound)
    """No entity of this kind has this id."""

    def __init__(self, label: str, entity_id: str) -> None:
        super().__init__(label, entity_id)
        self.label = label
        self.entity_id = entity_id

    def __str__(self) -> str:
        # KeyError's own __str__ would show the repr of the args tuple.
        return f"{self.label} '{self.entity_id}' not found"


class InvalidEntity(EntityError, ValueError):  # noqa: N818 (reads as a statement)
    """A field value the store cannot keep: an empty or over-long name or id, a record too large, ..."""


def fits_key(text: str, limit: int) -> bool:
    """Whether ``text`` is short enough (in UTF-8 bytes) to sit in a key part bounded by ``limit``."""
    return len(text.encode("utf-8", "surrogatepass")) <= limit


def check_id(label: str, entity_id: str) -> str:
    """Validate an id given by a caller (restores pass the original ids): a non-empty, bounded str."""
    if not isinstance(entity_id, str) or not entity_id:
        raise InvalidEntity(f"{label} id must be a non-empty string, got {entity_id!r}")
    if not fits_key(entity_id, MAX_ID_BYTES):
        raise InvalidEntity(f"{label} id is longer than {MAX_ID_BYTES} bytes")
    return entity_id


def check_name(label: str, name: str) -> str:
    """Validate a unique name: a non-empty str short enough for a key (callers trim it first)."""
    if not isinstance(name, str) or not name:
        raise InvalidEntity(f"{label} name must be a non-empty string, got {name!r}")
    if not fits_key(name, MAX_NAME_BYTES):
        raise InvalidEntity(f"{label} name is longer than {MAX_NAME_BYTES} bytes")
    return name


def kind_space(kind: str) -> Subspace:
    """The subspace holding every key of entity ``kind``."""
    return ENTITIES[kind]


# -- records ------------------------------------------------------------------------------------------


def read_record(tr: ReadTransaction, kind: str, entity_id: str) -> dict[str, Any] | None:
    """The stored fields of one entity, or ``None`` (also for ids too long to have been stored)."""
    if not fits_key(entity_id, MAX_ID_BYTES):
        return None
    begin, end = kind_space(kind).range((_RECORD, entity_id))
    parts = [value for _, value in tr.get_range(begin, end)]
    if not parts:
        return None
    return _decode_record(b"".join(parts))


def write_record(tr: Transaction, kind: str, entity_id: str, fields: dict[str, Any], label: str) -> None:
    """Store ``fields`` as the entity's record, replacing any previous record (and its parts)."""
    data = _encode_entity(label, fields)
    if len(data) > MAX_RECORD_BYTES:
        raise InvalidEntity(f"{label} '{entity_id}' is {len(data)} bytes encoded, over {MAX_RECORD_BYTES}")
    _write_parts(tr, kind, entity_id, data)


def _encode_entity(label: str, value: Any) -> bytes:
    """``encode_value(value)``; a value the codec refuses (nested too deeply, say) is an invalid entity."""
    try:
        return encode_value(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidEntity(f"{label} cannot be stored: {exc}") from None


def _write_parts(tr: Transaction, kind: str, entity_id: str, data: bytes) -> None:
    space = kind_space(kind)
    # A shorter record than before must not leave stale trailing parts behind.
    tr.clear_range(*space.range((_RECORD, entity_id)))
    for index, start in enumerate(range(0, max(len(data), 1), CHUNK_BYTES)):
        tr.set(space.pack((_RECORD, entity_id, index)), data[start : start + CHUNK_BYTES])


def clear_record(tr: Transaction, kind: str, entity_id: str) -> None:
    """Remove the entity's record (nothing happens if there is none)."""
    tr.clear_range(*kind_space(kind).range((_RECORD, entity_id)))


def iter_records(tr: ReadTransaction, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every ``(id, fields)`` of ``kind`` in id order (one range read; parts are joined)."""
    space = kind_space(kind)
    begin, end = space.range((_RECORD,))
    current: str | None = None
    parts: list[bytes] = []
    for key, value in tr.get_range(begin, end):
        _, entity_id, _index = space.unpack(key)
        if entity_id != current:
            if current is not None:
                yield current, _decode_record(b"".join(parts))
            current, parts = entity_id, []
        parts.append(value)
    if current is not None:
        yield current, _decode_record(b"".join(parts))


def _decode_record(data: bytes) -> dict[str, Any]:
    fields = decode_value(data)
    if not isinstance(fields, dict):
        raise ValueError(f"corrupt entity record: expected a dict, got {type(fields).__name__}")
    return fields


# -- unique names -------------------------------------------------------------------------------------


def name_owner(tr: ReadTransaction, kind: str, name: str) -> str | None:
    """The id holding ``name`` among entities of ``kind``, or ``None``."""
    if not isinstance(name, str) or not name or not fits_key(name, MAX_NAME_BYTES):
        return None
    raw = tr.get(kind_space(kind).pack((_NAME, name)))
    if raw is None:
        return None
    owner = decode_value(raw)
    return owner if isinstance(owner, str) else None


def claim_name(tr: Transaction, kind: str, name: str, entity_id: str, label: str) -> None:
    """Make ``name`` point at ``entity_id``; :class:`EntityExists` if another entity holds it."""
    check_name(label, name)
    owner = name_owner(tr, kind, name)
    if owner is not None and owner != entity_id:
        raise EntityExists(label, "name", name)
    tr.set(kind_space(kind).pack((_NAME, name)), encode_value(entity_id))


def release_name(tr: Transaction, kind: str, name: str, entity_id: str) -> None:
    """Drop the name entry, but only if it points at ``entity_id`` (never another entity's entry)."""
    if name_owner(tr, kind, name) == entity_id:
        tr.clear(kind_space(kind).pack((_NAME, name)))


# -- run counters -------------------------------------------------------------------------------------


def read_count(tr: ReadTransaction, kind: str, entity_id: str) -> int:
    """The stored run count (0 when absent; never negative)."""
    return max(0, from_le(tr.get(kind_space(kind).pack((_COUNT, entity_id)))))


def read_counts(tr: ReadTransaction, kind: str) -> dict[str, int]:
    """Every stored run count of ``kind`` by id (one range read)."""
    space = kind_space(kind)
    begin, end = space.range((_COUNT,))
    return {space.unpack(key)[1]: max(0, from_le(value)) for key, value in tr.get_range(begin, end)}


def adjust_count(tr: Transaction, kind: str, entity_id: str, delta: int) -> None:
    """Add ``delta`` to the run count, never going below zero; a missing entity is left alone."""
    if delta == 0 or read_record(tr, kind, entity_id) is None:
        # No entity (deleted, or never created): writing a counter would leave an orphan key that a
        # later restore under the same id would inherit.
        return
    key = kind_space(kind).pack((_COUNT, entity_id))
    if delta > 0:
        # An atomic add reads nothing, so runs attached to one experiment concurrently never conflict.
        tr.add(key, le_int(delta))
        return
    # Decrements are rarer; reading lets us clamp at zero (a drifted count never goes negative).
    current = from_le(tr.get(key))
    tr.set(key, le_int(max(0, current + delta)))


def set_count(tr: Transaction, kind: str, entity_id: str, count: int) -> None:
    """Overwrite the run count (for reindexing, which recounts from the run links)."""
    if count < 0:
        raise ValueError(f"run count must be >= 0, got {count}")
    tr.set(kind_space(kind).pack((_COUNT, entity_id)), le_int(count))


def clear_count(tr: Transaction, kind: str, entity_id: str) -> None:
    """Remove the run count of a deleted entity."""
    tr.clear(kind_space(kind).pack((_COUNT, entity_id)))


# -- singletons (project settings) --------------------------------------------------------------------


def read_singleton(tr: ReadTransaction, kind: str) -> Any:
    """The value stored for a singleton ``kind`` (``None`` when absent)."""
    begin, end = kind_space(kind).range((_RECORD, ""))
    parts = [value for _, value in tr.get_range(begin, end)]
    return decode_value(b"".join(parts)) if parts else None


def write_singleton(tr: Transaction, kind: str, value: Any) -> None:
    """Replace the value of a singleton ``kind`` (stored in parts like a record)."""
    data = _encode_entity(kind, value)
    if len(data) > MAX_RECORD_BYTES:
        raise InvalidEntity(f"{kind} is {len(data)} bytes encoded, over {MAX_RECORD_BYTES}")
    _write_parts(tr, kind, "", data)
