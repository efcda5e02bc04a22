"""Stable integer ids for metric contexts (identical to matyan-api-models 0.2.1 and the unreleased source)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def context_to_id(context: dict[Any, Any] | None) -> int:
    """Map a context dict to a stable unsigned 32-bit id.

    An empty or ``None`` context is ``0``. Otherwise the context is dumped as canonical JSON (sorted keys,
    ``","``/``":"`` separators, the stdlib default ``ensure_ascii=True``), hashed with SHA-256, and the first
    8 hex digits of the digest are read as an integer.

    >>> context_to_id(None), context_to_id({})
    (0, 0)
    >>> context_to_id({"subset": "train"}) == context_to_id({"subset": "train"})
    True
    """
    if not context:
        return 0
    canonical = json.dumps(context, sort_keys=True, separators=(",", ":"))
    return int(hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:8], 16)


__all__ = ["context_to_id"]
