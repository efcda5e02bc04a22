"""Recompute every index from primary data, report the differences and, on request, repair them.

The project params catalogue (:mod:`matyan_store.params_catalogue`) is checked too: each run's entries
against its attributes and series, catalogued runs that are gone, and every summary against its order
keys. So are the search records (:mod:`matyan_store.search_records`): each live run's record against its
primary data, and records of runs that are gone or moved. A store written before the catalogue or the
records existed (or restored without them) gets them from one ``fix`` run.

Works in bounded transactions (a page of runs or index keys at a time), so it runs on a store of any
size within the engines' transaction limits. The ops ``reindex`` command calls :func:`check_indexes`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from matyan_store import entities, indexes, params_catalogue, runs, search_records, sequences
from matyan_store.engine.base import Engine, ReadTransaction, Transaction
from matyan_store.keys import INDEXES

__all__ = ["IndexReport", "check_indexes", "expected_run_entries"]

# Differences listed in the report; counts stay exact beyond it.
MAX_LISTED_DIFFERENCES = 200


@dataclass
class IndexReport:
    """What :func:`check_indexes` found (and fixed, when asked)."""

    runs_checked: int = 0
    runs_with_differences: int = 0
    missing_entries: int = 0
    extra_entries: int = 0
    orphan_entries: int = 0
    run_count_fixes: int = 0
    catalogue_differences: int = 0
    record_differences: int = 0
    fixed: bool = False
    differences: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Whether the indexes matched the primary data."""
        return not (
            self.missing_entries
            or self.extra_entries
            or self.orphan_entries
            or self.run_count_fixes
            or self.catalogue_differences
            or self.record_differences
        )

    def note(self, text: str) -> None:
        """Record one difference (the list is capped, the counters are not)."""
        if len(self.differences) < MAX_LISTED_DIFFERENCES:
            self.differences.append(text)

    def note_catalogue(self, notes: list[str]) -> None:
        """Count and record differences found in the params catalogue."""
        self.catalogue_differences += len(notes)
        for text in notes:
            self.note(text)

    def note_records(self, notes: list[str]) -> None:
        """Count and record differences found in the search records."""
        self.record_differences += len(notes)
        for text in notes:
            self.note(text)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "runs_checked": self.runs_checked,
            "runs_with_differences": self.runs_with_differences,
            "missing_entries": self.missing_entries,
            "extra_entries": self.extra_entries,
            "orphan_entries": self.orphan_entries,
            "run_count_fixes": self.run_count_fixes,
            "catalogue_differences": self.catalogue_differences,
            "record_differences": self.record_differences,
            "fixed": self.fixed,
            "clean": self.clean,
            "differences": list(self.differences),
        }


def expected_run_entries(tr: ReadTransaction, run_id: str) -> set[tuple[Any, ...]]:
    """The index entries ``(field, *values)`` the run's primary data calls for (none if hidden)."""
    meta = runs.get_run(tr, run_id)
    if meta is None:
        return set()
    expected: set[tuple[Any, ...]] = {
        ("archived", bool(meta.archived)),
        ("active", bool(meta.active)),
        ("created_at", float(meta.created_at)),
    }
    if meta.experiment_id is not None:
        expected.add(("experiment", meta.experiment_id))
    expected.update(("tag", tag_id) for tag_id in runs.get_run_tag_ids(tr, run_id))
    hparams = runs.get_run_attrs(tr, run_id, ("hparams",))
    if isinstance(hparams, dict):
        for name, value in hparams.items():
            if not isinstance(name, str) or not (
                value is None or isinstance(value, bool | int | float | str)
            ):
                continue
            element = indexes.hparam_element(value)
            expected.add(("hparam_unindexed", name) if element is None else ("hparam", name, *element))
    for key, summary in sequences.list_run_series(tr, run_id):
        expected.add(("trace", key.name))
        stats = {"last": summary.last_value, "min": summary.min, "max": summary.max}
        for stat, value in stats.items():
            number = indexes.series_index_value(value)
            if number is not None:
                expected.add(("series", stat, key.name, key.context_id, number))
    return expected


def _check_runs(
    tr: Transaction | ReadTransaction, run_ids: list[str], fix: bool, report: IndexReport
) -> None:
    for run_id in run_ids:
        report.runs_checked += 1
        report.note_catalogue(params_catalogue.check_run(tr, run_id, fix))
        report.note_records(search_records.check_run(tr, run_id, fix))
        expected = expected_run_entries(tr, run_id)
        actual = set(indexes.run_index_entries(tr, run_id))
        missing, extra = expected - actual, actual - expected
        if not missing and not extra:
            continue
        report.runs_with_differences += 1
        report.missing_entries += len(missing)
        report.extra_entries += len(extra)
        for entry in sorted(missing, key=repr):
            report.note(f"run {run_id}: missing index entry {entry!r}")
        for entry in sorted(extra, key=repr):
            report.note(f"run {run_id}: stale index entry {entry!r}")
        if fix:
            assert isinstance(tr, Transaction)
            for entry in extra:
                indexes.set_index_entry(tr, entry[0], tuple(entry[1:]), run_id, present=False)
            for entry in missing:
                indexes.set_index_entry(tr, entry[0], tuple(entry[1:]), run_id, present=True)


