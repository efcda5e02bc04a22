"""The CRUD every entity kind shares, so each kind's module keeps only its fields and its own rules.

:class:`RecordKind` stores one frozen dataclass per id (dashboards, dashboard apps, reports, notes);
:class:`NamedKind` adds the unique name and the run counter of experiments and tags. Both build on the
key layout of :mod:`.common` and, like it, take a transaction and never open one.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.entities import common
from matyan_store.entities.common import EntityExists, EntityNotFound, InvalidEntity, Unset

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    class _Stored(DataclassInstance, Protocol):
        @property
        def id(self) -> str: ...

    class _Named(_Stored, Protocol):
        @property
        def name(self) -> str: ...
        @property
        def archived(self) -> bool: ...
        @property
        def created_at(self) -> float: ...
        @property
        def updated_at(self) -> float: ...


__all__ = ["NamedKind", "RecordKind", "new_id", "timestamps"]


def new_id(tr: ReadTransaction, kind: str, label: str, given: str | None) -> str:
    """A fresh ``str(uuid4())``, or ``given`` once checked and free (:class:`EntityExists` if taken)."""
    if given is None:
        return str(uuid.uuid4())
    common.check_id(label, given)
    if common.read_record(tr, kind, given) is not None:
        raise EntityExists(label, "id", given)
    return given


def timestamps(created_at: float | None, updated_at: float | None) -> tuple[float, float]:
    """``(created_at, updated_at)`` of a new entity: now unless given (restores keep the originals)."""
    created = time.time() if created_at is None else float(created_at)
    return created, created if updated_at is None else float(updated_at)


class RecordKind[E: _Stored]:
    """Records of one ``kind``: ids, reads, whole-record writes and removal, with ``label`` in errors."""

    def __init__(
        self,
        kind: str,
        label: str,
        to_record: Callable[[E], dict[str, Any]],
        from_record: Callable[[str, dict[str, Any]], E],
    ) -> None:
        self.kind = kind
        self.label = label
        self._to_record = to_record
        self._from_record = from_record

    def require_str(self, field: str, value: Any) -> None:
        """Raise :class:`InvalidEntity` unless ``value`` (the field ``field``) is a str."""
        if not isinstance(value, str):
            raise InvalidEntity(f"{self.label} {field} must be a string, got {value!r}")

    def new_id(self, tr: ReadTransaction, given: str | None) -> str:
        """A fresh id, or ``given`` once checked and free (:class:`EntityExists` if taken)."""
        return new_id(tr, self.kind, self.label, given)

    def get(self, tr: ReadTransaction, entity_id: str) -> E | None:
        """The entity with this id, or ``None``."""
        fields = common.read_record(tr, self.kind, entity_id)
        return None if fields is None else self._from_record(entity_id, fields)

    def existing(self, tr: ReadTransaction, entity_id: str) -> E:
        """The entity with this id; :class:`EntityNotFound` if there is none."""
        found = self.get(tr, entity_id)
        if found is None:
            raise EntityNotFound(self.label, entity_id)
        return found

    def all(self, tr: ReadTransaction) -> list[E]:
        """Every entity of the kind, ordered by id."""
        return [self._from_record(i, f) for i, f in common.iter_records(tr, self.kind)]

    def write(self, tr: Transaction, entity: E) -> None:
        """Store ``entity`` whole, replacing its previous record."""
        common.write_record(tr, self.kind, entity.id, self._to_record(entity), self.label)

    def save_changes(self, tr: Transaction, old: E, changes: dict[str, Any]) -> E:
        """Write ``old`` with ``changes`` applied and ``updated_at`` set to now; returns the new entity."""
        new = dataclasses.replace(old, updated_at=time.time(), **changes)
        self.write(tr, new)
        return new

    def delete(self, tr: Transaction, entity_id: str) -> E:
        """Remove the record for good; returns what was removed. Raises :class:`EntityNotFound`."""
        old = self.existing(tr, entity_id)
        common.clear_record(tr, self.kind, entity_id)
        return old


class NamedKind[N: _Named]:
    """Entities with a unique name and a run count: the shared core of experiments and tags.

    ``make`` is the entity's dataclass; besides ``id``, ``name``, ``archived``, ``run_count`` and the two
    timestamps, it has the free-text fields named in ``texts`` (stored as ``""`` when empty).
    """

    def __init__(self, kind: str, label: str, make: Callable[..., N], texts: tuple[str, ...]) -> None:
        self.kind = kind
        self.label = label
        self._make = make
        self._texts = texts

    def _to_record(self, entity: N) -> dict[str, Any]:
        return {
            "name": entity.name,
            **{text: getattr(entity, text) for text in self._texts},
            "archived": entity.archived,
            "created_at": entity.created_at,
            "updated_at": entity.updated_at,
        }

    def _from_record(self, entity_id: str, fields: dict[str, Any], run_count: int) -> N:
        return self._make(
            id=entity_id,
            name=str(fields.get("name", "")),
            **{text: str(fields.get(text) or "") for text in self._texts},
            archived=bool(fields.get("archived", False)),
            run_count=run_count,
            created_at=float(fields.get("created_at") or 0.0),
            updated_at=float(fields.get("updated_at") or 0.0),
        )

    def create(
        self,
        tr: Transaction,
        name: str,
        given_id: str | None,
        *,
        created_at: float | None,
        updated_at: float | None,
        archived: bool,
        **texts: str | None,
    ) -> N:
        """Create an entity under a free unique name (see the kind's ``create_*`` for the errors)."""
        common.check_name(self.label, name)
        entity_id = new_id(tr, self.kind, self.label, given_id)
        common.claim_name(tr, self.kind, name, entity_id, self.label)
        created, updated = timestamps(created_at, updated_at)
        entity = self._make(
            id=entity_id,
            name=name,
            **{text: value or "" for text, value in texts.items()},
            archived=bool(archived),
            created_at=created,
            updated_at=updated,
        )
        common.write_record(tr, self.kind, entity_id, self._to_record(entity), self.label)
        # A restore may reuse an id whose counter was left behind; a new entity starts at zero runs.
        common.clear_count(tr, self.kind, entity_id)
        return entity

    def get(self, tr: ReadTransaction, entity_id: str) -> N | None:
        """The entity with this id and its run count, or ``None``."""
        fields = common.read_record(tr, self.kind, entity_id)
        if fields is None:
            return None
        return self._from_record(entity_id, fields, common.read_count(tr, self.kind, entity_id))

    def get_by_name(self, tr: ReadTransaction, name: str) -> N | None:
        """The entity named exactly ``name``, or ``None``."""
        owner = common.name_owner(tr, self.kind, name)
        return None if owner is None else self.get(tr, owner)

    def all(self, tr: ReadTransaction) -> list[N]:
        """Every entity, ordered by id (two range reads: the records and the counts)."""
        counts = common.read_counts(tr, self.kind)
        return [self._from_record(i, f, counts.get(i, 0)) for i, f in common.iter_records(tr, self.kind)]

    def update(
        self,
        tr: Transaction,
        entity_id: str,
        *,
        name: str | Unset | None,
        archived: bool | Unset | None,
        **texts: str | Unset | None,
    ) -> tuple[N, N]:
        """Change only the fields given as str/bool, moving the unique name on a rename; (old, new)."""
        old = self.get(tr, entity_id)
        if old is None:
            raise EntityNotFound(self.label, entity_id)
        changes: dict[str, Any] = {"updated_at": time.time()}
        if isinstance(name, str) and name != old.name:
            common.claim_name(tr, self.kind, name, entity_id, self.label)
            common.release_name(tr, self.kind, old.name, entity_id)
            changes["name"] = name
        changes.update((text, value) for text, value in texts.items() if isinstance(value, str))
        if isinstance(archived, bool):
            changes["archived"] = archived
        new = dataclasses.replace(old, **changes)
        common.write_record(tr, self.kind, entity_id, self._to_record(new), self.label)
        return old, new

    def delete(self, tr: Transaction, entity_id: str) -> N:
        """Remove the entity, its name entry and its run count; returns what was removed."""
        old = self.get(tr, entity_id)
        if old is None:
            raise EntityNotFound(self.label, entity_id)
        common.release_name(tr, self.kind, old.name, entity_id)
        common.clear_record(tr, self.kind, entity_id)
        common.clear_count(tr, self.kind, entity_id)
        return old

    def adjust_run_count(self, tr: Transaction, entity_id: str, delta: int) -> None:
        """Add ``delta`` to the run count, clamped at 0; nothing happens if the entity does not exist."""
        common.adjust_count(tr, self.kind, entity_id, delta)

    def set_run_count(self, tr: Transaction, entity_id: str, count: int) -> None:
        """Overwrite the run count (reindexing recounts it); a missing entity is ignored."""
        if common.read_record(tr, self.kind, entity_id) is not None:
            common.set_count(tr, self.kind, entity_id, count)
