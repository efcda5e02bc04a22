"""A FoundationDB simulator for tests: the part of the ``fdb`` Python API (API 730) our adapter uses.

No FoundationDB server or ``libfdb_c`` can be installed where the tests run, so the adapter
(:mod:`matyan_store.engine.fdb_engine`) runs against this in-process stand-in instead. :func:`install`
puts a fresh simulator in ``sys.modules["fdb"]`` for one test; the adapter's own loader then imports it,
selects API 730 and opens a "cluster" named by a cluster file (one in-memory cluster per file path, shared
by every engine opened on it, as a real cluster is shared by its clients).

What it models, after FoundationDB's documented behaviour:

* MVCC: a transaction reads at one read version, taken at its first read; later commits are invisible
  to it. Reads see the transaction's own writes (sets, clears, range clears, pending atomic ops).
* Conflicts: serialisable reads add read-conflict ranges (a range read: what it covered), snapshot reads
  add none; every mutation adds a write-conflict range. A commit fails with ``not_committed`` (1020) when
  a transaction committed after its read version wrote into one of its read-conflict ranges.
* ``transaction_too_old`` (1007) for reads and commits more than 5 s (of the injectable clock) after the
  read version was taken; ``transaction_timed_out`` (1031) past the ``set_timeout`` option.
* Size limits: keys over 10,000 bytes (2102), values over 100,000 bytes (2103), keys in the system range
  ``\\xff`` (2004), reported at the next read or commit as the C client defers them; a commit whose
  mutations and conflict ranges exceed 10,000,000 bytes (or ``set_size_limit``) fails with 2101.
* ``on_error``: resets and succeeds for the retryable codes of ``fdb_error_predicate(RETRYABLE)``, counts
  retries against ``set_retry_limit``, and re-raises every other code.
* Atomic add / min / max (the rules of :func:`matyan_store.engine.apply_atomic`).
* Faults (:class:`Faults`): the next commits fail with a chosen code, before or *after* being applied
  (``commit_unknown_result`` for a commit that did land); random conflicts; the next reads fail; the
  cluster unreachable.

What it does not: key selectors other than plain keys, watches, versionstamps, tenants, the directory
layer, network or storage latency, data distribution, recoveries, durability, the 5 s MVCC window's
exact version arithmetic. It is no substitute for running the contract suite against a live cluster.
"""

from __future__ import annotations

import bisect
import random
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matyan_store.engine import AtomicOp, apply_atomic

if TYPE_CHECKING:
    import pytest

LATEST_API_VERSION = 730
MVCC_WINDOW_S = 5.0
KEY_SIZE_LIMIT = 10_000
VALUE_SIZE_LIMIT = 100_000
TRANSACTION_SIZE_LIMIT = 10_000_000
SYSTEM_KEYS = b"\xff"

TRANSACTION_TOO_OLD = 1007
FUTURE_VERSION = 1009
NOT_COMMITTED = 1020
COMMIT_UNKNOWN_RESULT = 1021
TRANSACTION_TIMED_OUT = 1031
USED_DURING_COMMIT = 2017
KEY_OUTSIDE_LEGAL_RANGE = 2004
TRANSACTION_TOO_LARGE = 2101
KEY_TOO_LARGE = 2102
VALUE_TOO_LARGE = 2103
NO_CLUSTER_FILE_FOUND = 2108

DESCRIPTIONS = {
    1004: "Operation timed out",
    1007: "Transaction is too old to perform reads or be committed",
    1009: "Request for future version",
    1020: "Transaction not committed due to conflict with another transaction",
    1021: "Transaction may or may not have committed",
    1031: "Operation aborted because the transaction timed out",
    1037: "Storage process does not have recent mutations",
    1038: "Database is locked",
    1039: "Cluster has been upgraded to a new protocol version",
    1042: "Commit proxy memory limit exceeded",
    1051: "Batch GRV request rate limit exceeded",
    1078: "GRV proxy memory limit exceeded",
    1213: "Transaction tag is being throttled",
    2004: "Key outside legal range",
    2017: "Operation issued while a commit was outstanding",
    2101: "Transaction exceeds byte limit",
    2102: "Key length exceeds limit",
    2103: "Value length exceeds limit",
    2108: "No cluster file found in current directory or default location",
}

