"""Runs: complete meta, indexes and entity counts in step, attributes, contexts, tags, pending deletion."""

from __future__ import annotations

from typing import Any

import pytest
from store_lmdb_fixture import lmdb_engine

from matyan_store import entities, indexes, runs
from matyan_store.engine import Engine, ReadTransaction, Transaction
from matyan_store.reindex import check_indexes

__all__ = ["lmdb_engine"]


def _experiment(engine: Engine, name: str) -> str:
    return engine.transact(lambda tr: entities.create_experiment(tr, name).id)


def _tag(engine: Engine, name: str) -> str:
    return engine.transact(lambda tr: entities.create_tag(tr, name).id)


def test_create_writes_complete_meta_and_indexes(lmdb_engine: Engine) -> None:
    exp = _experiment(lmdb_engine, "baseline")
    meta = lmdb_engine.transact(lambda tr: runs.create_run(tr, "r1", experiment_id=exp, created_at=100.0))
    assert meta.name == "Run: r1"
    assert (meta.active, meta.archived, meta.pending_deletion) == (True, False, False)
    stored = lmdb_engine.read(lambda tr: runs.get_run(tr, "r1"))
    assert stored == meta
    assert lmdb_engine.read(lambda tr: indexes.lookup(tr, "experiment", exp)) == ["r1"]
    assert lmdb_engine.read(lambda tr: indexes.lookup(tr, "active", True)) == ["r1"]
    assert lmdb_engine.read(lambda tr: list(indexes.iter_created_at(tr))) == [(100.0, "r1")]
    assert lmdb_engine.read(lambda tr: entities.get_experiment(tr, exp)).run_count == 1  # type: ignore[union-attr]


def test_recreate_replaces_index_entries(lmdb_engine: Engine) -> None:
    lmdb_engine.transact(lambda tr: runs.create_run(tr, "r1", created_at=1.0))
    lmdb_engine.transact(lambda tr: runs.update_run(tr, "r1", active=False))
    lmdb_engine.transact(lambda tr: runs.create_run(tr, "r1", created_at=2.0))
    assert lmdb_engine.read(lambda tr: list(indexes.iter_created_at(tr))) == [(2.0, "r1")]
    assert lmdb_engine.read(lambda tr: indexes.lookup(tr, "active", False)) == []
    with pytest.raises(runs.RunExists):
        lmdb_engine.transact(lambda tr: runs.create_run(tr, "r1", exist_ok=False))


def test_any_non_empty_id_round_trips(lmdb_engine: Engine) -> None:
    ids = [
        "0123456789abcdef0123456789abcdef",
        "0123-4567-89ab",
        "01HZXJ3K4M5N6P7Q8R9S0T1V2W",
        "integration-ab12",
        "ü ran",
    ]

    def create_all(tr: Transaction) -> None:
        for run_id in ids:
            runs.create_run(tr, run_id)

    lmdb_engine.transact(create_all)
    assert [m.run_id for m in lmdb_engine.read(lambda tr: runs.get_runs(tr, ids)) if m] == ids
    assert lmdb_engine.read(lambda tr: sorted(runs.iter_run_ids(tr))) == sorted(ids)
    with pytest.raises(ValueError, match="non-empty"):
        lmdb_engine.transact(lambda tr: runs.create_run(tr, ""))


def test_update_moves_indexes_and_experiment_counts(lmdb_engine: Engine) -> None:
    a, b = _experiment(lmdb_engine, "a"), _experiment(lmdb_engine, "b")
    lmdb_engine.transact(lambda tr: runs.create_run(tr, "r1", experiment_id=a))
    lmdb_engine.transact(lambda tr: runs.update_run(tr, "r1", archived=True, name="renamed"))
    lmdb_engine.transact(lambda tr: runs.set_run_experiment(tr, "r1", b))

    def counts(tr: ReadTransaction) -> tuple[int, int]:
        ea, eb = entities.get_experiment(tr, a), entities.get_experiment(tr, b)
        assert ea is not None
        assert eb is not None
        return ea.run_count, eb.run_count

    assert lmdb_engine.read(counts) == (0, 1)
    assert lmdb_engine.read(lambda tr: indexes.lookup(tr, "archived", True)) == ["r1"]
    assert lmdb_engine.read(lambda tr: indexes.lookup(tr, "experiment", b)) == ["r1"]
    assert lmdb_engine.read(lambda tr: runs.get_run(tr, "r1")).name == "renamed"  # type: ignore[union-attr]
    with pytest.raises(runs.RunNotFound):
        lmdb_engine.transact(lambda tr: runs.update_run(tr, "missing", name="x"))
    with pytest.raises(TypeError, match="unknown run meta"):
        lmdb_engine.transact(lambda tr: runs.update_run(tr, "r1", colour="red"))


