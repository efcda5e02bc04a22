"""The embedded engine: LMDB through the ``lmdb`` package, one directory, many processes and threads.

Why this is serialisable: LMDB admits one write transaction at a time across every process sharing
the directory (a robust mutex in its lock file), and :meth:`LmdbEngine.transact` holds that write
transaction for the whole run of ``fn``, so read-modify-write sequences never interleave and
:class:`ConflictError` never arises from the engine itself. Readers get MVCC snapshots and never block
the writer. Consequently, keep write functions short: the transaction age limit (5 s) also bounds how
long one writer can hold everybody else up.

Threads: py-lmdb opens environments with ``MDB_NOTLS``, so read transactions may be used from any
thread, but a write transaction (and LMDB's write mutex) belongs to the thread that began it. Each
``transact`` therefore begins, runs ``fn``, and commits on one thread (the async variants run all of it
on one executor thread). Within one process, writers also queue on a lock of ours before LMDB's mutex,
and one environment is shared by every engine opened on the same directory, because LMDB forbids
opening an environment twice in a process (its POSIX locks are per process).

Space: the map is a sparse file reserved up to ``map_size`` (64 GiB by default, costing nothing until
used). When it is full, writes fail with :class:`EngineFull` naming the size; raise the map size and
reopen. Every process should use the same map size.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import lmdb

from . import lmdb_layout as layout
from .atomic import AtomicOp, apply_atomic
from .base import Engine, KeyValue, ReadTransaction, Transaction
from .errors import EngineError, EngineFull, EngineUnavailable, RetryableEngineError, StoreError
from .limits import EngineLimits, RetryPolicy

DEFAULT_MAP_SIZE = 64 * 1024**3
DEFAULT_MAX_READERS = 1024
_FIRST_BATCH = 128
_MAX_BATCH = 4096


@dataclass
class _SharedEnv:
    env: Any
    map_size: int
    users: int
    write_lock: threading.Lock


_ENVS: dict[tuple[int, str], _SharedEnv] = {}
_ENVS_LOCK = threading.Lock()


def _acquire_env(
    path: Path, map_size: int, max_readers: int, sync: bool
) -> tuple[tuple[int, str], _SharedEnv]:
    # Keyed by pid too: an environment inherited through fork() must not be used by the child.
    key = (os.getpid(), str(path.resolve()))
    with _ENVS_LOCK:
        shared = _ENVS.get(key)
        if shared is None:
            try:
                path.mkdir(parents=True, exist_ok=True)
                env = lmdb.open(
                    str(path),
                    map_size=map_size,
                    max_readers=max_readers,
                    max_dbs=0,
                    subdir=True,
                    sync=sync,
                    metasync=sync,
                    # Reads are mostly random over data larger than RAM; readahead only evicts.
                    readahead=False,
                    lock=True,
                )
                env.reader_check()  # free slots left by crashed processes
                _check_format(env)
            except lmdb.Error as exc:
                raise EngineUnavailable(f"cannot open the LMDB engine at {path}: {exc}") from exc
            except OSError as exc:
                raise EngineUnavailable(f"cannot create the LMDB directory {path}: {exc}") from exc
            shared = _SharedEnv(env, map_size, 0, threading.Lock())
            _ENVS[key] = shared
        shared.users += 1
        return key, shared


def _release_env(key: tuple[int, str]) -> None:
    with _ENVS_LOCK:
        shared = _ENVS.get(key)
        if shared is None:
            return
        shared.users -= 1
        if shared.users == 0:
            del _ENVS[key]
            shared.env.close()


def _check_format(env: Any) -> None:
    with env.begin(write=True) as txn:
        found = txn.get(layout.META_FORMAT)
        if found is None:
            txn.put(layout.META_FORMAT, layout.FORMAT_VERSION)
        elif found != layout.FORMAT_VERSION:
            raise EngineUnavailable(
                f"the LMDB directory holds key layout format {found!r}; "
                f"this code reads {layout.FORMAT_VERSION!r}"
            )


class LmdbReadTransaction(ReadTransaction):
    """A read-only LMDB snapshot."""

    def __init__(self, txn: Any, limits: EngineLimits) -> None:
        super().__init__(limits)
        self._txn = txn

    def _get(self, key: bytes) -> bytes | None:
        return layout.get(self._txn, key)

    def _range(self, begin: bytes, end: bytes, limit: int, reverse: bool) -> Iterator[KeyValue]:
        # Fetch in batches and re-seek after each: nothing holds a cursor while the caller runs, so the
        # caller may write between rows (and later batches see those writes, as FoundationDB's do).
        batch = min(limit, _FIRST_BATCH) if limit else _FIRST_BATCH
        while True:
            self.check_alive()
            walk: Generator[KeyValue] = (layout.iter_reverse if reverse else layout.iter_forward)(
                self._txn, begin, end
            )
            try:
                rows = list(itertools.islice(walk, batch))
            finally:
                walk.close()
            yield from rows
            if len(rows) < batch:
                return
            if reverse:
                end = rows[-1][0]
            else:
                begin = rows[-1][0] + b"\x00"
            batch = min(batch * 2, _MAX_BATCH)


class LmdbTransaction(LmdbReadTransaction, Transaction):
    """A read-write LMDB transaction; it holds LMDB's single write lock until it commits or aborts."""

    def _set(self, key: bytes, value: bytes) -> None:
        layout.put(self._txn, key, value)

    def _clear(self, key: bytes) -> None:
        layout.delete(self._txn, key)

    def _clear_range(self, begin: bytes, end: bytes) -> None:
        while True:
            keys = [k for k, _ in itertools.islice(layout.iter_forward(self._txn, begin, end), _MAX_BATCH)]
            for key in keys:
                layout.delete(self._txn, key)
            if len(keys) < _MAX_BATCH:
                return
            self.check_alive()
            begin = keys[-1] + b"\x00"

    def _atomic_op(self, op: AtomicOp, key: bytes, operand: bytes) -> None:
        layout.put(self._txn, key, apply_atomic(op, layout.get(self._txn, key), operand))


