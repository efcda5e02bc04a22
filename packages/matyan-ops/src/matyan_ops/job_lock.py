"""The store's owner-token job lock around one ops job run (acquire, renew per page, release)."""

from __future__ import annotations

import time

from matyan_ops.runtime import JobFailed, owner_token
from matyan_store import locks
from matyan_store.engine import Engine

BUSY_MESSAGE = "Could not acquire lock — another instance may be running. Exiting."


class LockBusy(JobFailed):
    """Another process holds the job's lock."""


class JobLock:
    """Holds ``name`` for ``ttl_s`` seconds; ``ttl_s == 0`` means no locking at all (as the reference).

    Long jobs call :meth:`renew` between pages so the lock never lapses while they work; a renewal that
    finds the lock taken by someone else (ours expired) stops the job rather than run twice.
    """

    def __init__(self, engine: Engine, name: str, ttl_s: int) -> None:
        if ttl_s < 0:
            raise ValueError("lock TTL must be >= 0")
        self.engine = engine
        self.name = name
        self.ttl_s = ttl_s
        self.owner = owner_token(name)
        self._renewed = 0.0

    @property
    def enabled(self) -> bool:
        """Whether this job locks at all."""
        return self.ttl_s > 0

    def __enter__(self) -> JobLock:
        if self.enabled and not self._take():
            raise LockBusy(BUSY_MESSAGE)
        return self

    def _take(self) -> bool:
        got = self.engine.transact(lambda tr: locks.try_acquire(tr, self.name, self.ttl_s, self.owner))
        self._renewed = time.monotonic()
        return got

    def renew(self) -> None:
        """Extend the lock once a tenth of its TTL has passed; raise :class:`LockBusy` if it was lost."""
        if not self.enabled or time.monotonic() - self._renewed < self.ttl_s / 10:
            return
        if not self._take():
            raise LockBusy(f"lost the {self.name!r} lock to another instance; stopping")

    def __exit__(self, *_exc: object) -> None:
        if self.enabled:
            self.engine.transact(lambda tr: locks.release(tr, self.name, self.owner))
