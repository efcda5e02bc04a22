"""Splitting a value that exceeds the engine's value limit across several keys, and joining it back."""

from __future__ import annotations

from collections.abc import Iterable

MAX_VALUE_BYTES = 100_000
"""The engines' value limit (FoundationDB's); every block must stay far under it."""


def split_large_value(data: bytes, max_chunk: int = MAX_VALUE_BYTES) -> list[bytes]:
    """Cut ``data`` into consecutive chunks of at most ``max_chunk`` bytes (one empty chunk for b"")."""
    if max_chunk < 1:
        raise ValueError("max_chunk must be positive")
    if not data:
        return [b""]
    view = memoryview(data)
    return [bytes(view[i : i + max_chunk]) for i in range(0, len(data), max_chunk)]


def join_chunks(chunks: Iterable[bytes]) -> bytes:
    """Inverse of :func:`split_large_value` (chunks in key order)."""
    return b"".join(chunks)