class LmdbEngine(Engine):
    """The embedded engine over an LMDB directory (see the module docstring)."""

    name: ClassVar[str] = "lmdb"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        map_size: int = DEFAULT_MAP_SIZE,
        max_readers: int = DEFAULT_MAX_READERS,
        sync: bool = True,
        limits: EngineLimits | None = None,
        retry: RetryPolicy | None = None,
        threads: int = 16,
    ) -> None:
        self.path = Path(path)
        self._env_key, self._shared = _acquire_env(self.path, map_size, max_readers, sync)
        super().__init__(limits or EngineLimits(), retry or RetryPolicy(), threads)
        self._local = threading.local()

    @property
    def map_size(self) -> int:
        """The size the LMDB map may grow to, in bytes."""
        return int(self._shared.env.info()["map_size"])

    def _transact[T](self, fn: Callable[[Transaction], T]) -> T:
        return self._retry_loop(lambda: self._write_once(fn), self._backoff)

    def _read[T](self, fn: Callable[[ReadTransaction], T]) -> T:
        return self._retry_loop(lambda: self._read_once(fn), self._backoff)

    def _write_once[T](self, fn: Callable[[Transaction], T]) -> T:
        if getattr(self._local, "writing", False):
            raise StoreError("transact() called inside a transact() function on the same thread")
        env = self._shared.env
        with self._shared.write_lock:
            self._local.writing = True
            try:
                txn = self._begin(write=True)
                tr = LmdbTransaction(txn, self.limits)
                done = False
                try:
                    result = fn(tr)
                    tr.check_alive()  # a commit after the age limit fails, as on FoundationDB
                    txn.commit()
                    done = True
                    return result
                except lmdb.Error as exc:
                    raise self._translate(exc, env) from exc
                finally:
                    tr._close()
                    if not done:
                        _abort_quietly(txn)
            finally:
                self._local.writing = False

    def _read_once[T](self, fn: Callable[[ReadTransaction], T]) -> T:
        txn = self._begin(write=False)
        tr = LmdbReadTransaction(txn, self.limits)
        try:
            return fn(tr)
        except lmdb.Error as exc:
            raise self._translate(exc, self._shared.env) from exc
        finally:
            tr._close()
            _abort_quietly(txn)

    def _begin(self, *, write: bool) -> Any:
        try:
            return self._shared.env.begin(write=write, buffers=False)
        except lmdb.Error as exc:
            raise self._translate(exc, self._shared.env) from exc

    def _translate(self, exc: lmdb.Error, env: Any) -> StoreError:
        if isinstance(exc, lmdb.MapFullError):
            return EngineFull(
                f"the LMDB map at {self.path} is full ({self._shared.map_size} bytes); "
                "reopen with a larger map size (MATYAN_LMDB_MAP_SIZE)"
            )
        if isinstance(exc, lmdb.MapResizedError):
            return EngineUnavailable(
                f"another process grew the LMDB map at {self.path} beyond this process's "
                f"{self._shared.map_size} bytes; restart with the same map size everywhere"
            )
        if isinstance(exc, lmdb.ReadersFullError):
            return RetryableEngineError(
                f"all LMDB reader slots at {self.path} are in use; raise max_readers ({exc})"
            )
        return EngineError(f"LMDB error at {self.path}: {exc}")

    def _close(self) -> None:
        _release_env(self._env_key)


def _abort_quietly(txn: Any) -> None:
    with contextlib.suppress(lmdb.Error):  # already finished (e.g. a failed commit frees it)
        txn.abort()
