"""The transactional ordered key-value interface shared by every engine.

``Engine.transact(fn)`` runs ``fn(tr)`` in a read-write transaction and commits it; ``Engine.read(fn)``
runs ``fn(tr)`` in a read-only snapshot. Both run ``fn`` again, with backoff and a bounded number of
attempts, when it fails with a retryable :class:`StoreError` (conflicts, too old, ...), so ``fn`` must
be safe to run more than once and should only touch the store through ``tr``. The async variants run
the whole loop on the engine's thread pool so an event loop never waits on storage.

The transaction classes validate keys and values and count mutation bytes here, once for every
engine, so the limits of :class:`EngineLimits` hold identically on LMDB and FoundationDB.
"""

from __future__ import annotations

import asyncio
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import ClassVar, Self

from prometheus_client import Counter

from ..keys import KEYSPACE_END, prefix_range
from .atomic import AtomicOp
from .errors import (
    KeyOutsideLegalRange,
    KeyTooLarge,
    StoreError,
    TransactionClosed,
    TransactionTooLarge,
    TransactionTooOld,
    ValueTooLarge,
)
from .limits import EngineLimits, RetryPolicy

KeyValue = tuple[bytes, bytes]

TXN_RETRIES = Counter(
    "matyan_store_txn_retries",
    "Transactions run again after a retryable engine error (conflict, too old, ...).",
    ["engine"],
)

# Range reads re-check the transaction's age and liveness once per this many rows.
RANGE_CHECK_EVERY = 256


def _as_bytes(data: bytes | bytearray | memoryview, what: str) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"{what} must be bytes, got {type(data).__name__}")


class ReadTransaction(ABC):
    """A consistent snapshot of the store, usable only inside the function it was passed to.

    Not thread-safe: one transaction belongs to the thread running its function.
    """

    def __init__(self, limits: EngineLimits) -> None:
        self._limits = limits
        self._started = time.monotonic()
        self._closed = False

    @property
    def age_s(self) -> float:
        """Seconds since the transaction began."""
        return time.monotonic() - self._started

    def check_alive(self) -> None:
        """Raise :class:`TransactionClosed` or :class:`TransactionTooOld` if the transaction can't be used."""
        if self._closed:
            raise TransactionClosed("the transaction is over: use it only inside its function")
        age = self.age_s
        if age > self._limits.max_transaction_age_s:
            raise TransactionTooOld.over_limit(age, self._limits.max_transaction_age_s)

    def _key(self, key: bytes) -> bytes:
        key = _as_bytes(key, "key")
        if len(key) > self._limits.max_key_bytes:
            raise KeyTooLarge(len(key), self._limits.max_key_bytes)
        if key >= KEYSPACE_END:
            raise KeyOutsideLegalRange(f"key {key[:32]!r} is at or after b'\\xff' (reserved for system keys)")
        return key

    def _bound(self, key: bytes) -> bytes:
        key = _as_bytes(key, "range bound")
        if len(key) > self._limits.max_key_bytes + 1:
            raise KeyTooLarge(len(key), self._limits.max_key_bytes + 1, "range bound")
        if key > KEYSPACE_END:
            raise KeyOutsideLegalRange(f"range bound {key[:32]!r} is after b'\\xff'")
        return key

    def get(self, key: bytes) -> bytes | None:
        """The value stored at ``key``, or ``None``."""
        self.check_alive()
        return self._get(self._key(key))

    def get_range(
        self, begin: bytes, end: bytes, limit: int = 0, reverse: bool = False
    ) -> Iterator[KeyValue]:
        """``(key, value)`` pairs with ``begin <= key < end`` in key order (descending if ``reverse``).

        ``limit`` > 0 caps the number of pairs (the *last* ones when reversed). Rows are fetched in
        batches as the iterator advances; consume it inside the transaction's function.
        """
        self.check_alive()
        begin, end = self._bound(begin), self._bound(end)
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        return self._checked(begin, end, limit, reverse)

    def get_prefix(self, prefix: bytes, limit: int = 0, reverse: bool = False) -> Iterator[KeyValue]:
        """Every pair whose key starts with ``prefix``, as :meth:`get_range` returns them."""
        begin, end = prefix_range(_as_bytes(prefix, "prefix"))
        return self.get_range(begin, end, limit=limit, reverse=reverse)

    def _checked(self, begin: bytes, end: bytes, limit: int, reverse: bool) -> Iterator[KeyValue]:
        if begin >= end:
            return
        for count, pair in enumerate(self._range(begin, end, limit, reverse), start=1):
            if count % RANGE_CHECK_EVERY == 0:
                self.check_alive()
            yield pair
            if count == limit:
                return

    def _close(self) -> None:
        self._closed = True

    @abstractmethod
    def _get(self, key: bytes) -> bytes | None: ...

    @abstractmethod
    def _range(self, begin: bytes, end: bytes, limit: int, reverse: bool) -> Iterator[KeyValue]:
        """Pairs of a non-empty, validated range; ``limit`` is a hint (0: none), the caller stops."""