def test_tags_are_counted_once(lmdb_engine: Engine) -> None:
    tag = _tag(lmdb_engine, "best")
    lmdb_engine.transact(lambda tr: runs.create_run(tr, "r1"))
    assert lmdb_engine.transact(lambda tr: runs.add_run_tag(tr, "r1", tag)) is True
    assert lmdb_engine.transact(lambda tr: runs.add_run_tag(tr, "r1", tag)) is False
    assert lmdb_engine.read(lambda tr: entities.get_tag(tr, tag)).run_count == 1  # type: ignore[union-attr]
    assert lmdb_engine.read(lambda tr: indexes.lookup(tr, "tag", tag)) == ["r1"]
    assert lmdb_engine.read(lambda tr: runs.get_run_tag_ids(tr, "r1")) == [tag]
    assert lmdb_engine.transact(lambda tr: runs.remove_run_tag(tr, "r1", tag)) is True
    assert lmdb_engine.transact(lambda tr: runs.remove_run_tag(tr, "r1", tag)) is False
    assert lmdb_engine.read(lambda tr: entities.get_tag(tr, tag)).run_count == 0  # type: ignore[union-attr]


def test_root_attrs_write_keeps_other_keys_and_reindexes_hparams(lmdb_engine: Engine) -> None:
    lmdb_engine.transact(lambda tr: runs.create_run(tr, "r1"))
    lmdb_engine.transact(
        lambda tr: runs.set_run_attrs(tr, "r1", ("__blobs__",), {"a.png": {"s3_key": "r1/a.png"}})
    )
    lmdb_engine.transact(
        lambda tr: runs.set_run_attrs(tr, "r1", (), {"hparams": {"lr": 0.1}, "batch_size": 32})
    )
    attrs = lmdb_engine.read(lambda tr: runs.get_run_attrs(tr, "r1"))
    assert attrs == {"__blobs__": {"a.png": {"s3_key": "r1/a.png"}}, "batch_size": 32, "hparams": {"lr": 0.1}}
    assert lmdb_engine.read(lambda tr: indexes.lookup_hparam_eq(tr, "lr", 0.1)) == ["r1"]
    lmdb_engine.transact(lambda tr: runs.set_run_attrs(tr, "r1", ("hparams", "lr"), 1))
    assert lmdb_engine.read(lambda tr: indexes.lookup_hparam_eq(tr, "lr", 1.0)) == ["r1"]
    lmdb_engine.transact(lambda tr: runs.merge_run_attrs(tr, "r1", ("hparams",), {"opt": "adam"}))
    assert lmdb_engine.read(lambda tr: runs.get_run_attrs(tr, "r1", ("hparams",))) == {"lr": 1, "opt": "adam"}
    assert lmdb_engine.read(lambda tr: indexes.lookup_hparam_eq(tr, "opt", "adam")) == ["r1"]


def test_contexts_by_id(lmdb_engine: Engine) -> None:
    ctx: dict[str, Any] = {"subset": "train", "n": 1}
    ctx_id = lmdb_engine.transact(lambda tr: runs.set_context(tr, "r1", ctx))
    assert ctx_id != 0
    assert lmdb_engine.transact(lambda tr: runs.set_context(tr, "r1", None)) == 0
    assert lmdb_engine.read(lambda tr: runs.get_context(tr, "r1", ctx_id)) == ctx
    assert lmdb_engine.read(lambda tr: runs.get_contexts(tr, "r1")) == {0: {}, ctx_id: ctx}


def test_pending_deletion_hides_the_run(lmdb_engine: Engine) -> None:
    exp, tag = _experiment(lmdb_engine, "e"), _tag(lmdb_engine, "t")

    def setup(tr: Transaction) -> None:
        runs.create_run(tr, "r1", experiment_id=exp)
        runs.add_run_tag(tr, "r1", tag)

    lmdb_engine.transact(setup)
    assert lmdb_engine.transact(lambda tr: runs.mark_pending_deletion(tr, "r1")) is True
    assert lmdb_engine.read(lambda tr: runs.get_run(tr, "r1")) is None
    assert lmdb_engine.read(lambda tr: runs.get_run(tr, "r1", include_pending=True)) is not None
    assert lmdb_engine.read(lambda tr: indexes.run_index_entries(tr, "r1")) == []
    assert lmdb_engine.read(lambda tr: entities.get_experiment(tr, exp)).run_count == 0  # type: ignore[union-attr]
    assert lmdb_engine.read(lambda tr: entities.get_tag(tr, tag)).run_count == 0  # type: ignore[union-attr]
    assert lmdb_engine.transact(lambda tr: runs.mark_pending_deletion(tr, "r1")) is False
    assert check_indexes(lmdb_engine).clean


