"""Fixtures and helpers of the engine contract tests (imported explicitly, not a conftest).

``engine`` is parametrised over every engine: ``lmdb`` on a fresh temporary directory; ``fdb-simulator``,
the real FoundationDB adapter over the in-process simulator of :mod:`fdb_simulator` (a fresh simulated
cluster per test); and ``fdb`` when ``FDB_CLUSTER_FILE`` points at a reachable cluster (skipped with the
reason otherwise). Tests write only under the ``space`` fixture, a random subspace cleared afterwards, so
the FoundationDB run can share a cluster.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from fdb_simulator import install, write_cluster_file

from matyan_store.engine import (
    Engine,
    EngineLimits,
    EngineUnavailable,
    RetryPolicy,
    Transaction,
    from_le,
    le_int,
    open_engine,
)
from matyan_store.keys import Subspace

SIMULATOR = "fdb-simulator"
ENGINE_KINDS = ["lmdb", SIMULATOR, "fdb"]
# Retries are fast here: the tests provoke them on purpose.
FAST_RETRY = RetryPolicy(max_attempts=5, initial_delay_s=0.001, max_delay_s=0.01)
# Writers in several processes conflict on FoundationDB; they need room to retry.
CONTENDED_RETRY = RetryPolicy(max_attempts=200, initial_delay_s=0.001, max_delay_s=0.05)


def engine_url(kind: str, tmp_path: Path) -> str:
    """The URL opening ``kind``: a fresh LMDB directory (no fsync: speed), or the cluster under test."""
    if kind == "lmdb":
        return f"lmdb://{tmp_path / 'kv'}?sync=false&map_size={1 << 30}&threads=8"
    if kind == SIMULATOR:
        return f"fdb://{write_cluster_file(tmp_path)}?threads=8"
    cluster_file = os.environ.get("FDB_CLUSTER_FILE", "")
    if not cluster_file or not Path(cluster_file).is_file():
        pytest.skip(
            "FoundationDB contract run needs FDB_CLUSTER_FILE pointing at a live cluster (unset here)"
        )
    return f"fdb://{cluster_file}?threads=8"


def open_for_test(
    kind: str, tmp_path: Path, limits: EngineLimits | None = None, retry: RetryPolicy | None = None
) -> Engine:
    """Open ``kind`` for a test, skipping the FoundationDB run when its cluster cannot be reached."""
    url = engine_url(kind, tmp_path)
    try:
        return open_engine(url, limits=limits, retry=retry or FAST_RETRY)
    except EngineUnavailable as exc:
        if kind == "fdb":
            pytest.skip(f"FoundationDB cluster not reachable: {exc}")
        raise


@pytest.fixture(params=ENGINE_KINDS)
def engine_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The engine under test (for the simulator: installed as the ``fdb`` module for this test)."""
    kind = str(request.param)
    if kind == SIMULATOR:
        install(monkeypatch)
    return kind


@pytest.fixture
def engine(engine_kind: str, tmp_path: Path) -> Iterator[Engine]:
    """An open engine of ``engine_kind`` with the default limits."""
    opened = open_for_test(engine_kind, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def space(engine: Engine) -> Iterator[Subspace]:
    """A subspace of its own for one test, cleared at the end."""
    sub = Subspace(("matyan-engine-test", uuid.uuid4().hex))
    yield sub
    engine.transact(lambda tr: tr.clear_range(*sub.prefix_range()))


def set_all(tr: Transaction, items: Iterable[tuple[bytes, bytes]]) -> None:
    """Set every ``(key, value)`` of ``items``."""
    for key, value in items:
        tr.set(key, value)


def clear_all(tr: Transaction, keys: Iterable[bytes]) -> None:
    """Clear every key of ``keys``."""
    for key in keys:
        tr.clear(key)


def increment(tr: Transaction, key: bytes) -> int:
    """Read-modify-write increment of a little-endian counter (deliberately not an atomic add)."""
    value = from_le(tr.get(key)) + 1
    tr.set(key, le_int(value))
    return value


def increment_many(url: str, key: bytes, times: int) -> None:
    """Child-process body: open the engine by URL and increment ``key`` ``times`` times, one txn each."""
    with open_engine(url, retry=CONTENDED_RETRY) as opened:
        for _ in range(times):
            opened.transact(lambda tr: increment(tr, key))
