"""Tags: uniquely named labels for runs, with a run count kept in step by the run layer.

The run↔tag links and the tag index live with the runs (:mod:`matyan_store.runs`), keyed by tag id, so
renaming a tag moves only its unique-name entry here and ``"<new name>" in run.tags`` still resolves.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.entities.common import UNSET, Unset
from matyan_store.entities.kinds import NamedKind

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


_KIND: NamedKind[Tag] = NamedKind(KIND, LABEL, Tag, texts=("color", "description"))


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
    return _KIND.create(
        tr,
        name,
        tag_id,
        created_at=created_at,
        updated_at=updated_at,
        archived=archived,
        color=color,
        description=description,
    )


def get_tag(tr: ReadTransaction, tag_id: str) -> Tag | None:
    """The tag with this id, or ``None``."""
    return _KIND.get(tr, tag_id)


def get_tag_by_name(tr: ReadTransaction, name: str) -> Tag | None:
    """The tag named exactly ``name``, or ``None``."""
    return _KIND.get_by_name(tr, name)


def list_tags(tr: ReadTransaction) -> list[Tag]:
    """Every tag, ordered by id."""
    return _KIND.all(tr)


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
    return _KIND.update(tr, tag_id, name=name, archived=archived, color=color, description=description)


def delete_tag(tr: Transaction, tag_id: str) -> Tag:
    """Remove the tag, its name entry and its run count; returns what was removed.

    Unlinking its runs and index entries belongs to the run layer, combined by the caller in the same
    transaction. Raises :class:`EntityNotFound`.
    """
    return _KIND.delete(tr, tag_id)


def adjust_tag_run_count(tr: Transaction, tag_id: str, delta: int) -> None:
    """Add ``delta`` to the tag's run count, clamped at 0; nothing happens if the tag does not exist."""
    _KIND.adjust_run_count(tr, tag_id, delta)


def set_tag_run_count(tr: Transaction, tag_id: str, count: int) -> None:
    """Overwrite the run count (reindexing recounts it from the run links); ignores a missing tag."""
    _KIND.set_run_count(tr, tag_id, count)