def test_detach_experiment_and_tag(lmdb_engine: Engine) -> None:
    exp, tag = _experiment(lmdb_engine, "e"), _tag(lmdb_engine, "t")

    def setup(tr: Transaction) -> None:
        for run_id in ("r1", "r2"):
            runs.create_run(tr, run_id, experiment_id=exp)
            runs.add_run_tag(tr, run_id, tag)

    lmdb_engine.transact(setup)
    assert lmdb_engine.transact(lambda tr: runs.detach_experiment(tr, exp)) == ["r1", "r2"]
    assert lmdb_engine.transact(lambda tr: runs.detach_tag(tr, tag)) == ["r1", "r2"]
    assert lmdb_engine.read(lambda tr: runs.get_run(tr, "r1")).experiment_id is None  # type: ignore[union-attr]
    assert lmdb_engine.read(lambda tr: runs.get_run_tag_ids(tr, "r2")) == []
    assert check_indexes(lmdb_engine).clean


def test_bounded_delete_leaves_only_a_tombstone(lmdb_engine: Engine) -> None:
    from matyan_store import sequences, tombstones
    from matyan_store.codec import Point

    tag = _tag(lmdb_engine, "t")

    def setup(tr: Transaction) -> None:
        runs.create_run(tr, "big")
        runs.add_run_tag(tr, "big", tag)
        runs.set_run_attrs(tr, "big", (), {"hparams": {"lr": 0.1}})
        ctx = runs.set_context(tr, "big", {"subset": "train"})
        for name in ("loss", "acc"):
            key = sequences.SeriesKey("big", ctx, name)
            sequences.write_points(tr, key, [Point(i, float(i), None, None) for i in range(20_000)], "float")
            indexes.index_trace(tr, "big", name)

    lmdb_engine.transact(setup)
    lmdb_engine.transact(lambda tr: runs.create_run(tr, "kept"))
    calls = 0
    while not lmdb_engine.transact(lambda tr: runs.delete_run_data(tr, "big", max_bytes=2_000, now=42.0)):
        calls += 1
        assert calls < 10_000
    assert calls >= 1  # the run needed more than one bounded transaction
    assert lmdb_engine.read(lambda tr: runs.get_run(tr, "big", include_pending=True)) is None
    assert lmdb_engine.read(lambda tr: sequences.list_run_series(tr, "big")) == []
    assert lmdb_engine.read(lambda tr: tombstones.deleted_at(tr, "big")) == 42.0
    assert lmdb_engine.read(lambda tr: list(runs.iter_run_ids(tr))) == ["kept"]
    assert lmdb_engine.read(lambda tr: entities.get_tag(tr, tag)).run_count == 0  # type: ignore[union-attr]
    assert check_indexes(lmdb_engine).clean


def test_reindex_reports_and_repairs_planted_damage(lmdb_engine: Engine) -> None:
    tag = _tag(lmdb_engine, "t")

    def setup(tr: Transaction) -> None:
        runs.create_run(tr, "r1", created_at=5.0)
        runs.add_run_tag(tr, "r1", tag)
        runs.set_run_attrs(tr, "r1", ("hparams",), {"lr": 0.5})

    lmdb_engine.transact(setup)

    def damage(tr: Transaction) -> None:
        indexes.set_index_entry(tr, "hparam", ("lr", 2, 0.5), "r1", present=False)
        indexes.set_index_entry(tr, "archived", (True,), "ghost", present=True)
        tr.set(indexes.IDX.pack(("trace", "orphan", "r1")), b"")
        entities.adjust_tag_run_count(tr, tag, +3)

    lmdb_engine.transact(damage)
    report = check_indexes(lmdb_engine)
    assert (report.missing_entries, report.extra_entries, report.orphan_entries) == (1, 1, 1)
    assert report.run_count_fixes == 1
    assert not report.clean
    assert lmdb_engine.read(lambda tr: indexes.lookup_hparam_eq(tr, "lr", 0.5)) == []  # verify wrote nothing
    fixed = check_indexes(lmdb_engine, fix=True, page=1)
    assert fixed.fixed
    assert check_indexes(lmdb_engine).clean
    assert lmdb_engine.read(lambda tr: indexes.lookup_hparam_eq(tr, "lr", 0.5)) == ["r1"]
    assert lmdb_engine.read(lambda tr: entities.get_tag(tr, tag)).run_count == 1  # type: ignore[union-attr]
