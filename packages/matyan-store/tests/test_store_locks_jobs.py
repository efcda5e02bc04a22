"""Job locks: expiry with a controlled clock, renewal, owner-only release, and processes racing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from store_bookkeeping_fixtures import Boom, all_keys, kv, lmdb_url

from matyan_store.engine import Engine, Transaction, open_engine
from matyan_store.keys import LOCKS
from matyan_store.locks import get_lock, release, try_acquire

__all__ = ["kv"]

T0 = 1_000_000.0


def test_free_lock_is_taken_and_blocks_others_until_expiry(kv: Engine) -> None:
    assert kv.transact(lambda tr: try_acquire(tr, "cleanup", 60, "a", now=T0))
    assert kv.read(lambda tr: get_lock(tr, "cleanup")) == ("a", T0 + 60)
    assert not kv.transact(lambda tr: try_acquire(tr, "cleanup", 60, "b", now=T0 + 59.9))
    assert kv.read(lambda tr: get_lock(tr, "cleanup")) == ("a", T0 + 60)
    # At the expiry instant the lock is free.
    assert kv.transact(lambda tr: try_acquire(tr, "cleanup", 10, "b", now=T0 + 60))
    assert kv.read(lambda tr: get_lock(tr, "cleanup")) == ("b", T0 + 70)
    # The previous holder lost it: it can neither renew nor release it.
    assert not kv.transact(lambda tr: try_acquire(tr, "cleanup", 60, "a", now=T0 + 61))
    assert not kv.transact(lambda tr: release(tr, "cleanup", "a"))
    assert kv.read(lambda tr: get_lock(tr, "cleanup")) == ("b", T0 + 70)


def test_owner_renews_its_own_lock(kv: Engine) -> None:
    assert kv.transact(lambda tr: try_acquire(tr, "job", 30, "a", now=T0))
    assert kv.transact(lambda tr: try_acquire(tr, "job", 30, "a", now=T0 + 20))
    assert kv.read(lambda tr: get_lock(tr, "job")) == ("a", T0 + 50)
    assert not kv.transact(lambda tr: try_acquire(tr, "job", 30, "b", now=T0 + 40))


def test_only_the_owner_releases(kv: Engine) -> None:
    assert not kv.transact(lambda tr: release(tr, "job", "a"))  # nothing to release
    assert kv.transact(lambda tr: try_acquire(tr, "job", 30, "a", now=T0))
    assert not kv.transact(lambda tr: release(tr, "job", "b"))
    assert kv.read(lambda tr: get_lock(tr, "job")) is not None
    assert kv.transact(lambda tr: release(tr, "job", "a"))
    assert kv.read(lambda tr: get_lock(tr, "job")) is None
    assert not kv.transact(lambda tr: release(tr, "job", "a"))  # idempotent: already released
    assert kv.transact(lambda tr: try_acquire(tr, "job", 30, "b", now=T0 + 1))
    assert all_keys(kv) == [LOCKS.pack(("job",))]


def test_locks_are_independent_by_name(kv: Engine) -> None:
    assert kv.transact(lambda tr: try_acquire(tr, "one", 30, "a", now=T0))
    assert kv.transact(lambda tr: try_acquire(tr, "two", 30, "b", now=T0))
    assert not kv.transact(lambda tr: try_acquire(tr, "one", 30, "b", now=T0))


def test_corrupt_value_counts_as_free(kv: Engine) -> None:
    kv.transact(lambda tr: tr.set(LOCKS.pack(("job",)), b"\xff\xff"))
    assert kv.read(lambda tr: get_lock(tr, "job")) is None
    assert kv.transact(lambda tr: try_acquire(tr, "job", 5, "a", now=T0))
    assert kv.read(lambda tr: get_lock(tr, "job")) == ("a", T0 + 5)


def test_default_clock_is_now(kv: Engine) -> None:
    assert kv.transact(lambda tr: try_acquire(tr, "job", 3600, "a"))
    held = kv.read(lambda tr: get_lock(tr, "job"))
    assert held is not None
    assert held[0] == "a"
    # Expiry is about an hour after now (compared with the clock, not asserted as a wall time).
    assert held[1] - time.time() > 3000
    assert not kv.transact(lambda tr: try_acquire(tr, "job", 3600, "b"))


@pytest.mark.parametrize(
    ("ttl", "owner"), [(0, "a"), (-1, "a"), (float("inf"), "a"), (float("nan"), "a"), (5, "")]
)
def test_bad_arguments_are_refused(kv: Engine, ttl: float, owner: str) -> None:
    with pytest.raises(ValueError, match="lock"):
        kv.transact(lambda tr: try_acquire(tr, "job", ttl, owner, now=T0))
    assert all_keys(kv) == []


def test_acquire_rolls_back_with_its_transaction(kv: Engine) -> None:
    def fails(tr: Transaction) -> None:
        assert try_acquire(tr, "job", 30, "a", now=T0)
        raise Boom

    with pytest.raises(Boom):
        kv.transact(fails)
    assert kv.read(lambda tr: get_lock(tr, "job")) is None


_RACER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from matyan_store.engine import open_engine
    from matyan_store.locks import try_acquire

    url, go, owner = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    engine = open_engine(url)
    while not go.exists():
        time.sleep(0.005)
    won = engine.transact(lambda tr: try_acquire(tr, "race", 3600.0, owner))
    engine.close()
    print("won" if won else "lost")
    """
)


def test_processes_racing_for_one_lock_exactly_one_wins(tmp_path: Path) -> None:
    url = lmdb_url(tmp_path)
    go = tmp_path / "go"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, url, str(go), f"owner-{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    # Give every process time to open the engine and wait on the start signal, then release them together.
    time.sleep(1.0)
    go.touch()
    results = []
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
        results.append(out.strip())
    assert sorted(results) == ["lost"] * 5 + ["won"]
    winner = f"owner-{results.index('won')}"
    with open_engine(url) as engine:
        held = engine.read(lambda tr: get_lock(tr, "race"))
    assert held is not None
    assert held[0] == winner