# fdb_error_predicate(RETRYABLE): "maybe committed" (1021, 1039) or "retryable, not committed".
RETRYABLE_CODES = frozenset({1007, 1009, 1020, 1021, 1037, 1038, 1039, 1042, 1051, 1078, 1213})
# on_error's backoff: FoundationDB starts at 10 ms and doubles up to 1 s.
INITIAL_BACKOFF_S = 0.01
MAX_BACKOFF_S = 1.0


class FDBError(Exception):
    """An error of the simulated client, with FoundationDB's numeric ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code

    @property
    def description(self) -> str:
        """FoundationDB's description of the code."""
        return DESCRIPTIONS.get(self.code, "Unknown error")

    def __str__(self) -> str:
        return f"{self.description} ({self.code})"


class StreamingMode:
    """The streaming modes of range reads (the simulator returns the same rows in every mode)."""

    want_all = -2
    iterator = -1
    exact = 0
    small = 1
    medium = 2
    large = 3
    serial = 4


_STREAMING_MODES = frozenset({-2, -1, 0, 1, 2, 3, 4})


class ManualClock:
    """A clock that moves only when told to: ``clock.advance(6)`` makes transactions too old at once."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


@dataclass
class _CommitFault:
    code: int
    applied: bool


@dataclass
class Faults:
    """Faults injected into one simulated cluster; every method is safe to call while transactions run."""

    _commits: list[_CommitFault] = field(default_factory=list)
    _reads: list[int] = field(default_factory=list)
    conflict_probability: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    unreachable: bool = False
    injected: list[int] = field(default_factory=list)
    """Codes of the faults that fired, in order."""

    def fail_commits(self, code: int, count: int = 1, *, applied: bool = False) -> None:
        """Make the next ``count`` commits that write fail with ``code``.

        ``applied=True`` applies each commit first and then reports ``code``: with ``commit_unknown_result``
        (1021) this is the case of a commit that landed while its client was told it may not have.
        """
        self._commits.extend(_CommitFault(code, applied) for _ in range(count))

    def fail_reads(self, code: int, count: int = 1) -> None:
        """Make the next ``count`` reads (``get`` or one batch of a range read) fail with ``code``."""
        self._reads.extend([code] * count)

    def random_conflicts(self, probability: float, seed: int = 0) -> None:
        """Fail each commit that has read-conflict ranges with ``not_committed`` at this probability."""
        self.conflict_probability = probability
        self.rng = random.Random(seed)

    def _next_commit(self) -> _CommitFault | None:
        return self._commits.pop(0) if self._commits else None

    def _next_read(self) -> int | None:
        return self._reads.pop(0) if self._reads else None


@dataclass
class _Commit:
    version: int
    at: float
    writes: list[tuple[bytes, bytes]]


def _intersects(a: tuple[bytes, bytes], b: tuple[bytes, bytes]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _key_after(key: bytes) -> bytes:
    return key + b"\x00"


class SimulatedCluster:
    """The data and commit history of one simulated cluster (every method takes its lock)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.faults = Faults()
        self.version = 0
        self.commits = 0
        """Commits applied (read-only commits and failed ones excluded)."""
        self._lock = threading.RLock()
        self._keys: list[bytes] = []
        self._versions: dict[bytes, list[int]] = {}
        self._values: dict[bytes, list[bytes | None]] = {}
        self._log: list[_Commit] = []

    def read_version(self) -> int:
        """The newest committed version (what a new transaction reads at)."""
        with self._lock:
            return self.version

    def _value_at(self, key: bytes, version: int) -> bytes | None:
        versions = self._versions.get(key)
        if not versions:
            return None
        index = bisect.bisect_right(versions, version) - 1
        return self._values[key][index] if index >= 0 else None

    def get(self, key: bytes, version: int) -> bytes | None:
        """The value of ``key`` at ``version``."""
        with self._lock:
            return self._value_at(key, version)

    def scan(
        self, begin: bytes, end: bytes, version: int, reverse: bool, count: int
    ) -> list[tuple[bytes, bytes]]:
        """Up to ``count`` pairs present at ``version`` in ``[begin, end)``, from the ``reverse`` end."""
        out: list[tuple[bytes, bytes]] = []
        with self._lock:
            lo = bisect.bisect_left(self._keys, begin)
            hi = bisect.bisect_left(self._keys, end)
            positions = range(hi - 1, lo - 1, -1) if reverse else range(lo, hi)
            for pos in positions:
                key = self._keys[pos]
                value = self._value_at(key, version)
                if value is not None:
                    out.append((key, value))
                    if len(out) == count:
                        break
        return out

    def latest(self) -> dict[bytes, bytes]:
        """Every present key and its newest value (for assertions in tests)."""
        with self._lock:
            found = {k: self._value_at(k, self.version) for k in self._keys}
        return {k: v for k, v in found.items() if v is not None}

    def _store(self, key: bytes, value: bytes | None, version: int) -> None:
        if key not in self._versions:
            bisect.insort(self._keys, key)
            self._versions[key] = []
            self._values[key] = []
        self._versions[key].append(version)
        self._values[key].append(value)

    def commit(self, tr: SimulatedTransaction) -> int | None:
        """Resolve and apply ``tr``; the error code it fails with, or ``None``."""
        with self._lock:
            now = self.clock()
            if not tr._mutations:
                return None  # read-only: nothing to send, nothing can fail
            if self.faults.unreachable:
                return TRANSACTION_TIMED_OUT
            if tr._read_version is not None and now - tr._read_version_at > MVCC_WINDOW_S:
                return TRANSACTION_TOO_OLD
            fault = self.faults._next_commit()
            if fault is not None and not fault.applied:
                self.faults.injected.append(fault.code)
                return fault.code
            if tr._reads and (
                self.faults.conflict_probability
                and self.faults.rng.random() < self.faults.conflict_probability
            ):
                self.faults.injected.append(NOT_COMMITTED)
                return NOT_COMMITTED
            if tr._read_version is not None and self._conflicts(tr, tr._read_version):
                return NOT_COMMITTED
            self._apply(tr, now)
            if fault is not None:
                self.faults.injected.append(fault.code)
                return fault.code
            return None

    def _conflicts(self, tr: SimulatedTransaction, read_version: int) -> bool:
        for done in reversed(self._log):
            if done.version <= read_version:
                break
            if any(_intersects(r, w) for r in tr._reads for w in done.writes):
                return True
        return False

    def _apply(self, tr: SimulatedTransaction, now: float) -> None:
        version = self.version + 1
        staged: dict[bytes, bytes | None] = {}

        def current(key: bytes) -> bytes | None:
            return staged[key] if key in staged else self._value_at(key, self.version)

        for mutation in tr._mutations:
            match mutation:
                case ("set", key, value):
                    staged[key] = value
                case ("clear_range", begin, end):
                    lo, hi = bisect.bisect_left(self._keys, begin), bisect.bisect_left(self._keys, end)
                    for key in self._keys[lo:hi]:
                        staged[key] = None
                    for key in [k for k in staged if begin <= k < end]:
                        staged[key] = None
                case (op, key, operand):
                    staged[key] = apply_atomic(AtomicOp(op), current(key), operand)
        for key, staged_value in staged.items():
            if staged_value is not None or self._value_at(key, self.version) is not None:
                self._store(key, staged_value, version)
        self.version = version
        self.commits += 1
        self._log.append(_Commit(version, now, list(tr._writes)))
        # A transaction reading before an entry this old is too old to commit anyway.
        while self._log and self._log[0].at < now - MVCC_WINDOW_S:
            self._log.pop(0)


