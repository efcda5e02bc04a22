"""Job locks with an expiry and an owner token, for the ops jobs that must not run twice at once.

A lock is one key ``LOCKS (name,)`` holding ``{"owner": str, "expires": float}``. Unlike the reference
(an expiry only, released by anyone), a lock records who holds it: only the holder renews or releases
it, so a job that outlived its TTL cannot release the lock a successor has since taken.

The caller's transaction makes acquisition atomic: two processes racing for a free lock read the same
key, and the engine serialises (LMDB) or conflicts and retries (FoundationDB) them, so exactly one
wins. ``now`` defaults to ``time.time()``; pass it to test expiry without waiting. Holders on different
machines should have roughly synchronised clocks and a TTL well above the clock skew.
"""

from __future__ import annotations

import math
import time
from typing import Any

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.keys import LOCKS
from matyan_store.values import decode_value, encode_value

__all__ = ["get_lock", "release", "try_acquire"]


def _key(name: str) -> bytes:
    if not isinstance(name, str) or not name:
        raise ValueError(f"lock name must be a non-empty string, got {name!r}")
    return LOCKS.pack((name,))


def _read(tr: ReadTransaction, name: str) -> tuple[str, float] | None:
    raw = tr.get(_key(name))
    if raw is None:
        return None
    try:
        value: Any = decode_value(raw)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    owner, expires = value.get("owner"), value.get("expires")
    if not isinstance(owner, str) or not isinstance(expires, int | float) or isinstance(expires, bool):
        return None
    return owner, float(expires)


def get_lock(tr: ReadTransaction, name: str) -> tuple[str, float] | None:
    """``(owner, expires_at)`` of the lock as stored (possibly expired), or ``None`` if not held.

    A value this module cannot read (corrupt, or another format) counts as not held.
    """
    return _read(tr, name)


def try_acquire(tr: Transaction, name: str, ttl_s: float, owner: str, now: float | None = None) -> bool:
    """Take the lock for ``ttl_s`` seconds if it is free, expired or already ``owner``'s (then renew it).

    Returns whether ``owner`` holds the lock afterwards. An unreadable stored value is treated as free,
    so a corrupt key never blocks a job forever.
    """
    if not isinstance(owner, str) or not owner:
        raise ValueError(f"lock owner must be a non-empty string, got {owner!r}")
    if not (ttl_s > 0 and math.isfinite(ttl_s)):
        raise ValueError(f"lock ttl must be a positive number of seconds, got {ttl_s!r}")
    current = time.time() if now is None else float(now)
    held = _read(tr, name)
    if held is not None:
        holder, expires = held
        if holder != owner and expires > current:
            return False
    tr.set(_key(name), encode_value({"owner": owner, "expires": current + float(ttl_s)}))
    return True


def release(tr: Transaction, name: str, owner: str) -> bool:
    """Release the lock if ``owner`` holds it (expired or not); returns whether it was released.

    Someone else's lock, or no lock, is left alone: the result is ``False``.
    """
    held = _read(tr, name)
    if held is None or held[0] != owner:
        return False
    tr.clear(_key(name))
    return True
