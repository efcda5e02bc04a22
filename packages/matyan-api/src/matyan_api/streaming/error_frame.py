"""The error frame: how a stream that has already started says it failed (docs/http-contract.md).

Once the ``200`` and some frames are out, a failure (a search over its time, CPU or memory limit) can no
longer become an error status. The stream then ends with one frame ``{"error": {"code", "message"}}``
(the error envelope's inner object) instead of being cut. ``error`` is never a run hash, a step or a URI,
so a reader tells it from data by its key.
"""

from __future__ import annotations

from typing import Final

from matyan_api.streaming.tree import encode_tree_bytes

__all__ = ["ERROR_KEY", "error_frame", "is_error_key"]

ERROR_KEY: Final = "error"


def error_frame(code: str, message: str) -> bytes:
    """The bytes of the closing error frame."""
    return encode_tree_bytes((ERROR_KEY,), {"code": code, "message": message})


def is_error_key(key: object) -> bool:
    """Whether a decoded top-level key is the error frame's."""
    return key == ERROR_KEY
