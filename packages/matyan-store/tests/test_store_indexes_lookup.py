"""Index entries and lookups: hparams ordered numerically across int and float, per-run removal."""

from __future__ import annotations

from typing import Any

import pytest
from store_lmdb_fixture import lmdb_engine

from matyan_store import indexes
from matyan_store.engine import Engine, Transaction
from matyan_store.indexes import Bound

__all__ = ["lmdb_engine"]

HPARAMS: dict[str, dict[str, Any]] = {
    "r-int1": {"lr": 1, "opt": "adam"},
    "r-float05": {"lr": 0.5, "opt": "sgd"},
    "r-float1": {"lr": 1.0},
    "r-float2": {"lr": 2.5},
    "r-neg": {"lr": -3},
    "r-str": {"lr": "high"},
    "r-bool": {"lr": True},
    "r-nan": {"lr": float("nan")},
    "r-none": {"lr": None},
    "r-long": {"lr": "x" * 5000},
    "r-nested": {"lr": {"value": 1}},
}


@pytest.fixture
def indexed(lmdb_engine: Engine) -> Engine:
    def write(tr: Transaction) -> None:
        for run_id, hp in HPARAMS.items():
            indexes.index_hparams(tr, run_id, hp)

    lmdb_engine.transact(write)
    return lmdb_engine


def test_equality_is_numeric(indexed: Engine) -> None:
    assert indexed.read(lambda tr: indexes.lookup_hparam_eq(tr, "lr", 1)) == ["r-bool", "r-float1", "r-int1"]
    assert indexed.read(lambda tr: indexes.lookup_hparam_eq(tr, "lr", 1.0)) == [
        "r-bool",
        "r-float1",
        "r-int1",
    ]
    assert indexed.read(lambda tr: indexes.lookup_hparam_eq(tr, "lr", "high")) == ["r-str"]
    assert indexed.read(lambda tr: indexes.lookup_hparam_eq(tr, "lr", None)) == ["r-none"]
    assert indexed.read(lambda tr: indexes.lookup_hparam_eq(tr, "opt", "adam")) == ["r-int1"]


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (Bound(0, False), None, ["r-bool", "r-float05", "r-float1", "r-float2", "r-int1"]),
        (None, Bound(1, False), ["r-float05", "r-neg"]),
        (None, Bound(1, True), ["r-bool", "r-float05", "r-float1", "r-int1", "r-neg"]),
        (Bound(1, False), None, ["r-float2"]),
        (Bound(0.5, True), Bound(2.5, False), ["r-bool", "r-float05", "r-float1", "r-int1"]),
        (Bound("a", True), None, ["r-str"]),
        (Bound(0, True), Bound("z", True), []),
    ],
)
def test_ranges_stay_within_a_type_family(
    indexed: Engine, lo: Bound | None, hi: Bound | None, expected: list[str]
) -> None:
    assert indexed.read(lambda tr: indexes.lookup_hparam_range(tr, "lr", lo, hi)) == expected


def test_unorderable_values_are_listed_for_evaluation(indexed: Engine) -> None:
    assert indexed.read(lambda tr: indexes.lookup_hparam_unindexed(tr, "lr")) == ["r-long", "r-nan"]


def test_reindexing_hparams_replaces_old_entries(indexed: Engine) -> None:
    indexed.transact(lambda tr: indexes.index_hparams(tr, "r-int1", {"lr": 3}))
    assert indexed.read(lambda tr: indexes.lookup_hparam_eq(tr, "lr", 1)) == ["r-bool", "r-float1"]
    assert indexed.read(lambda tr: indexes.lookup_hparam_eq(tr, "opt", "adam")) == []
    assert indexed.read(lambda tr: indexes.lookup_hparam_eq(tr, "lr", 3)) == ["r-int1"]


