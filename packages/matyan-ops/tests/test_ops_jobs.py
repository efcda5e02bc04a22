"""reindex, finish-stale, cleanup-tombstones and cleanup-orphan-blobs: effects, dry runs and locks."""

from __future__ import annotations

import json
import threading
import time
from functools import partial
from pathlib import Path

import pytest
from ops_store_fixtures import Place, blob_store, key_count, make_place, open_at, populate, snapshot

from matyan_ops import cleanup_jobs
from matyan_ops.job_lock import JobLock, LockBusy
from matyan_ops.ops_commands import (
    cleanup_orphan_blobs_command,
    cleanup_tombstones_command,
    finish_stale_command,
    reindex_command,
)
from matyan_store import indexes, locks, runs, sequences, tombstones
from matyan_store.engine import Transaction
from matyan_store.sequences import Point, SeriesKey

HOUR = 3600.0


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Place:
    p = make_place(tmp_path, "store")
    with open_at(p) as engine:
        populate(engine)
    p.env(monkeypatch)
    return p


def test_reindex_verify_only_finds_planted_entry_and_reindex_fixes_it(
    place: Place, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_at(place) as engine:
        # A stale entry (an hparam value the run does not have) and a missing one (r2's created_at).
        engine.transact(lambda tr: indexes.set_index_entry(tr, "hparam", ("lr", 2, 9.0), "r1", present=True))
        engine.transact(
            lambda tr: indexes.set_index_entry(tr, "created_at", (1_700_000_010.5,), "r2", present=False)
        )
        planted = key_count(engine)
    capsys.readouterr()
    assert reindex_command(verify_only=True, json_output=True) == 1
    found = json.loads(capsys.readouterr().out)
    assert (found["extra_entries"], found["missing_entries"], found["fixed"]) == (1, 1, False)
    assert any("hparam" in d for d in found["differences"])
    with open_at(place) as engine:
        assert key_count(engine) == planted
        assert "r1" in engine.read(lambda tr: indexes.lookup_hparam_eq(tr, "lr", 9.0))
    assert reindex_command(json_output=True) == 0
    assert json.loads(capsys.readouterr().out)["fixed"] is True
    assert reindex_command(verify_only=True, json_output=True) == 0
    assert json.loads(capsys.readouterr().out)["clean"] is True
    with open_at(place) as engine:
        assert engine.read(lambda tr: indexes.lookup_hparam_eq(tr, "lr", 9.0)) == []
        assert [r for _, r in engine.read(lambda tr: list(indexes.iter_created_at(tr)))] == ["r1", "r2"]


def test_finish_stale_uses_last_activity_not_creation(
    place: Place, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time()
    with open_at(place) as engine:

        def setup(tr: Transaction) -> None:
            # Both created long ago; r3 logged a point a minute ago, r2 has been silent for two days.
            runs.update_run(tr, "r2", updated_at=now - 48 * HOUR)
            runs.create_run(tr, "r3", created_at=now - 72 * HOUR)
            runs.update_run(tr, "r3", updated_at=now - 72 * HOUR)
            sequences.write_points(tr, SeriesKey("r3", 0, "loss"), [Point(0, 1.0, None, now - 60)], "float")

        engine.transact(setup)
        before = snapshot(engine)
    capsys.readouterr()
    assert finish_stale_command(older_than=24, dry_run=True, json_output=True) == 0
    dry = json.loads(capsys.readouterr().out)
    assert [f["run_id"] for f in dry["finished"]] == ["r2"]
    with open_at(place) as engine:
        assert snapshot(engine) == before
    assert finish_stale_command(older_than=24) == 0
    with open_at(place) as engine:
        r2 = engine.read(lambda tr: runs.get_run(tr, "r2"))
        r3 = engine.read(lambda tr: runs.get_run(tr, "r3"))
        assert r2 is not None
        assert not r2.active
        assert r2.finalized_at is not None
        assert r3 is not None
        assert r3.active
        assert engine.read(lambda tr: indexes.lookup(tr, "active", True)) == ["r3"]


def _tombstone(place: Place, ages_h: dict[str, float]) -> None:
    now = time.time()
    with open_at(place) as engine:
        for run_id, age in ages_h.items():
            engine.transact(partial(tombstones.mark_deleted, run_id=run_id, at=now - age * HOUR))


def test_cleanup_tombstones_clears_only_old_ones(place: Place, capsys: pytest.CaptureFixture[str]) -> None:
    _tombstone(place, {"old1": 200, "old2": 170, "young": 1})
    capsys.readouterr()
    assert cleanup_tombstones_command(dry_run=True, json_output=True) == 0  # default 168 h
    dry = json.loads(capsys.readouterr().out)
    assert sorted(i["run_id"] for i in dry["items"]) == ["old1", "old2"]
    with open_at(place) as engine:
        assert len(engine.read(lambda tr: list(tombstones.iter_tombstones(tr)))) == 3
    assert cleanup_tombstones_command(older_than_hours=180, limit=5, json_output=True) == 0
    assert json.loads(capsys.readouterr().out)["done"] == 1
    with open_at(place) as engine:
        left = [r for r, _ in engine.read(lambda tr: list(tombstones.iter_tombstones(tr)))]
    assert left == ["old2", "young"]


def test_a_held_lock_stops_a_second_cleanup(place: Place, capsys: pytest.CaptureFixture[str]) -> None:
    _tombstone(place, {"old1": 500})
    with open_at(place) as engine:
        assert engine.transact(
            lambda tr: locks.try_acquire(tr, cleanup_jobs.TOMBSTONE_LOCK, 600, "other-host")
        )
    capsys.readouterr()
    assert cleanup_tombstones_command(lock_ttl_seconds=60) == 1
    assert "Could not acquire lock" in capsys.readouterr().err
    with open_at(place) as engine:
        assert engine.read(lambda tr: tombstones.is_deleted(tr, "old1"))
        engine.transact(lambda tr: locks.release(tr, cleanup_jobs.TOMBSTONE_LOCK, "other-host"))
    assert cleanup_tombstones_command(lock_ttl_seconds=60) == 0
    with open_at(place) as engine:
        assert not engine.read(lambda tr: tombstones.is_deleted(tr, "old1"))
        assert engine.read(lambda tr: locks.get_lock(tr, cleanup_jobs.TOMBSTONE_LOCK)) is None  # released


def test_two_concurrent_job_locks_exclude_each_other(tmp_path: Path) -> None:
    place = make_place(tmp_path, "locks")
    guard = threading.Lock()
    holding = 0
    most = 0
    outcomes: list[bool] = []
    with open_at(place) as engine:
        barrier = threading.Barrier(8)

        def contend() -> None:
            nonlocal holding, most
            barrier.wait()
            try:
                with JobLock(engine, cleanup_jobs.ORPHAN_LOCK, 60):
                    with guard:
                        holding += 1
                        most = max(most, holding)
                    time.sleep(0.2)  # hold it while the others try
                    with guard:
                        holding -= 1
                outcomes.append(True)
            except LockBusy:
                outcomes.append(False)

        threads = [threading.Thread(target=contend) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert most == 1
    assert outcomes.count(False) >= 1
    assert len(outcomes) == 8


def test_cleanup_orphan_blobs(place: Place, capsys: pytest.CaptureFixture[str]) -> None:
    store = blob_store(place)
    for key in ("r1/model.pt", "gone/a.bin", "gone/sub/b.bin", "stray/c.bin"):
        store.put(key, b"x")
    _tombstone(place, {"gone": 1})
    capsys.readouterr()
    assert cleanup_orphan_blobs_command(dry_run=True, lock_ttl_seconds=30, json_output=True) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["items"] == [{"run_id": "gone", "deleted_at": dry["items"][0]["deleted_at"], "blobs": 2}]
    assert len(store.list("")) == 4
    assert cleanup_orphan_blobs_command(lock_ttl_seconds=30) == 0
    assert store.list("") == ["r1/model.pt", "stray/c.bin"]
    assert cleanup_orphan_blobs_command(scan_store=True) == 0
    assert store.list("") == ["r1/model.pt"]
    with open_at(place) as engine:
        assert engine.read(lambda tr: tombstones.is_deleted(tr, "gone"))  # tombstones are kept
    store.close()


def test_cleanup_orphan_blobs_never_deletes_another_runs_blobs(
    place: Place, capsys: pytest.CaptureFixture[str]
) -> None:
    # A deleted run whose id lies inside a live run's prefix (run ids are any string on the wire).
    store = blob_store(place)
    for key in ("r1/seq/img/0.png", "r1/model.pt", "gone/a.bin"):
        store.put(key, b"x")
    _tombstone(place, {"r1/seq": 1, "r1/seq/img": 1, "gone": 1})
    capsys.readouterr()
    assert cleanup_orphan_blobs_command(lock_ttl_seconds=30, json_output=True) == 0
    assert store.list("") == ["r1/model.pt", "r1/seq/img/0.png"]
    result = json.loads(capsys.readouterr().out)
    assert (result["skipped"], result["done"], result["blobs_deleted"]) == (2, 1, 1)
    store.close()