def _orphans_page(
    tr: Transaction | ReadTransaction, begin: bytes, page: int, fix: bool
) -> tuple[bytes | None, IndexReport]:
    """Forward entries without their reverse entry; returns where the next page starts."""
    part = IndexReport()
    _, end = INDEXES.range(())
    rows = list(tr.get_range(begin, end, limit=page))
    for key, _ in rows:
        items = INDEXES.unpack(key)
        if items[0] == indexes.REV:
            _check_reverse(tr, items, fix, part)
            continue
        field_name, *values, run_id = items
        if indexes.has_reverse_entry(tr, field_name, tuple(values), run_id):
            continue
        part.orphan_entries += 1
        part.note(f"orphan index entry {tuple(items)!r}")
        if fix:
            assert isinstance(tr, Transaction)
            tr.clear(key)
    next_begin = None if len(rows) < page else rows[-1][0] + b"\x00"
    return next_begin, part


def _check_reverse(
    tr: Transaction | ReadTransaction, items: tuple[Any, ...], fix: bool, part: IndexReport
) -> None:
    """A reverse entry of a run without meta (runs with meta are checked run by run)."""
    _, run_id, field_name, *values = items
    if runs.get_run(tr, run_id, include_pending=True) is not None:
        return
    part.extra_entries += 1
    part.note(f"run {run_id}: index entry {(field_name, *values)!r} for a run that is gone")
    if fix:
        assert isinstance(tr, Transaction)
        indexes.set_index_entry(tr, field_name, tuple(values), run_id, present=False)


def _runs_page(
    tr: Transaction | ReadTransaction, after: str | None, page: int, fix: bool
) -> tuple[list[str], IndexReport]:
    part = IndexReport()
    run_ids = list(runs.iter_run_ids(tr, after=after, limit=page))
    _check_runs(tr, run_ids, fix, part)
    return run_ids, part


def _check_run_counts(tr: Transaction | ReadTransaction, fix: bool, report: IndexReport) -> None:
    kinds: list[tuple[str, Callable[[Any], list[Any]], Callable[[Transaction, str, int], None]]] = [
        ("experiment", entities.list_experiments, entities.adjust_experiment_run_count),
        ("tag", entities.list_tags, entities.adjust_tag_run_count),
    ]
    for field_name, list_all, adjust in kinds:
        for entity in list_all(tr):
            counted = indexes.count_entries(tr, field_name, entity.id)
            if counted == entity.run_count:
                continue
            report.run_count_fixes += 1
            report.note(f"{field_name} {entity.id}: run_count {entity.run_count}, index has {counted}")
            if fix:
                assert isinstance(tr, Transaction)
                adjust(tr, entity.id, counted - entity.run_count)


def check_indexes(
    engine: Engine,
    *,
    fix: bool = False,
    page: int = 200,
    progress: Callable[[int], None] | None = None,
) -> IndexReport:
    """Compare every index with the primary data; with ``fix``, rewrite what differs.

    Each page is one transaction whose findings are merged only once it succeeded, so a retried page
    never counts twice. ``progress`` is called with the number of runs checked after each page.
    """
    report = IndexReport(fixed=fix)
    after: str | None = None
    while True:
        checked, part = _run(engine, fix, partial(_runs_page, after=after, page=page, fix=fix))
        _merge(report, part)
        if progress is not None:
            progress(report.runs_checked)
        if len(checked) < page:
            break
        after = checked[-1]
    begin: bytes | None = INDEXES.range(())[0]
    while begin is not None:
        begin, part = _run(engine, fix, partial(_orphans_page, begin=begin, page=page, fix=fix))
        _merge(report, part)
    _merge(report, _run(engine, fix, partial(_run_counts, fix=fix)))
    _check_catalogue(engine, fix, page, report)
    records_begin: bytes | None = None
    while True:
        records_begin, notes = _run(
            engine,
            fix,
            partial(search_records.check_records_page, begin=records_begin, page=page, fix=fix),
        )
        report.note_records(notes)
        if records_begin is None:
            break
    return report


def _check_catalogue(engine: Engine, fix: bool, page: int, report: IndexReport) -> None:
    """Catalogued runs that are gone, then every summary (runs themselves were checked page by page)."""
    after: str | None = None
    while True:
        after, notes = _run(
            engine, fix, partial(params_catalogue.check_catalogued_runs_page, after=after, page=page, fix=fix)
        )
        report.note_catalogue(notes)
        if after is None:
            break
    begin: bytes | None = None
    while True:
        begin, notes = _run(
            engine, fix, partial(params_catalogue.check_summaries_page, begin=begin, page=page, fix=fix)
        )
        report.note_catalogue(notes)
        if begin is None:
            break


def _run_counts(tr: Transaction | ReadTransaction, fix: bool) -> IndexReport:
    part = IndexReport()
    _check_run_counts(tr, fix, part)
    return part


def _run[T](engine: Engine, fix: bool, fn: Callable[[Any], T]) -> T:
    return engine.transact(fn) if fix else engine.read(fn)


def _merge(into: IndexReport, part: IndexReport) -> None:
    into.runs_checked += part.runs_checked
    into.runs_with_differences += part.runs_with_differences
    into.missing_entries += part.missing_entries
    into.extra_entries += part.extra_entries
    into.orphan_entries += part.orphan_entries
    into.run_count_fixes += part.run_count_fixes
    into.catalogue_differences += part.catalogue_differences
    into.record_differences += part.record_differences
    for text in part.differences:
        into.note(text)
