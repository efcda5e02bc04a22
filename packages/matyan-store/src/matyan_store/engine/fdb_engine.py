"""The FoundationDB engine: a thin adapter over the ``fdb`` bindings (API version 730).

The ``fdb`` package is imported here, and this module is imported only by :func:`open_engine` when the
``fdb`` engine is asked for, so the C client library (``libfdb_c``) is loaded only then; key encoding
(``fdb.tuple``) never needs it.

Retries use FoundationDB's own ``Transaction.on_error`` (its backoff, its notion of retryable), inside
our bounded loop so the attempt count and the retry counter are the same as on LMDB; the transient codes
``on_error`` gives back (timeouts) are retried after a reset with our backoff. As with any FoundationDB
client, a commit reported as ``commit_unknown_result`` may have landed and is retried all the same, so
transaction functions that must apply once check their own progress inside the transaction. Key, value and
transaction sizes and the age limit are also checked client-side by the shared transaction classes, so
both engines reject the same things with the same errors.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from .atomic import AtomicOp
from .base import Engine, KeyValue, ReadTransaction, Transaction
from .errors import EngineUnavailable, StoreError
from .fdb_errors import map_fdb_error
from .limits import EngineLimits, RetryPolicy

API_VERSION = 730
DEFAULT_CLUSTER_FILE = "/etc/foundationdb/fdb.cluster"
# The open-time probe reads one key; past this, the cluster counts as unreachable.
PROBE_TIMEOUT_MS = 5_000


def resolve_cluster_file(cluster_file: str | os.PathLike[str] | None) -> Path:
    """The cluster file to use: the argument, else ``FDB_CLUSTER_FILE``, else FoundationDB's default.

    Raises :class:`EngineUnavailable` naming every place looked at if the file does not exist.
    """
    chosen = cluster_file or os.environ.get("FDB_CLUSTER_FILE") or DEFAULT_CLUSTER_FILE
    path = Path(chosen)
    if not path.is_file():
        raise EngineUnavailable(
            f"FoundationDB cluster file {str(path)!r} does not exist "
            "(looked at the argument, then FDB_CLUSTER_FILE, then the default path)"
        )
    return path


def _load_fdb() -> Any:
    try:
        import fdb
    except ImportError as exc:  # pragma: no cover - the package is a declared dependency
        raise EngineUnavailable(f"the foundationdb Python package is not installed: {exc}") from exc
    try:
        if not fdb.is_api_version_selected():
            fdb.api_version(API_VERSION)
        elif fdb.get_api_version() != API_VERSION:
            raise EngineUnavailable(
                f"fdb API version {fdb.get_api_version()} is already selected in this process; "
                f"need {API_VERSION}"
            )
    except EngineUnavailable:
        raise
    except Exception as exc:  # the bindings raise a bare Exception when libfdb_c is missing
        raise EngineUnavailable(f"cannot load the FoundationDB client library (libfdb_c): {exc}") from exc
    return fdb


class FdbReadTransaction(ReadTransaction):
    """Reads through a FoundationDB transaction (its ``snapshot`` view for read-only work)."""

    def __init__(self, reader: Any, limits: EngineLimits, fdb: Any) -> None:
        super().__init__(limits)
        self._reader = reader
        self._fdb = fdb

    def _get(self, key: bytes) -> bytes | None:
        value = self._reader.get(key).wait()
        return None if value is None or not value.present() else bytes(value)

    def _range(self, begin: bytes, end: bytes, limit: int, reverse: bool) -> Iterator[KeyValue]:
        # A range iterator returned out of the function starts here: FoundationDB itself would still
        # serve a transaction that was never committed or reset, so the liveness check is ours.
        self.check_alive()
        rows = self._reader.get_range(
            begin, end, limit=limit, reverse=reverse, streaming_mode=self._fdb.StreamingMode.iterator
        )
        for kv in rows:
            yield bytes(kv.key), bytes(kv.value)


class FdbTransaction(FdbReadTransaction, Transaction):
    """A read-write FoundationDB transaction."""

    def _set(self, key: bytes, value: bytes) -> None:
        self._reader.set(key, value)

    def _clear(self, key: bytes) -> None:
        self._reader.clear(key)

    def _clear_range(self, begin: bytes, end: bytes) -> None:
        self._reader.clear_range(begin, end)

    def _atomic_op(self, op: AtomicOp, key: bytes, operand: bytes) -> None:
        match op:
            case AtomicOp.ADD:
                self._reader.add(key, operand)
            case AtomicOp.MIN:
                self._reader.min(key, operand)
            case AtomicOp.MAX:
                self._reader.max(key, operand)


class FdbEngine(Engine):
    """FoundationDB behind the engine interface."""

    name: ClassVar[str] = "fdb"

    def __init__(
        self,
        cluster_file: str | os.PathLike[str] | None = None,
        *,
        limits: EngineLimits | None = None,
        retry: RetryPolicy | None = None,
        threads: int = 16,
        probe: bool = True,
    ) -> None:
        self.cluster_file = resolve_cluster_file(cluster_file)
        self._fdb = _load_fdb()
        try:
            self._db = self._fdb.open(str(self.cluster_file))
        except self._fdb.FDBError as exc:
            raise EngineUnavailable(f"cannot open FoundationDB with {self.cluster_file}: {exc}") from exc
        super().__init__(limits or EngineLimits(), retry or RetryPolicy(), threads)
        if probe:
            self._probe()

    def _probe(self) -> None:
        tr = self._db.create_transaction()
        tr.options.set_timeout(PROBE_TIMEOUT_MS)
        try:
            tr.get(b"\x00").wait()
        except self._fdb.FDBError as exc:
            raise EngineUnavailable(
                f"FoundationDB at {self.cluster_file} is not reachable within {PROBE_TIMEOUT_MS} ms: {exc}"
            ) from exc

    def _transact[T](self, fn: Callable[[Transaction], T]) -> T:
        tr = self._db.create_transaction()

        def attempt() -> T:
            wrapped = FdbTransaction(tr, self.limits, self._fdb)
            try:
                result = fn(wrapped)
                wrapped.check_alive()
                tr.commit().wait()
                return result
            except self._fdb.FDBError as exc:
                raise map_fdb_error(exc.code, exc.description) from exc
            finally:
                wrapped._close()

        return self._retry_loop(attempt, lambda err, retry: self._on_error(tr, err, retry))

    def _read[T](self, fn: Callable[[ReadTransaction], T]) -> T:
        tr = self._db.create_transaction()

        def attempt() -> T:
            wrapped = FdbReadTransaction(tr.snapshot, self.limits, self._fdb)
            try:
                return fn(wrapped)
            except self._fdb.FDBError as exc:
                raise map_fdb_error(exc.code, exc.description) from exc
            finally:
                wrapped._close()

        return self._retry_loop(attempt, lambda err, retry: self._on_error(tr, err, retry))

    def _on_error(self, tr: Any, err: StoreError, retry: int) -> None:
        cause = err.__cause__
        if isinstance(cause, self._fdb.FDBError):
            try:
                tr.on_error(cause).wait()  # FoundationDB's backoff; also resets the transaction
                return
            except self._fdb.FDBError as exc:
                # on_error gives back the codes it does not retry; we got here because we count this one
                # as transient (a timeout, say), so we retry it ourselves. Any other failure propagates.
                if exc.code != cause.code:
                    raise map_fdb_error(exc.code, exc.description) from exc
        # Raised by our own checks, by fn itself or a transient code: start over with our backoff.
        tr.reset()
        self._backoff(err, retry)

    def _close(self) -> None:
        # The bindings have no way to close a database; the network thread lives as long as the process.
        self._db = None
