"""Tags: uniquely named labels for runs, with a run count kept in step by the run layer.

The run↔tag links and the tag index live with the runs (:mod:`matyan_store.runs`), keyed by tag id, so
renaming a tag moves only its unique-name entry here and ``"<new name>" in run.tags`` still resolves.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass
from typing import Any

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.entities import common
from matyan_store.entities.common import UNSET, EntityExists, EntityNotFound, Unset

__all__ = [
    "Tag",
    "adjust_tag_run_count",
    "create_tag",
    "delete_tag",
    "get_tag",
    "get_tag_by_name",
    "list_tags",
    "set_tag_run_count",
    "update_tag",
]

KIND = "tag"
LABEL = "Tag"


@dataclass(frozen=True, slots=True)
class Tag:
    """One tag as the store knows it (``run_count`` counts the distinct runs carrying it)."""

    id: str
    name: str
    color: str = ""
    description: str = ""
    archived: bool = False
    run_count: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain dict, ``id`` included."""
        return dataclasses.asdict(self)


def _record(tag: Tag) -> dict[str, Any]:
    return {
        "name": tag.name,
        "color": tag.color,
        "description": tag.description,
        "archived": tag.archived,
        "created_at": tag.created_at,
        "updated_at": tag.updated_at,
    }


def _from_record(entity_id: str, fields: dict[str, Any], run_count: int) -> Tag:
    return Tag(
        id=entity_id,
        name=str(fields.get("name", "")),
        color=str(fields.get("color") or ""),
        description=str(fields.get("description") or ""),
        archived=bool(fields.get("archived", False)),
        run_count=run_count,
        created_at=float(fields.get("created_at") or 0.0),
        updated_at=float(fields.get("updated_at") or 0.0),
    )


def create_tag(
    tr: Transaction,
    name: str,
    color: str | None = "",
    description: str | None = "",
    *,
    tag_id: str | None = None,
    created_at: float | None = None,
    updated_at: float | None = None,
    archived: bool = False,
) -> Tag:
    """Create a tag named ``name`` (already trimmed by the caller); ``None`` color/description mean "".

    ``tag_id`` keeps a given id (restores need it); otherwise a new ``str(uuid4())``. Raises
    :class:`EntityExists` when the name or the given id is taken, :class:`InvalidEntity` for an empty or
    over-long name or id.
    """
    common.check_name(LABEL, name)
    entity_id = str(uuid.uuid4()) if tag_id is None else common.check_id(LABEL, tag_id)
    if common.read_record(tr, KIND, entity_id) is not None:
        raise EntityExists(LABEL, "id", entity_id)
    common.claim_name(tr, KIND, name, entity_id, LABEL)
    now = time.time()
    created = now if created_at is None else float(created_at)
    tag = Tag(
        id=entity_id,
        name=name,
        color=color or "",
        description=description or "",
        archived=bool(archived),
        created_at=created,
        updated_at=created if updated_at is None else float(updated_at),
    )
    common.write_record(tr, KIND, entity_id, _record(tag), LABEL)
    # A restore may reuse an id whose counter was left behind; a new tag starts at zero runs.
    common.clear_count(tr, KIND, entity_id)
    return tag


def get_tag(tr: ReadTransaction, tag_id: str) -> Tag | None:
    """The tag with this id, or ``None``."""
    fields = common.read_record(tr, KIND, tag_id)
    if fields is None:
        return None
    return _from_record(tag_id, fields, common.read_count(tr, KIND, tag_id))


def get_tag_by_name(tr: ReadTransaction, name: str) -> Tag | None:
    """The tag named exactly ``name``, or ``None``."""
    owner = common.name_owner(tr, KIND, name)
    return None if owner is None else get_tag(tr, owner)


def list_tags(tr: ReadTransaction) -> list[Tag]:
    """Every tag, ordered by id."""
    counts = common.read_counts(tr, KIND)
    return [_from_record(tid, fields, counts.get(tid, 0)) for tid, fields in common.iter_records(tr, KIND)]


def update_tag(
    tr: Transaction,
    tag_id: str,
    *,
    name: str | Unset | None = UNSET,
    color: str | Unset | None = UNSET,
    description: str | Unset | None = UNSET,
    archived: bool | Unset | None = UNSET,
) -> tuple[Tag, Tag]:
    """Change only the given fields (``UNSET`` or ``None`` leaves a field as it is); returns (old, new).

    A rename moves the unique-name entry (the tag index is keyed by id). Raises :class:`EntityNotFound`,
    :class:`EntityExists` on a name clash, :class:`InvalidEntity` for an empty name.
    """
    old = get_tag(tr, tag_id)
    if old is None:
        raise EntityNotFound(LABEL, tag_id)
    changes: dict[str, Any] = {"updated_at": time.time()}
    if isinstance(name, str) and name != old.name:
        common.claim_name(tr, KIND, name, tag_id, LABEL)
        common.release_name(tr, KIND, old.name, tag_id)
        changes["name"] = name
    if isinstance(color, str):
        changes["color"] = color
    if isinstance(description, str):
        changes["description"] = description
    if isinstance(archived, bool):
        changes["archived"] = archived
    new = dataclasses.replace(old, **changes)
    common.write_record(tr, KIND, tag_id, _record(new), LABEL)
    return old, new


def delete_tag(tr: Transaction, tag_id: str) -> Tag:
    """Remove the tag, its name entry and its run count; returns what was removed.

    Unlinking its runs and index entries belongs to the run layer, combined by the caller in the same
    transaction. Raises :class:`EntityNotFound`.
    """
    old = get_tag(tr, tag_id)
    if old is None:
        raise EntityNotFound(LABEL, tag_id)
    common.release_name(tr, KIND, old.name, tag_id)
    common.clear_record(tr, KIND, tag_id)
    common.clear_count(tr, KIND, tag_id)
    return old


def adjust_tag_run_count(tr: Transaction, tag_id: str, delta: int) -> None:
    """Add ``delta`` to the tag's run count, clamped at 0; nothing happens if the tag does not exist."""
    common.adjust_count(tr, KIND, tag_id, delta)


def set_tag_run_count(tr: Transaction, tag_id: str, count: int) -> None:
    """Overwrite the run count (reindexing recounts it from the run links); ignores a missing tag."""
    if common.read_record(tr, KIND, tag_id) is not None:
        common.set_count(tr, KIND, tag_id, count)
