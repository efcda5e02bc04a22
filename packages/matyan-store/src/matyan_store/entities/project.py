"""Project settings (name, description, ...) and the pinned sequences of the UI."""

from __future__ import annotations

from typing import Any

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.entities import common
from matyan_store.entities.common import InvalidEntity

__all__ = [
    "DEFAULT_PROJECT_NAME",
    "get_pinned_sequences",
    "get_project",
    "set_pinned_sequences",
    "set_project",
]

DEFAULT_PROJECT_NAME = "My project"
_PROJECT = "project"
_PINNED = "pinned_sequences"


def _stored(tr: ReadTransaction) -> dict[str, Any]:
    value = common.read_singleton(tr, _PROJECT)
    return value if isinstance(value, dict) else {}


def get_project(tr: ReadTransaction) -> dict[str, Any]:
    """The project info: stored fields over the defaults.

    Always has ``name`` (``"My project"`` unless set to something non-empty), ``path`` (``""``),
    ``description`` (``""``) and ``telemetry_enabled`` (0); other stored fields come along.
    """
    stored = _stored(tr)
    info: dict[str, Any] = {
        "name": DEFAULT_PROJECT_NAME,
        "path": "",
        "description": "",
        "telemetry_enabled": 0,
    }
    info.update(stored)
    # An empty stored name or description falls back to the default, as in the reference.
    info["name"] = stored.get("name") or DEFAULT_PROJECT_NAME
    info["description"] = stored.get("description") or ""
    return info


def set_project(tr: Transaction, **fields: Any) -> dict[str, Any]:
    """Store the given fields (``None`` removes one, restoring its default); returns :func:`get_project`."""
    stored = _stored(tr)
    for name, value in fields.items():
        if value is None:
            stored.pop(name, None)
        else:
            stored[name] = value
    common.write_singleton(tr, _PROJECT, stored)
    return get_project(tr)


def get_pinned_sequences(tr: ReadTransaction) -> list[Any]:
    """The pinned sequences as last saved (``[]`` when never saved)."""
    value = common.read_singleton(tr, _PINNED)
    return value if isinstance(value, list) else []


def set_pinned_sequences(tr: Transaction, sequences: list[Any]) -> list[Any]:
    """Replace the pinned sequences wholesale; returns what was saved."""
    if not isinstance(sequences, list | tuple):
        raise InvalidEntity(f"pinned sequences must be a list, got {type(sequences).__name__}")
    saved = list(sequences)
    common.write_singleton(tr, _PINNED, saved)
    return saved
