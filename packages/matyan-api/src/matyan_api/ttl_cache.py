"""A small in-process cache whose entries expire after a fixed time (no dependency needed for it)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

__all__ = ["TTLCache"]


class TTLCache[K: Hashable, V]:
    """At most ``maxsize`` entries, each valid for ``ttl`` seconds; the least recently set goes first."""

    def __init__(self, *, ttl: float, maxsize: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.maxsize = max(0, maxsize)
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value stored under ``key`` if it has not expired, else ``None``."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self._clock() >= expires:
            del self._entries[key]
            return None
        return value

    def set(self, key: K, value: V) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (nothing is kept when ``ttl`` or size is 0)."""
        if self.ttl <= 0 or self.maxsize == 0:
            return
        self._entries.pop(key, None)
        self._entries[key] = (self._clock() + self.ttl, value)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