def test_run_fields_are_replaced_not_duplicated(lmdb_engine: Engine) -> None:
    def write(tr: Transaction, created: float, archived: bool, exp: str | None) -> None:
        indexes.index_run_fields(
            tr, "run", archived=archived, active=True, created_at=created, experiment_id=exp
        )

    lmdb_engine.transact(lambda tr: write(tr, 10.0, False, "e1"))
    lmdb_engine.transact(lambda tr: write(tr, 20.0, True, "e2"))
    lmdb_engine.transact(lambda tr: write(tr, 20.0, True, None))
    assert lmdb_engine.read(lambda tr: list(indexes.iter_created_at(tr))) == [(20.0, "run")]
    assert lmdb_engine.read(lambda tr: indexes.lookup(tr, "archived", False)) == []
    assert lmdb_engine.read(lambda tr: indexes.lookup(tr, "archived", True)) == ["run"]
    assert lmdb_engine.read(lambda tr: indexes.lookup(tr, "experiment", "e1")) == []
    assert lmdb_engine.read(lambda tr: indexes.lookup(tr, "experiment", "e2")) == []


def test_deindex_removes_every_field(indexed: Engine) -> None:
    def write(tr: Transaction) -> None:
        indexes.index_run_fields(tr, "r-int1", archived=False, active=True, created_at=1.0, experiment_id="e")
        indexes.index_trace(tr, "r-int1", "loss")
        indexes.index_series_stats(tr, "r-int1", "loss", 0, None, {"last": 0.5, "min": 0.1, "max": 2.0})

    indexed.transact(write)
    assert indexed.read(lambda tr: indexes.lookup(tr, "trace", "loss")) == ["r-int1"]
    indexed.transact(lambda tr: indexes.deindex_run(tr, "r-int1"))
    assert indexed.read(lambda tr: indexes.run_index_entries(tr, "r-int1")) == []
    assert indexed.read(lambda tr: indexes.lookup(tr, "trace", "loss")) == []
    assert indexed.read(lambda tr: indexes.lookup_hparam_eq(tr, "lr", 1)) == ["r-bool", "r-float1"]
    assert indexed.read(lambda tr: indexes.lookup_series_range(tr, "last", "loss", 0, None, None)) == []


def test_series_stats_move_with_new_values(lmdb_engine: Engine) -> None:
    lmdb_engine.transact(lambda tr: indexes.index_series_stats(tr, "a", "loss", 0, None, {"last": 1.0}))
    lmdb_engine.transact(lambda tr: indexes.index_series_stats(tr, "b", "loss", 0, None, {"last": 3.0}))
    lmdb_engine.transact(
        lambda tr: indexes.index_series_stats(tr, "a", "loss", 0, {"last": 1.0}, {"last": 5.0})
    )

    def below(tr: Any, value: float) -> list[str]:
        return indexes.lookup_series_range(tr, "last", "loss", 0, None, Bound(value, False))

    assert lmdb_engine.read(lambda tr: below(tr, 4.0)) == ["b"]
    assert lmdb_engine.read(lambda tr: below(tr, 6.0)) == ["a", "b"]


def test_created_at_pages(lmdb_engine: Engine) -> None:
    def write(tr: Transaction) -> None:
        for i in range(10):
            indexes.index_run_fields(
                tr, f"run{i}", archived=False, active=True, created_at=float(i % 5), experiment_id=None
            )

    lmdb_engine.transact(write)
    seen: list[tuple[float, str]] = []
    after: tuple[float, str] | None = None

    def page_after(cursor: tuple[float, str] | None) -> list[tuple[float, str]]:
        return lmdb_engine.read(lambda tr: list(indexes.iter_created_at(tr, after=cursor, limit=3)))

    while True:
        page = page_after(after)
        if not page:
            break
        seen.extend(page)
        after = page[-1]
    assert seen == sorted((float(i % 5), f"run{i}") for i in range(10))
    newest = lmdb_engine.read(lambda tr: list(indexes.iter_created_at(tr, reverse=True, limit=2)))
    assert newest == [(4.0, "run9"), (4.0, "run4")]
    window = lmdb_engine.read(lambda tr: [r for _, r in indexes.iter_created_at(tr, start=1.0, end=2.0)])
    assert window == ["run1", "run6"]
    assert lmdb_engine.read(lambda tr: indexes.count_entries(tr, "archived", False)) == 10
