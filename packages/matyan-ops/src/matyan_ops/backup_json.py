"""JSON of backup format v1: bytes as hex strings, plus the paths that say which strings were bytes.

Format v1 writes bytes as hex strings (the reference's choice), which alone is lossy. Our backups also
record where bytes were (``value_bytes`` on a sequence line, ``attrs_bytes`` in ``extras.json``), so a
restore of our own backup gives back bytes exactly; readers of v1 ignore the extra keys. For the
reference's backups, which carry no such paths, the one known bytes field is recovered: the ``data`` of
a distribution object (docs/runbook.md, Backups).
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Any

Path = list[str | int]


def to_jsonable(value: Any) -> tuple[Any, list[Path]]:
    """``value`` with bytes as hex strings and tuples as lists, and the paths of the bytes found."""
    found: list[Path] = []
    return _convert(value, [], found), found


def _convert(value: Any, path: Path, found: list[Path]) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        found.append(list(path))
        return bytes(value).hex()
    if isinstance(value, dict):
        return {k: _convert(v, [*path, k], found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_convert(v, [*path, i], found) for i, v in enumerate(value)]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def restore_bytes(value: Any, paths: list[Path]) -> Any:
    """Turn the hex strings at ``paths`` back into bytes (in place where possible); returns the value."""
    for path in paths:
        if not path:
            value = _unhex(value)
            continue
        parent = value
        try:
            for part in path[:-1]:
                parent = parent[part]
            last = path[-1]
            parent[last] = _unhex(parent[last])
        except (KeyError, IndexError, TypeError):
            continue  # a path that does not fit the value: keep the value as it is
    return value


def _unhex(text: Any) -> Any:
    if isinstance(text, str):
        try:
            return bytes.fromhex(text)
        except ValueError:
            return text
    return text


def restore_reference_bytes(value: Any) -> Any:
    """The reference's distribution objects: hex ``data`` back to bytes (other values unchanged)."""
    if isinstance(value, dict) and value.get("type") == "distribution" and isinstance(value.get("data"), str):
        value["data"] = _unhex(value["data"])
    elif isinstance(value, list):
        return [restore_reference_bytes(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """One JSON document as the reference writes it (``ensure_ascii=False``; NaN allowed)."""
    return json.dumps(value, ensure_ascii=False, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"cannot write {type(value).__name__} to a backup")


def number_json(value: Any) -> str | None:
    """Fast JSON text of an int, float or bool (None for any other value)."""
    kind = type(value)
    if kind is float:
        if math.isfinite(value):
            return repr(value)
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    return None
