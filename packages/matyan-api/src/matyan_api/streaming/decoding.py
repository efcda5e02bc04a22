"""A decoder for the streaming codec, for tests (docs/http-contract.md, Streaming frames).

It mirrors how the UI rebuilds objects: dicts are created implicitly along a path, an ``ARRAY`` pair
creates a list that later int keys fill (gaps padded with ``None``), an ``OBJECT`` pair creates an
empty dict. :class:`StreamDecoder` accepts the body in arbitrary pieces, as HTTP delivers it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any, Final

from matyan_api.streaming.pairs import ARRAY, OBJECT, SEPARATOR, Path, PathPart, Tag

__all__ = [
    "CorruptStream",
    "StreamDecoder",
    "decode_frames",
    "decode_key",
    "decode_pairs",
    "decode_value",
    "fold_pairs",
]

_U32_LE: Final = struct.Struct("<I")
_I64_BE: Final = struct.Struct(">q")


class CorruptStream(ValueError):  # noqa: N818 (the UI's own words: "Corrupted stream")
    """The bytes are not a sequence of whole, well-formed pairs."""


def decode_key(raw: bytes) -> Path:
    """The path of an encoded key."""
    parts: list[PathPart] = []
    i = 0
    while i < len(raw):
        if raw[i] == SEPARATOR:
            if i + 10 > len(raw) or raw[i + 9] != SEPARATOR:
                raise CorruptStream(f"bad int key component at byte {i}")
            parts.append(_I64_BE.unpack_from(raw, i + 1)[0])
            i += 10
            continue
        end = raw.find(SEPARATOR, i)
        if end < 0:
            raise CorruptStream("string key component without its 0xFE terminator")
        parts.append(raw[i:end].decode("utf-8", "surrogatepass"))
        i = end + 1
    return tuple(parts)


def decode_value(raw: bytes) -> Any:
    """The value of an encoded value (``ARRAY`` / ``OBJECT`` for the structural flags)."""
    if not raw:
        raise CorruptStream("empty value")
    tag, payload = raw[0], raw[1:]
    match tag:
        case Tag.NONE:
            return None
        case Tag.BOOL:
            return payload != b"\x00"
        case Tag.INT:
            return struct.unpack("<q", payload)[0]
        case Tag.FLOAT:
            return struct.unpack("<d", payload)[0]
        case Tag.STR:
            return payload.decode("utf-8", "surrogatepass")
        case Tag.BYTES:
            return bytes(payload)
        case Tag.ARRAY:
            return ARRAY
        case Tag.OBJECT:
            return OBJECT
    raise CorruptStream(f"unknown value tag {tag}")


class StreamDecoder:
    """Incremental pair reader: :meth:`feed` pieces of a body, get the pairs completed so far."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[tuple[Path, Any]]:
        """Add ``chunk`` and return every pair it completes, in order."""
        self._buffer += chunk
        out: list[tuple[Path, Any]] = []
        pos = 0
        buf = self._buffer
        while True:
            if len(buf) - pos < 4:
                break
            (key_len,) = _U32_LE.unpack_from(buf, pos)
            if len(buf) - pos < 8 + key_len:
                break
            (val_len,) = _U32_LE.unpack_from(buf, pos + 4 + key_len)
            end = pos + 8 + key_len + val_len
            if len(buf) < end:
                break
            key = bytes(buf[pos + 4 : pos + 4 + key_len])
            value = bytes(buf[pos + 8 + key_len : end])
            out.append((decode_key(key), decode_value(value)))
            pos = end
        del buf[:pos]
        return out

    def close(self) -> None:
        """Check that the body ended on a pair boundary."""
        if self._buffer:
            raise CorruptStream(f"{len(self._buffer)} trailing bytes after the last whole pair")


def decode_pairs(data: bytes | Iterable[bytes]) -> list[tuple[Path, Any]]:
    """Every pair of a whole body (or of its chunks)."""
    decoder = StreamDecoder()
    pairs: list[tuple[Path, Any]] = []
    for chunk in [data] if isinstance(data, bytes | bytearray) else data:
        pairs.extend(decoder.feed(bytes(chunk)))
    decoder.close()
    return pairs


def _materialize(value: Any) -> Any:
    if value is ARRAY:
        return []
    if value is OBJECT:
        return {}
    return value


def _slot(node: Any, part: PathPart) -> None:
    """Make room for ``part`` in ``node`` (lists grow, padded with ``None``)."""
    if isinstance(node, list):
        if not isinstance(part, int) or part < 0:
            raise CorruptStream(f"non-index key {part!r} inside a list")
        while len(node) <= part:
            node.append(None)
    elif not isinstance(node, dict):
        raise CorruptStream(f"key {part!r} below a scalar")


def _descend(node: Any, part: PathPart) -> Any:
    """The container at ``part`` below ``node``, creating a dict there if nothing is yet."""
    _slot(node, part)
    if isinstance(node, list):
        if node[part] is None:  # type: ignore[index]
            node[part] = {}  # type: ignore[index]
        return node[part]  # type: ignore[index]
    if part not in node:
        node[part] = {}
    return node[part]


def fold_pairs(pairs: Iterable[tuple[Path, Any]]) -> Any:
    """Rebuild the tree of one frame (or of a whole body: the top-level keys become the root's keys)."""
    root: Any = {}
    for path, value in pairs:
        if not path:
            root = _materialize(value)
            continue
        node = root
        for part in path[:-1]:
            node = _descend(node, part)
        _slot(node, path[-1])
        node[path[-1]] = _materialize(value)
    return root


def decode_frames(data: bytes | Iterable[bytes]) -> list[tuple[PathPart, Any]]:
    """The body as ``(top_key, subtree)`` items, grouping consecutive pairs by their first component.

    This is how the UI reads a stream: a key that reappears after another one starts a new item, so a
    test can check that every run's pairs were contiguous by counting items per key.
    """
    items: list[tuple[PathPart, Any]] = []
    group: list[tuple[Path, Any]] = []
    current: PathPart | None = None
    for path, value in decode_pairs(data):
        if not path:
            raise CorruptStream("a root-level scalar has no top-level key")
        if group and path[0] != current:
            items.append((current, fold_pairs(group)[current]))  # type: ignore[arg-type]
            group = []
        current = path[0]
        group.append((path, value))
    if group:
        items.append((current, fold_pairs(group)[current]))  # type: ignore[arg-type]
    return items