class _Ready:
    """A future that is already resolved: ``wait()`` returns its result or raises its error."""

    def __init__(self, error: int | None = None) -> None:
        self._error = error

    def wait(self) -> None:
        if self._error is not None:
            raise FDBError(self._error)

    def is_ready(self) -> bool:
        return True


class Value:
    """The result of ``get``: ``wait()`` returns it; ``present()`` and ``bytes()`` as in the bindings."""

    def __init__(self, value: bytes | None, error: int | None = None) -> None:
        self._value = value
        self._error = error

    def wait(self) -> Value:
        if self._error is not None:
            raise FDBError(self._error)
        return self

    def present(self) -> bool:
        return self.wait()._value is not None

    def __bytes__(self) -> bytes:
        value = self.wait()._value
        if value is None:
            raise TypeError("the key is absent")
        return value


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One row of a range read."""

    key: bytes
    value: bytes

    def __iter__(self) -> Iterator[bytes]:
        return iter((self.key, self.value))


class _Options:
    """The transaction options the simulator understands; any other option is an AttributeError."""

    def __init__(self, tr: SimulatedTransaction) -> None:
        self._tr = tr

    def set_timeout(self, milliseconds: int) -> None:
        self._tr._timeout_s = milliseconds / 1000 if milliseconds else None

    def set_retry_limit(self, retries: int) -> None:
        self._tr._retry_limit = retries if retries >= 0 else None

    def set_size_limit(self, nbytes: int) -> None:
        self._tr._size_limit = nbytes


class _Reader:
    """``get`` and ``get_range`` of a transaction, serialisable or (``tr.snapshot``) snapshot."""

    def __init__(self, tr: SimulatedTransaction, snapshot: bool) -> None:
        self._tr = tr
        self._snapshot = snapshot

    def get(self, key: bytes) -> Value:
        try:
            return Value(self._tr._get(bytes(key), self._snapshot))
        except FDBError as exc:
            return Value(None, exc.code)

    def get_range(
        self,
        begin: bytes,
        end: bytes,
        limit: int = 0,
        reverse: bool = False,
        streaming_mode: int = StreamingMode.iterator,
    ) -> Iterator[KeyValue]:
        if streaming_mode not in _STREAMING_MODES:
            raise ValueError(f"unknown streaming mode {streaming_mode}")
        return self._tr._range(bytes(begin), bytes(end), limit, reverse, self._snapshot)


class SimulatedTransaction(_Reader):
    """A read-your-writes transaction of the simulated cluster (the bindings' ``fdb.Transaction``)."""

    def __init__(self, cluster: SimulatedCluster, sleep: Callable[[float], None]) -> None:
        super().__init__(self, snapshot=False)
        self._cluster = cluster
        self._sleep = sleep
        self.options = _Options(self)
        self.snapshot = _Reader(self, snapshot=True)
        self._timeout_s: float | None = None
        self._retry_limit: int | None = None
        self._size_limit = TRANSACTION_SIZE_LIMIT
        self._retries = 0
        self._started = cluster.clock()
        self._clear_state()

    def _clear_state(self) -> None:
        self._read_version: int | None = None
        self._read_version_at = 0.0
        self._mutations: list[tuple[str, bytes, bytes]] = []
        self._overlay: dict[bytes, tuple[bytes | None, list[tuple[str, bytes]]]] = {}
        """Key → (value it was set to or None if cleared, atomic ops applied after that) ..."""
        self._overlay_known: set[bytes] = set()
        """... of which these keys were set or cleared (the others hold ops on the stored value)."""
        self._overlay_keys: list[bytes] = []
        self._cleared: list[tuple[bytes, bytes]] = []
        self._reads: list[tuple[bytes, bytes]] = []
        self._writes: list[tuple[bytes, bytes]] = []
        self._size = 0
        self._deferred: int | None = None
        self._committing = False

    # -- checks shared by every operation -------------------------------------------------------

    def _check(self) -> None:
        if self._committing:
            raise FDBError(USED_DURING_COMMIT)
        if self._deferred is not None:
            raise FDBError(self._deferred)
        now = self._cluster.clock()
        if self._timeout_s is not None and now - self._started > self._timeout_s:
            raise FDBError(TRANSACTION_TIMED_OUT)

    def _version(self) -> int:
        faults = self._cluster.faults
        if faults.unreachable:
            raise FDBError(TRANSACTION_TIMED_OUT)  # stands for blocking until the timeout
        code = faults._next_read()
        if code is not None:
            faults.injected.append(code)
            raise FDBError(code)
        now = self._cluster.clock()
        if self._read_version is None:
            self._read_version = self._cluster.read_version()
            self._read_version_at = now
        elif now - self._read_version_at > MVCC_WINDOW_S:
            raise FDBError(TRANSACTION_TOO_OLD)
        return self._read_version

    # -- reads ----------------------------------------------------------------------------------

    def _in_cleared(self, key: bytes) -> bool:
        return any(begin <= key < end for begin, end in self._cleared)

    def _base(self, key: bytes, snapshot: bool) -> bytes | None:
        if self._in_cleared(key):
            return None
        version = self._version()
        if not snapshot:
            self._reads.append((key, _key_after(key)))
        return self._cluster.get(key, version)

    def _effective(self, key: bytes, snapshot: bool) -> bytes | None:
        value, ops = self._overlay[key]
        if key not in self._overlay_known:
            value = self._base(key, snapshot)
        for op, operand in ops:
            value = apply_atomic(AtomicOp(op), value, operand)
        return value

    def _get(self, key: bytes, snapshot: bool) -> bytes | None:
        self._check()
        if key >= SYSTEM_KEYS:
            raise FDBError(KEY_OUTSIDE_LEGAL_RANGE)
        if len(key) > KEY_SIZE_LIMIT:
            return None  # FoundationDB answers "absent" for keys no write could have made
        if key in self._overlay:
            return self._effective(key, snapshot)
        return self._base(key, snapshot)

    def _range(
        self, begin: bytes, end: bytes, limit: int, reverse: bool, snapshot: bool
    ) -> Iterator[KeyValue]:
        self._check()
        if end > SYSTEM_KEYS:
            raise FDBError(KEY_OUTSIDE_LEGAL_RANGE)
        return self._range_rows(begin, end, limit, reverse, snapshot)

    def _range_rows(
        self, begin: bytes, end: bytes, limit: int, reverse: bool, snapshot: bool
    ) -> Iterator[KeyValue]:
        # Rows come in batches computed when needed, so writes made between batches are seen, as in
        # FoundationDB's read-your-writes ranges.
        batch = 8
        returned = 0
        while begin < end:
            want = batch if not limit else min(batch, limit - returned)
            rows, full = self._batch(begin, end, want, reverse, snapshot)
            for key, value in rows:
                yield KeyValue(key, value)
            returned += len(rows)
            if not full or (limit and returned >= limit):
                return
            if reverse:
                end = rows[-1][0]
            else:
                begin = _key_after(rows[-1][0])
            batch = min(batch * 2, 1000)

    def _stored(self, begin: bytes, end: bytes, version: int, reverse: bool) -> Iterator[tuple[bytes, bytes]]:
        """Stored pairs at ``version`` that this transaction has neither written nor cleared, in order."""
        while True:
            chunk = self._cluster.scan(begin, end, version, reverse, 64)
            for key, value in chunk:
                if key not in self._overlay and not self._in_cleared(key):
                    yield key, value
            if len(chunk) < 64:
                return
            if reverse:
                end = chunk[-1][0]
            else:
                begin = _key_after(chunk[-1][0])

    def _batch(
        self, begin: bytes, end: bytes, count: int, reverse: bool, snapshot: bool
    ) -> tuple[list[tuple[bytes, bytes]], bool]:
        self._check()
        version = self._version()
        local = self._overlay_keys[
            bisect.bisect_left(self._overlay_keys, begin) : bisect.bisect_left(self._overlay_keys, end)
        ]
        if reverse:
            local.reverse()
        stored = self._stored(begin, end, version, reverse)
        rows: list[tuple[bytes, bytes]] = []
        upcoming = next(stored, None)
        at = 0
        while len(rows) < count and (upcoming is not None or at < len(local)):
            if at < len(local) and (
                upcoming is None or (local[at] > upcoming[0] if reverse else local[at] < upcoming[0])
            ):
                key = local[at]
                at += 1
                # The range's own conflict range covers what this reads.
                value = self._effective(key, snapshot=True)
                if value is not None:
                    rows.append((key, value))
            else:
                assert upcoming is not None
                rows.append(upcoming)
                upcoming = next(stored, None)
        full = len(rows) == count
        if not snapshot:
            if full:
                edge = rows[-1][0]
                self._reads.append((edge, end) if reverse else (begin, _key_after(edge)))
            else:
                self._reads.append((begin, end))
        return rows, full

    # -- writes ---------------------------------------------------------------------------------

    def _defer(self, key: bytes, value: bytes | None = None) -> bool:
        if len(key) > KEY_SIZE_LIMIT:
            self._deferred = self._deferred or KEY_TOO_LARGE
        elif key >= SYSTEM_KEYS:
            self._deferred = self._deferred or KEY_OUTSIDE_LEGAL_RANGE
        elif value is not None and len(value) > VALUE_SIZE_LIMIT:
            self._deferred = self._deferred or VALUE_TOO_LARGE
        else:
            return False
        return True

    def _write_range(self, begin: bytes, end: bytes) -> None:
        self._writes.append((begin, end))
        self._size += len(begin) + len(end)

    def _touch(self, key: bytes) -> None:
        if key not in self._overlay:
            bisect.insort(self._overlay_keys, key)

    def set(self, key: bytes, value: bytes) -> None:
        key, value = bytes(key), bytes(value)
        if self._committing or self._defer(key, value):
            return
        self._touch(key)
        self._overlay[key] = (value, [])
        self._overlay_known.add(key)
        self._mutations.append(("set", key, value))
        self._size += len(key) + len(value)
        self._write_range(key, _key_after(key))

    def clear(self, key: bytes) -> None:
        key = bytes(key)
        if self._committing or self._defer(key):
            return
        self._touch(key)
        self._overlay[key] = (None, [])
        self._overlay_known.add(key)
        self._mutations.append(("clear_range", key, _key_after(key)))
        self._size += len(key)
        self._write_range(key, _key_after(key))

    def clear_range(self, begin: bytes, end: bytes) -> None:
        begin, end = bytes(begin), bytes(end)
        if self._committing or (end > SYSTEM_KEYS and self._defer(SYSTEM_KEYS)) or begin >= end:
            return
        for key in self._overlay_keys[
            bisect.bisect_left(self._overlay_keys, begin) : bisect.bisect_left(self._overlay_keys, end)
        ]:
            self._overlay[key] = (None, [])
            self._overlay_known.add(key)
        self._cleared.append((begin, end))
        self._mutations.append(("clear_range", begin, end))
        self._size += len(begin) + len(end)
        self._write_range(begin, end)

    def _atomic(self, op: AtomicOp, key: bytes, operand: bytes) -> None:
        key, operand = bytes(key), bytes(operand)
        if self._committing or self._defer(key, operand):
            return
        self._touch(key)
        value, ops = self._overlay.get(key, (None, []))
        self._overlay[key] = (value, [*ops, (op.value, operand)])
        self._mutations.append((op.value, key, operand))
        self._size += len(key) + len(operand)
        self._write_range(key, _key_after(key))

    def add(self, key: bytes, operand: bytes) -> None:
        self._atomic(AtomicOp.ADD, key, operand)

    def min(self, key: bytes, operand: bytes) -> None:
        self._atomic(AtomicOp.MIN, key, operand)

    def max(self, key: bytes, operand: bytes) -> None:
        self._atomic(AtomicOp.MAX, key, operand)

    # -- commit and retries ---------------------------------------------------------------------

    def get_approximate_size(self) -> int:
        """Bytes counted against the size limit: mutations, then read and write conflict ranges."""
        return self._size + sum(len(b) + len(e) for b, e in self._reads)

    def commit(self) -> _Ready:
        try:
            self._check()
        except FDBError as exc:
            return _Ready(exc.code)
        self._committing = True
        if self._mutations and self.get_approximate_size() > self._size_limit:
            return _Ready(TRANSACTION_TOO_LARGE)
        return _Ready(self._cluster.commit(self))

    def on_error(self, error: FDBError | int) -> _Ready:
        code = error.code if isinstance(error, FDBError) else int(error)
        if code not in RETRYABLE_CODES:
            return _Ready(code)
        if self._retry_limit is not None and self._retries >= self._retry_limit:
            return _Ready(code)
        self._sleep(min(INITIAL_BACKOFF_S * 2**self._retries, MAX_BACKOFF_S))
        self._retries += 1
        # Since API 610 the timeout and retry limit survive on_error; everything else starts over.
        self._clear_state()
        return _Ready()

    def reset(self) -> None:
        self._timeout_s = None
        self._retry_limit = None
        self._size_limit = TRANSACTION_SIZE_LIMIT
        self._retries = 0
        self._started = self._cluster.clock()
        self._clear_state()


class SimulatedDatabase:
    """The result of ``fdb.open``: creates transactions on its cluster."""

    def __init__(self, cluster: SimulatedCluster, sleep: Callable[[float], None]) -> None:
        self.cluster = cluster
        self._sleep = sleep

    def create_transaction(self) -> SimulatedTransaction:
        return SimulatedTransaction(self.cluster, self._sleep)


def _jittered_sleep(seconds: float) -> None:
    # Without a real, jittered pause, threads that conflicted retry in lockstep and conflict again.
    time.sleep(random.uniform(seconds / 2, seconds))


class Simulator:
    """A simulated ``fdb`` module with its clusters, clock and backoff.

    ``clock`` drives the 5 s window and timeouts (default: the monotonic clock; tests pass a
    :class:`ManualClock`); ``sleep`` is given on_error's backoff delay (default: half to all of it).
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = _jittered_sleep
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.clusters: dict[str, SimulatedCluster] = {}
        self._api_version: int | None = None
        self._lock = threading.Lock()
        self.module = self._as_module()

    def cluster(self, cluster_file: str | Path) -> SimulatedCluster:
        """The cluster a cluster file names (created on first use)."""
        name = str(Path(cluster_file).resolve())
        with self._lock:
            if name not in self.clusters:
                self.clusters[name] = SimulatedCluster(self.clock)
            return self.clusters[name]

    def api_version(self, version: int) -> None:
        if self._api_version is not None:
            if self._api_version != version:
                raise RuntimeError(f"FDB API already loaded at version {self._api_version}")
            return
        if version < 13 or version > LATEST_API_VERSION:
            raise RuntimeError(f"Latest known FDB API version is {LATEST_API_VERSION}")
        self._api_version = version

    def is_api_version_selected(self) -> bool:
        return self._api_version is not None

    def get_api_version(self) -> int:
        if self._api_version is None:
            raise RuntimeError("API version is not set")
        return self._api_version

    def open(self, cluster_file: str | None = None, event_model: Any = None) -> SimulatedDatabase:
        if self._api_version is None:
            raise RuntimeError("You must call api_version() before using any fdb methods")
        if cluster_file is None or not Path(cluster_file).is_file():
            raise FDBError(NO_CLUSTER_FILE_FOUND)
        return SimulatedDatabase(self.cluster(cluster_file), self.sleep)

    def _as_module(self) -> types.ModuleType:
        module = types.ModuleType("fdb", "FoundationDB simulator (tests only)")
        module.__dict__.update(
            LATEST_API_VERSION=LATEST_API_VERSION,
            FDBError=FDBError,
            StreamingMode=StreamingMode,
            api_version=self.api_version,
            is_api_version_selected=self.is_api_version_selected,
            get_api_version=self.get_api_version,
            open=self.open,
            simulator=self,
        )
        real_tuple = sys.modules.get("fdb.tuple")
        if real_tuple is not None:  # the pure-Python tuple layer our key encoding uses
            module.__dict__["tuple"] = real_tuple
        return module


def write_cluster_file(directory: Path) -> Path:
    """A cluster file for the simulator (its content is never parsed; its path names the cluster)."""
    path = directory / "fdb-simulator.cluster"
    path.write_text("simulated:simulated@127.0.0.1:4500\n")
    return path


def install(monkeypatch: pytest.MonkeyPatch, simulator: Simulator | None = None) -> Simulator:
    """Make ``import fdb`` give ``simulator`` (a fresh one by default) until the test ends."""
    simulator = simulator or Simulator()
    monkeypatch.setitem(sys.modules, "fdb", simulator.module)
    return simulator
