"""The ``version | kind`` bytes in front of every encoded block, open-block segment and block summary."""

from __future__ import annotations

from collections.abc import Container

from matyan_store.codec.points import ValueKind
from matyan_store.codec.varint import ByteReader


def header(version: int, kind: ValueKind) -> bytearray:
    """A buffer starting with the header of a ``kind`` value in format ``version``."""
    return bytearray((version, int(kind)))


def read_header(r: ByteReader, versions: Container[int], what: str) -> tuple[int, ValueKind]:
    """The version (one of ``versions``) and kind at the cursor; ``ValueError`` naming ``what`` otherwise."""
    version = r.byte()
    if version not in versions:
        raise ValueError(f"unsupported {what} version {version}")
    return version, ValueKind(r.byte())
