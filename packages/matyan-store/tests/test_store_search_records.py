"""Search records equal what each run's primary data calls for, through random writes, moves and deletes.

After every random write sequence (:mod:`store_run_writes`) the records read in creation order must be
exactly the records built from each live run's meta, tags and attributes, and ``check_indexes`` must
find nothing. ``check_indexes(fix=True)`` rebuilds records that are missing, stale or left behind.
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

from matyan_store import runs, search_records
from matyan_store.engine import Engine, ReadTransaction, Transaction, open_engine
from matyan_store.keys import SEARCH_RECORDS
from matyan_store.reindex import check_indexes
from matyan_store.search_records import SearchRecord

__all__ = ["kv"]


def _expected(tr: ReadTransaction) -> list[SearchRecord]:
    built = [search_records.build_record(tr, run_id) for run_id in runs.iter_run_ids(tr)]
    return sorted((r for r in built if r is not None), key=lambda r: (r.created_at, r.run_id))


def _assert_records_match(engine: Engine) -> None:
    expected = engine.read(_expected)
    assert engine.read(lambda tr: list(search_records.iter_records(tr))) == expected
    newest = engine.read(lambda tr: list(search_records.iter_records(tr, newest_first=True)))
    assert newest == expected[::-1]
    # Dict order of the attribute tree is part of the frame: compare it too.
    for got, want in zip(newest[::-1], expected, strict=True):
        assert list(got.attrs) == list(want.attrs)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPS, min_size=1, max_size=30))
def test_records_equal_primary_data_through_random_writes(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"lmdb://{Path(tmp) / 'kv'}?sync=false&map_size={1 << 28}")
        try:
            for op in ops:
                engine.transact(partial(apply_op, op=op))
            _assert_records_match(engine)
            report = check_indexes(engine)
            assert report.record_differences == 0, report.differences
        finally:
            engine.close()


def _populate(tr: Transaction) -> None:
    for i, run_id in enumerate(("a", "b", "c")):
        runs.create_run(tr, run_id, name=f"run {run_id}", created_at=float(i))
        runs.set_run_attrs(tr, run_id, (), {"hparams": {"lr": i / 10}, "__blobs__": {"x": 1}})
    runs.add_run_tag(tr, "b", "tag-1")
    # Values JSON cannot carry as they are: the record falls back to the store's value codec.
    runs.set_run_attrs(tr, "c", ("raw",), {"bytes": b"\x00\x01", "ints": {1: "one"}, "nan": float("inf")})


def test_walks_resume_after_a_position_in_either_direction(kv: Engine) -> None:
    kv.transact(_populate)

    def ids(**kwargs: Any) -> list[str]:
        return [r.run_id for r in kv.read(lambda tr: list(search_records.iter_records(tr, **kwargs)))]

    assert ids() == ["a", "b", "c"]
    assert ids(newest_first=True) == ["c", "b", "a"]
    assert ids(after=(1.0, "b")) == ["c"]
    assert ids(newest_first=True, after=(1.0, "b")) == ["a"]
    assert ids(newest_first=True, limit=2) == ["c", "b"]
    keys = kv.read(lambda tr: list(search_records.iter_record_keys(tr, newest_first=True, after=(2.0, "c"))))
    assert keys == [(1.0, "b"), (0.0, "a")]
    odd = kv.read(lambda tr: search_records.get_record(tr, "c", 2.0))
    assert odd is not None
    assert odd.attrs["raw"] == {"bytes": b"\x00\x01", "ints": {1: "one"}, "nan": float("inf")}
    record = kv.read(lambda tr: search_records.get_record(tr, "b", 1.0))
    assert record is not None
    assert record.tag_ids == ("tag-1",)
    assert record.attrs == {"hparams": {"lr": 0.1}, "__blobs__": {"x": 1}}


def test_check_indexes_rebuilds_missing_stale_and_leftover_records(kv: Engine) -> None:
    kv.transact(_populate)
    expected = kv.read(_expected)

    def corrupt(tr: Transaction) -> None:
        begin, end = SEARCH_RECORDS.range(())
        tr.clear_range(begin, end)  # a store restored or written before the records existed
        tr.set(SEARCH_RECORDS.pack((7.0, "ghost")), b"junk")

    kv.transact(corrupt)
    assert kv.read(lambda tr: search_records.get_record(tr, "a", 0.0)) is None
    report = check_indexes(kv, page=1)
    assert report.record_differences == 4, report.differences
    assert not report.clean
    assert any("ghost" in d for d in report.differences)
    check_indexes(kv, fix=True, page=1)
    assert kv.read(lambda tr: list(search_records.iter_records(tr))) == expected
    assert check_indexes(kv).clean
