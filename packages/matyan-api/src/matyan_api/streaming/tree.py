"""Flattening object trees into pairs and encoding them in chunks (docs/http-contract.md, Streaming frames).

Depth first, in dict insertion order and list order:

- a scalar (``None``, bool, int, float, str, bytes) is one pair at its path;
- a non-empty dict emits only its children; an empty dict is one ``OBJECT`` pair;
- a list, tuple, set, range or generator emits an ``ARRAY`` pair first, then its items under int keys
  counted from 0 (the UI needs the flag: it creates dicts, not lists, for paths it has not seen);
- anything else (datetime, a numpy int, bytearray...) becomes its ``repr`` string, and so does a dict
  key that is neither a string nor an int (the store keeps float, bytes and ``None`` keys).

An empty-string dict key is dropped (and logged): it would encode as a lone ``0xFE``, which both
decoders read as the start of an int key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final

from loguru import logger

from matyan_api.streaming.pairs import (
    ARRAY,
    OBJECT,
    Path,
    PathPart,
    encode_key_part,
    encode_pair,
    encode_value,
)

__all__ = [
    "DEFAULT_FLUSH_BYTES",
    "DEFAULT_FLUSH_PAIRS",
    "coalesce",
    "encode_pairs",
    "encode_tree",
    "encode_tree_bytes",
    "flatten",
]

# The reference flushes a large tree every 50 pairs; a byte cap keeps one write from growing without
# bound when those pairs carry big blobs (a single pair is never split, whatever its size).
DEFAULT_FLUSH_PAIRS: Final = 50
DEFAULT_FLUSH_BYTES: Final = 256 * 1024

_SCALARS: Final = (type(None), bool, int, float, str, bytes)


def _walk[P](
    obj: Any,
    path: P,
    extend: Callable[[P, PathPart], P],
    unfold_arrays: bool,
    depth: int | None,
) -> Iterator[tuple[P, Any]]:
    """The one flattening walk; ``extend`` builds the path type (tuples, or key bytes when encoding)."""
    if isinstance(obj, _SCALARS):
        yield path, obj
        return
    if depth is not None and depth <= 0:
        yield path, obj
        return
    child_depth = None if depth is None else depth - 1
    if isinstance(obj, Mapping):
        emitted = False
        for key, child in obj.items():
            if key == "":
                logger.warning("streaming: dropped an empty-string key at {!r}", path)
                continue
            emitted = True
            part = key if isinstance(key, str | int) else repr(key)
            yield from _walk(child, extend(path, part), extend, unfold_arrays, child_depth)
        if not emitted:
            yield path, OBJECT
        return
    if isinstance(obj, bytearray | memoryview) or not isinstance(obj, Iterable):
        yield path, repr(obj)
        return
    if not unfold_arrays:
        yield path, obj
        return
    yield path, ARRAY
    for index, child in enumerate(obj):
        yield from _walk(child, extend(path, index), extend, unfold_arrays, child_depth)


def _tuple_extend(path: Path, part: PathPart) -> Path:
    return (*path, part)


def _key_extend(key: bytes, part: PathPart) -> bytes:
    return key + encode_key_part(part)


def flatten(
    obj: Any, path: Path = (), *, unfold_arrays: bool = True, depth: int | None = None
) -> Iterator[tuple[Path, Any]]:
    """The ``(path, value)`` pairs of ``obj`` (values are scalars, ``ARRAY`` or ``OBJECT``).

    ``unfold_arrays=False`` leaves lists whole and ``depth`` stops descending after that many levels;
    both yield containers as values, which only :func:`flatten` callers (not the encoder) can use.
    """
    return _walk(obj, path, _tuple_extend, unfold_arrays, depth)


def encode_pairs(path_prefix: Path, obj: Any) -> Iterator[bytes]:
    """Every pair of ``obj`` under ``path_prefix`` as encoded bytes, one item per pair."""
    prefix = b"".join(encode_key_part(part) for part in path_prefix)
    for key, value in _walk(obj, prefix, _key_extend, True, None):
        yield encode_pair(key, encode_value(value))


def encode_tree(
    path_prefix: Path,
    obj: Any,
    *,
    flush_pairs: int = DEFAULT_FLUSH_PAIRS,
    flush_bytes: int = DEFAULT_FLUSH_BYTES,
) -> Iterator[bytes]:
    """One frame as chunks of whole pairs, ready for a ``StreamingResponse``.

    A chunk is flushed after ``flush_pairs`` pairs or once it holds ``flush_bytes`` bytes, so a large
    tree is never held whole; the chunks concatenate to exactly :func:`encode_tree_bytes`. A frame with
    no pairs yields nothing.
    """
    batch: list[bytes] = []
    size = 0
    for pair in encode_pairs(path_prefix, obj):
        batch.append(pair)
        size += len(pair)
        if len(batch) >= flush_pairs or size >= flush_bytes:
            yield b"".join(batch)
            batch.clear()
            size = 0
    if batch:
        yield b"".join(batch)


def encode_tree_bytes(path_prefix: Path, obj: Any) -> bytes:
    """The whole frame as one bytes object (small frames, tests)."""
    return b"".join(encode_pairs(path_prefix, obj))


def coalesce(chunks: Iterable[bytes], min_bytes: int = 64 * 1024) -> Iterator[bytes]:
    """Join consecutive small chunks into writes of at least ``min_bytes`` (the rest at the end).

    For synchronous producers whose frames are tiny (logs, one line per frame); streams with progress
    heartbeats should write each frame as it comes instead, so a waiting client sees it at once.
    """
    batch: list[bytes] = []
    size = 0
    for chunk in chunks:
        if not chunk:
            continue
        batch.append(chunk)
        size += len(chunk)
        if size >= min_bytes:
            yield b"".join(batch)
            batch.clear()
            size = 0
    if batch:
        yield b"".join(batch)
