"""Splitting a value that exceeds the engine's value limit into parts stored under several keys."""

from __future__ import annotations

from collections.abc import Iterable

MAX_VALUE_BYTES = 100_000
"""The engines' value limit (FoundationDB's); every block must stay far under it."""


def split_into_parts(data: bytes, max_part: int = MAX_VALUE_BYTES) -> list[bytes]:
    """Cut ``data`` into consecutive parts of at most ``max_part`` bytes (one empty part for b"")."""
    if max_part < 1:
        raise ValueError("max_part must be positive")
    if not data:
        return [b""]
    view = memoryview(data)
    return [bytes(view[i : i + max_part]) for i in range(0, len(data), max_part)]


def join_parts(parts: Iterable[bytes]) -> bytes:
    """Inverse of :func:`split_into_parts` (parts in key order)."""
    return b"".join(parts)