class Transaction(ReadTransaction):
    """A read-write transaction: reads see its own writes; everything commits at once or not at all."""

    def __init__(self, limits: EngineLimits) -> None:
        super().__init__(limits)
        self._size = 0

    @property
    def approximate_size(self) -> int:
        """Mutation bytes so far: key + value of each set and atomic op, the keys of each clear."""
        return self._size

    @property
    def remaining_size(self) -> int:
        """Bytes of mutations this transaction can still take before :class:`TransactionTooLarge`."""
        return self._limits.max_transaction_bytes - self._size

    def _account(self, nbytes: int) -> None:
        total = self._size + nbytes
        if total > self._limits.max_transaction_bytes:
            raise TransactionTooLarge(
                total, self._limits.max_transaction_bytes, "mutations in one transaction"
            )
        self._size = total

    def _value(self, value: bytes) -> bytes:
        value = _as_bytes(value, "value")
        if len(value) > self._limits.max_value_bytes:
            raise ValueTooLarge(len(value), self._limits.max_value_bytes)
        return value

    def set(self, key: bytes, value: bytes) -> None:
        """Store ``value`` at ``key``."""
        self.check_alive()
        key, value = self._key(key), self._value(value)
        self._account(len(key) + len(value))
        self._set(key, value)

    def clear(self, key: bytes) -> None:
        """Remove ``key`` (nothing happens if it is absent)."""
        self.check_alive()
        key = self._key(key)
        self._account(len(key))
        self._clear(key)

    def clear_range(self, begin: bytes, end: bytes) -> None:
        """Remove every key with ``begin <= key < end``."""
        self.check_alive()
        begin, end = self._bound(begin), self._bound(end)
        self._account(len(begin) + len(end))
        if begin < end:
            self._clear_range(begin, end)

    def clear_prefix(self, prefix: bytes) -> None:
        """Remove every key starting with ``prefix``."""
        begin, end = prefix_range(_as_bytes(prefix, "prefix"))
        self.clear_range(begin, end)

    def add(self, key: bytes, operand: bytes) -> None:
        """Atomically add the little-endian ``operand`` to the value at ``key`` (missing: 0; wraps)."""
        self._atomic(AtomicOp.ADD, key, operand)

    def min(self, key: bytes, operand: bytes) -> None:
        """Atomically keep the smaller (unsigned little-endian) of the value and ``operand``."""
        self._atomic(AtomicOp.MIN, key, operand)

    def max(self, key: bytes, operand: bytes) -> None:
        """Atomically keep the larger (unsigned little-endian) of the value and ``operand``."""
        self._atomic(AtomicOp.MAX, key, operand)

    def _atomic(self, op: AtomicOp, key: bytes, operand: bytes) -> None:
        self.check_alive()
        key, operand = self._key(key), self._value(operand)
        self._account(len(key) + len(operand))
        self._atomic_op(op, key, operand)

    @abstractmethod
    def _set(self, key: bytes, value: bytes) -> None: ...

    @abstractmethod
    def _clear(self, key: bytes) -> None: ...

    @abstractmethod
    def _clear_range(self, begin: bytes, end: bytes) -> None: ...

    @abstractmethod
    def _atomic_op(self, op: AtomicOp, key: bytes, operand: bytes) -> None: ...


class Engine(ABC):
    """A transactional ordered key-value store (see the module docstring for the contract).

    Thread-safe: any number of threads may call :meth:`transact` and :meth:`read` at once.
    """

    name: ClassVar[str]

    def __init__(self, limits: EngineLimits, retry: RetryPolicy, threads: int) -> None:
        self.limits = limits
        self.retry = retry
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"matyan-{self.name}")
        self._closed = False

    def transact[T](self, fn: Callable[[Transaction], T]) -> T:
        """Run ``fn(tr)`` in a read-write transaction, commit, and return what ``fn`` returned.

        Retryable errors run ``fn`` again in a fresh transaction; the last error propagates once
        ``retry.max_attempts`` runs have failed. Any other exception aborts and propagates at once.
        """
        self._check_open()
        return self._transact(fn)

    def read[T](self, fn: Callable[[ReadTransaction], T]) -> T:
        """Run ``fn(tr)`` on a read-only snapshot and return its result (retried like :meth:`transact`)."""
        self._check_open()
        return self._read(fn)

    async def atransact[T](self, fn: Callable[[Transaction], T]) -> T:
        """:meth:`transact` on the engine's thread pool: ``fn`` and every retry run on one worker thread."""
        self._check_open()
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._transact, fn)

    async def aread[T](self, fn: Callable[[ReadTransaction], T]) -> T:
        """:meth:`read` on the engine's thread pool."""
        self._check_open()
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._read, fn)

    def close(self) -> None:
        """Release the engine; transactions still running finish first. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True)
        self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the {self.name} engine is closed")

    def _retry_loop[T](self, attempt: Callable[[], T], before_retry: Callable[[StoreError, int], None]) -> T:
        retry = 0
        while True:
            try:
                return attempt()
            except StoreError as err:
                if not err.retryable or retry + 1 >= self.retry.max_attempts:
                    raise
                TXN_RETRIES.labels(engine=self.name).inc()
                before_retry(err, retry)
                retry += 1

    def _backoff(self, _err: StoreError, retry: int) -> None:
        delay = self.retry.delay(retry)
        time.sleep(delay + random.uniform(0, delay / 4))

    @abstractmethod
    def _transact[T](self, fn: Callable[[Transaction], T]) -> T: ...

    @abstractmethod
    def _read[T](self, fn: Callable[[ReadTransaction], T]) -> T: ...

    @abstractmethod
    def _close(self) -> None: ...
