"""Fixtures of the entity, lock, offset and dead-letter tests (imported explicitly, not a conftest)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from matyan_store.engine import Engine, ReadTransaction, Transaction, open_engine


def lmdb_url(tmp_path: Path) -> str:
    """The URL of a fresh LMDB directory under ``tmp_path`` (no fsync: speed)."""
    return f"lmdb://{tmp_path / 'kv'}?sync=false&map_size={1 << 30}"


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[Engine]:
    """A real LMDB engine on a fresh directory, closed after the test."""
    engine = open_engine(lmdb_url(tmp_path))
    yield engine
    engine.close()


class Boom(Exception):  # noqa: N818 (a deliberate failure, not an error type)
    """Raised inside a transaction on purpose, to check nothing of it is committed."""


def write[T](engine: Engine, fn: Callable[[Transaction], T]) -> T:
    """Run ``fn`` in a committed read-write transaction."""
    return engine.transact(fn)


def read[T](engine: Engine, fn: Callable[[ReadTransaction], T]) -> T:
    """Run ``fn`` on a fresh snapshot."""
    return engine.read(fn)


def all_keys(engine: Engine) -> list[bytes]:
    """Every key in the store (the stores in these tests are small)."""
    return engine.read(lambda tr: [k for k, _ in tr.get_range(b"", b"\xff")])
