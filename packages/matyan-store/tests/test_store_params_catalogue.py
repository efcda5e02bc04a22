"""The params catalogue answers what a scan of every run answers, through writes, moves and deletes.

Random write sequences (:mod:`store_run_writes`); after each sequence the catalogue's answer must
equal :func:`scan_project_params` and ``check_indexes`` must find nothing.
"""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_bookkeeping_fixtures import kv
from store_run_writes import OPS, apply_op

from matyan_store import params_catalogue, runs
from matyan_store.engine import Engine, Transaction, open_engine
from matyan_store.params_catalogue import read_project_params, scan_project_params
from matyan_store.reindex import check_indexes
from matyan_store.sequences import Point, SeriesKey
from matyan_store.values import encode_value

__all__ = ["kv"]


def _assert_catalogue_matches_scan(engine: Engine) -> None:
    from_catalogue = engine.read(read_project_params)
    scanned = scan_project_params(engine)
    assert from_catalogue.params == scanned.params
    assert from_catalogue.traces == scanned.traces


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPS, min_size=1, max_size=30))
def test_catalogue_equals_scan_through_random_writes_and_deletes(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"lmdb://{Path(tmp) / 'kv'}?sync=false&map_size={1 << 28}")
        try:
            for op in ops:
                engine.transact(partial(apply_op, op=op))
            _assert_catalogue_matches_scan(engine)
            report = check_indexes(engine)
            assert report.catalogue_differences == 0, report.differences
        finally:
            engine.close()


def _populate(engine: Engine) -> None:
    def write(tr: Transaction) -> None:
        runs.create_run(tr, "a", created_at=1.0)
        runs.set_run_attrs(tr, "a", (), {"hp": {"lr": 0.1, "bs": 8}, "__system_params": {"x": 1}})
        runs.create_run(tr, "b", created_at=2.0)
        runs.set_run_attrs(tr, "b", (), {"hp": {"lr": 0.2}, "only_b": True})
        for run_id, subset in (("a", "train"), ("b", "val")):
            ctx = runs.set_context(tr, run_id, {"subset": subset})
            runs.write_run_series(tr, SeriesKey(run_id, ctx, "loss"), [Point(0, 1.0)], "float")

    engine.transact(write)


def test_a_param_only_a_deleted_run_had_disappears(kv: Engine) -> None:
    _populate(kv)
    before = kv.read(read_project_params)
    assert before.params == {"hp": {"lr": 0.2, "bs": 8}, "only_b": True}
    assert before.traces["metric"] == {"loss": [{"subset": "train"}, {"subset": "val"}]}
    kv.transact(lambda tr: runs.mark_pending_deletion(tr, "b"))
    after = kv.read(read_project_params)
    assert after.params == {"hp": {"lr": 0.1, "bs": 8}}
    assert after.traces["metric"] == {"loss": [{"subset": "train"}]}
    kv.transact(lambda tr: runs.delete_run_data(tr, "a", max_bytes=1 << 20))
    empty = kv.read(read_project_params)
    assert empty.params == {}
    assert empty.traces["metric"] == {}
    # Nothing of the deleted runs is left behind in the catalogue.
    begin, end = params_catalogue.CATALOGUE.prefix_range()
    assert kv.read(lambda tr: list(tr.get_range(begin, end))) == []


def test_rewrites_and_created_at_moves_change_the_winner(kv: Engine) -> None:
    _populate(kv)
    kv.transact(lambda tr: runs.set_run_attrs(tr, "b", ("hp", "lr"), 0.3))
    assert kv.read(read_project_params).params["hp"] == {"lr": 0.3, "bs": 8}
    # "a" now comes last, so its leaves win and its trace context is listed after b's.
    kv.transact(lambda tr: runs.update_run(tr, "a", created_at=9.0))
    moved = kv.read(read_project_params)
    assert moved.params == {"hp": {"lr": 0.1, "bs": 8}, "only_b": True}
    assert moved.traces["metric"] == {"loss": [{"subset": "val"}, {"subset": "train"}]}
    # A leaf replacing a dict hides everything earlier runs had below it.
    kv.transact(lambda tr: runs.set_run_attrs(tr, "a", ("hp",), "none"))
    assert kv.read(read_project_params).params == {"hp": "none", "only_b": True}
    assert kv.read(read_project_params) == scan_project_params(kv)


def test_check_indexes_rebuilds_a_missing_catalogue(kv: Engine) -> None:
    _populate(kv)
    expected = scan_project_params(kv)
    kv.transact(params_catalogue.clear_catalogue)  # a store written before the catalogue existed
    assert kv.read(read_project_params).params == {}
    report = check_indexes(kv)
    assert report.catalogue_differences > 0
    assert not report.clean
    fixed = check_indexes(kv, fix=True)
    assert fixed.catalogue_differences > 0
    assert kv.read(read_project_params) == expected
    assert check_indexes(kv).clean


def test_check_indexes_repairs_a_stale_summary_and_a_leftover_run(kv: Engine) -> None:
    _populate(kv)
    expected = scan_project_params(kv)

    def corrupt(tr: Transaction) -> None:
        # A summary pointing at the wrong run, and catalogue entries of a run that no longer exists.
        stale = {"v": [1.0, "a", False], "d": None}
        tr.set(params_catalogue.CATALOGUE.pack(("ps", ("only_b",))), encode_value(stale))
        tr.set(params_catalogue.CATALOGUE.pack(("ro", "ghost")), encode_value(5.0))
        # The trace summary of "loss"/val claiming run "a" (which has no such series) came first.
        ctx = runs.set_context(tr, "b", {"subset": "val"})
        key = params_catalogue.CATALOGUE.pack(("ts", "metric", "loss", ctx))
        tr.set(key, encode_value({"o": [0.5, "a"], "c": {"subset": "val"}}))

    kv.transact(corrupt)
    assert kv.read(read_project_params) != expected
    # One key per page: the check walks params summaries, then trace summaries, across pages.
    report = check_indexes(kv, page=1)
    assert report.catalogue_differences >= 3, report.differences
    assert any("trace catalogue summary" in d for d in report.differences)
    assert any("ghost" in d for d in report.differences)
    check_indexes(kv, fix=True, page=1)
    assert kv.read(read_project_params) == expected
    assert check_indexes(kv).clean
