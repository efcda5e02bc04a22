"""Answering a prepared query from the store's secondary indexes (docs/http-contract.md, Query language).

The planner walks the prepared AST and, where a predicate has an index, turns it into a list of
candidate run ids. Recognised comparisons have one operator, the field on the left and a literal on
the right (``"x" in run.tags`` is the one reversed form):

==============================================  =====================================================
``"lit" in run.tags``                           tag index (tag name -> id)
``run.hash == "lit"``                           ``["lit"]``, existence not checked
``run.experiment == "lit"``                     experiment index (name -> id)
``run.active == bool``                          active index
``run.archived|is_archived == bool``            archived index
``run.hparams.N op lit`` (also ``["hparams"]``)   hparam index, op in ``== < <= > >=``; values the index
                                                cannot order are always candidates (not exact)
``run.created_at|creation_time op number``      created_at index
``metric.name == "lit"``                        trace index; restricts ``trace_names``
``metric.last|min|max op number``               series index, only in an AND that also fixes
                                                ``metric.name == "lit"`` and ``metric.context == {...}``
==============================================  =====================================================

Everything else is unindexed. In an AND with other indexed children, the ``active``/``archived`` flags
are checked candidate by candidate (each run's own index entry) rather than read whole: the default
``run.is_archived == False`` matches nearly every run. AND intersects its indexed children (exact only
if every child is indexed and exact); OR needs every child indexed and exact and takes the union, which
is exact unless a child that can raise (an hparam test) precedes another: any exception makes the whole
query False.
Candidates come out in creation order (runs the index does not know, like an unchecked ``run.hash``,
last, by id).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeGuard

from matyan_api.query.prepare import PreparedQuery
from matyan_api.query.rewrites import ARCHIVED_FIELDS, is_run_field
from matyan_models import context_to_id
from matyan_store import entities, indexes
from matyan_store.engine.base import ReadTransaction
from matyan_store.indexes import Bound

__all__ = [
    "PlanResult",
    "has_unindexed_sequence_predicate",
    "needs_trace_evaluation",
    "plan_query",
]

_RANGE_OPS: Final = (ast.Eq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_CREATED_FIELDS: Final = frozenset({"created_at", "creation_time"})
_SERIES_STATS: Final = frozenset({"last", "min", "max"})


@dataclass(frozen=True, slots=True)
class PlanResult:
    """What the indexes say about a query.

    - ``candidates=None``: no index applies; scan every run (in creation order) and evaluate;
    - ``exact``: the candidates are the answer (no evaluation needed);
    - otherwise the candidates are a superset to evaluate one by one;
    - ``trace_names``: only sequences with these names can match (``None``: any).
    """

    candidates: list[str] | None
    exact: bool
    trace_names: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class _Part:
    runs: list[str] | None
    exact: bool
    names: frozenset[str] | None
    sequence: bool  # depends on the sequence being evaluated, not only on the run
    # Evaluation can raise for some runs (``run.hparams.x`` when hparams is not a dict). A raise makes
    # the whole query False, so in ``A or B`` a raising ``A`` hides a true ``B``: see ``_or``.
    may_raise: bool = False


def _unindexed(sequence: bool) -> _Part:
    return _Part(None, False, None, sequence, True)


class _Planner:
    def __init__(self, tr: ReadTransaction, seq_name: str) -> None:
        self.tr = tr
        self.seq = seq_name

    # --- shape tests -----------------------------------------------------------------------------

    def _uses_sequence(self, node: ast.AST) -> bool:
        return any(isinstance(n, ast.Name) and n.id == self.seq for n in ast.walk(node))

    def _seq_field(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == self.seq:
            return node.attr
        return None

    def is_seq_name_eq(self, node: ast.AST) -> bool:
        """``<seq>.name == "lit"``."""
        return (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.Eq)
            and self._seq_field(node.left) == "name"
            and isinstance(node.comparators[0], ast.Constant)
            and isinstance(node.comparators[0].value, str)
        )

    # --- walking ---------------------------------------------------------------------------------

    def plan(self, node: ast.expr) -> _Part:
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return self._and(node.values)
            return self._or([self.plan(v) for v in node.values])
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            part = self._compare(node.left, node.ops[0], node.comparators[0])
            if part is not None:
                return part
        return _unindexed(self._uses_sequence(node))

    def _and(self, values: list[ast.expr]) -> _Part:
        flags = [(v, self._flag(v)) for v in values]
        parts = [self.plan(v) for v, flag in flags if flag is None]
        series = self._series_part(values)
        if series is not None:
            parts.append(series)
        checks = [flag for _, flag in flags if flag is not None]
        if checks and not any(p.runs is not None for p in parts):
            # Nothing narrower to check the flags against: read their indexes.
            parts += [self.plan(v) for v, flag in flags if flag is not None]
            checks = []
        indexed = [p for p in parts if p.runs is not None]
        sequence = any(p.sequence for p in parts)
        if not indexed:
            return _unindexed(sequence)
        keep = set(indexed[0].runs or [])
        for part in indexed[1:]:
            keep &= set(part.runs or [])
        runs = [r for r in indexed[0].runs or [] if r in keep and self._has_flags(r, checks)]
        # The flags were answered exactly from the index, run by run.
        parts += [_Part([], True, None, False)] * len(checks)
        # Two sequence-level conditions may hold for different sequences of one run, while the query
        # asks for one sequence meeting both: the run-level intersection is then only a superset.
        exact = (
            series is None
            and all(p.runs is not None and p.exact for p in parts)
            and sum(p.sequence for p in parts) <= 1
        )
        named = [p.names for p in parts if p.names is not None]
        names = frozenset.intersection(*named) if named else None
        return _Part(runs, exact, names, sequence, any(p.may_raise for p in parts))

    @staticmethod
    def _or(parts: list[_Part]) -> _Part:
        sequence = any(p.sequence for p in parts)
        if any(p.runs is None or not p.exact for p in parts):
            return _unindexed(sequence)
        seen: dict[str, None] = {}
        for part in parts:
            seen.update(dict.fromkeys(part.runs or []))
        names = (
            frozenset().union(*(p.names for p in parts if p.names is not None))
            if all(p.names is not None for p in parts)
            else None
        )
        # "Run-level or some sequence" differs from "some sequence meets (run-level or ...)" for runs
        # without sequences, so a mixed OR is a superset.
        mixed = sequence and not all(p.sequence for p in parts)
        # Python stops at the first child that raises: a run the index finds through a later child
        # does not match if an earlier one raises for it, so the union is then only a superset.
        masked = any(p.may_raise for p in parts[:-1])
        return _Part(list(seen), not (mixed or masked), names, sequence, any(p.may_raise for p in parts))

    # --- boolean flags -----------------------------------------------------------------------------

    @staticmethod
    def _flag(node: ast.expr) -> tuple[str, bool] | None:
        """``(index field, value)`` for ``run.active == bool`` and ``run.archived|is_archived == bool``.

        These indexes split every run into two halves, so within an AND that has narrower candidates
        each candidate's entry is checked instead of reading half the index (the default
        ``run.is_archived == False`` would otherwise read nearly every run on every search).
        """
        if not (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.Eq)
            and isinstance(node.comparators[0], ast.Constant)
            and isinstance(node.comparators[0].value, bool)
        ):
            return None
        value = node.comparators[0].value
        if is_run_field(node.left, {"active"}):
            return "active", value
        if is_run_field(node.left, ARCHIVED_FIELDS):
            return "archived", value
        return None

    def _has_flags(self, run_id: str, checks: list[tuple[str, bool]]) -> bool:
        return all(indexes.run_index_entries(self.tr, run_id, field) == [(value,)] for field, value in checks)

    # --- single comparisons ----------------------------------------------------------------------

    def _compare(self, left: ast.expr, op: ast.cmpop, right: ast.expr) -> _Part | None:
        if isinstance(op, ast.In) and isinstance(left, ast.Constant) and is_run_field(right, {"tags"}):
            return self._tag(left.value) if isinstance(left.value, str) else None
        if not isinstance(right, ast.Constant):
            return None
        value = right.value
        if isinstance(op, ast.Eq):
            if is_run_field(left, {"hash"}) and isinstance(value, str):
                return _Part([value], True, None, False)
            if is_run_field(left, {"experiment"}) and isinstance(value, str):
                return self._experiment(value)
            if is_run_field(left, {"active"}) and isinstance(value, bool):
                return _Part(indexes.lookup(self.tr, "active", value), True, None, False)
            if is_run_field(left, ARCHIVED_FIELDS) and isinstance(value, bool):
                return _Part(indexes.lookup(self.tr, "archived", value), True, None, False)
            if self._seq_field(left) == "name" and isinstance(value, str):
                return _Part(indexes.lookup(self.tr, "trace", value), True, frozenset({value}), True)
        if isinstance(op, _RANGE_OPS):
            name = _hparam_name(left)
            if name is not None:
                return self._hparam(name, op, value)
            if is_run_field(left, _CREATED_FIELDS) and _is_number(value):
                return self._created_at(op, float(value))
        return None

    def _tag(self, name: str) -> _Part:
        tag = entities.get_tag_by_name(self.tr, name)
        runs = [] if tag is None else indexes.lookup(self.tr, "tag", tag.id)
        return _Part(runs, True, None, False)

    def _experiment(self, name: str) -> _Part:
        exp = entities.get_experiment_by_name(self.tr, name)
        runs = [] if exp is None else indexes.lookup(self.tr, "experiment", exp.id)
        return _Part(runs, True, None, False)

    def _hparam(self, name: str, op: ast.cmpop, value: Any) -> _Part | None:
        # None is left to evaluation: runs without the hparam compare equal to None too.
        if not isinstance(value, bool | int | float | str) or indexes.hparam_element(value) is None:
            return None
        if isinstance(op, ast.Eq):
            found = indexes.lookup_hparam_eq(self.tr, name, value)
        else:
            lo, hi = _bounds(op, value)
            found = indexes.lookup_hparam_range(self.tr, name, lo, hi)
        unordered = indexes.lookup_hparam_unindexed(self.tr, name)
        runs = list(dict.fromkeys([*found, *unordered]))
        return _Part(runs, not unordered, None, False, may_raise=True)

    def _created_at(self, op: ast.cmpop, value: float) -> _Part:
        start = value if isinstance(op, ast.Eq | ast.Gt | ast.GtE) else None
        end = None
        if isinstance(op, ast.Eq | ast.LtE):
            end = math.nextafter(value, math.inf)
        elif isinstance(op, ast.Lt):
            end = value
        test = _OPS[type(op)]
        runs = [
            run_id
            for created, run_id in indexes.iter_created_at(self.tr, start=start, end=end)
            if test(created, value)
        ]
        return _Part(runs, True, None, False)

    def _series_part(self, values: list[ast.expr]) -> _Part | None:
        """Series-index candidates when an AND fixes the sequence's name and whole context."""
        name: str | None = None
        context: dict[str, Any] | None = None
        ranges: list[tuple[str, ast.cmpop, float]] = []
        for node in values:
            if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
                continue
            left, op, right = node.left, node.ops[0], node.comparators[0]
            field = self._seq_field(left)
            if field is None:
                continue
            if field == "name" and self.is_seq_name_eq(node):
                name = right.value  # type: ignore[attr-defined]
            elif field == "context" and isinstance(op, ast.Eq) and isinstance(right, ast.Dict):
                try:
                    literal = ast.literal_eval(right)
                except (ValueError, SyntaxError):
                    continue
                if isinstance(literal, dict) and all(isinstance(k, str) for k in literal):
                    context = literal
            elif (
                field in _SERIES_STATS
                and isinstance(op, _RANGE_OPS)
                and isinstance(right, ast.Constant)
                and _is_number(right.value)
                and not math.isnan(float(right.value))
            ):
                ranges.append((field, op, float(right.value)))
        if name is None or context is None or not ranges:
            return None
        context_id = context_to_id(context)
        keep: set[str] | None = None
        for stat, op, value in ranges:
            lo, hi = (
                _bounds(op, value) if not isinstance(op, ast.Eq) else (Bound(value, True), Bound(value, True))
            )
            found = set(indexes.lookup_series_range(self.tr, stat, name, context_id, lo, hi))
            keep = found if keep is None else keep & found
        return _Part(sorted(keep or ()), False, frozenset({name}), True, may_raise=True)


_OPS: Final[dict[type[ast.cmpop], Any]] = {
    ast.Eq: lambda a, b: a == b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bounds(op: ast.cmpop, value: Any) -> tuple[Bound | None, Bound | None]:
    if isinstance(op, ast.Lt):
        return None, Bound(value, False)
    if isinstance(op, ast.LtE):
        return None, Bound(value, True)
    if isinstance(op, ast.Gt):
        return Bound(value, False), None
    return Bound(value, True), None


def _hparam_name(node: ast.expr) -> str | None:
    """``N`` for ``run.hparams.N``, ``run["hparams"]["N"]`` and the two mixed forms."""

    def key(n: ast.expr) -> tuple[ast.expr, str] | None:
        if isinstance(n, ast.Attribute):
            return n.value, n.attr
        if (
            isinstance(n, ast.Subscript)
            and isinstance(n.slice, ast.Constant)
            and isinstance(n.slice.value, str)
        ):
            return n.value, n.slice.value
        return None

    outer = key(node)
    if outer is None:
        return None
    inner = key(outer[0])
    if (
        inner is None
        or inner[1] != "hparams"
        or not (isinstance(inner[0], ast.Name) and inner[0].id == "run")
    ):
        return None
    return outer[1]


def _order_by_creation(tr: ReadTransaction, run_ids: Iterable[str]) -> list[str]:
    def sort_key(run_id: str) -> tuple[int, float, str]:
        entries = indexes.run_index_entries(tr, run_id, "created_at")
        if not entries:
            return (1, 0.0, run_id)
        return (0, float(entries[0][0]), run_id)

    return sorted(run_ids, key=sort_key)


def plan_query(
    tr: ReadTransaction, query: PreparedQuery, *, seq_name: str = "metric", ordered: bool = True
) -> PlanResult:
    """The index answer for ``query`` (sequence predicates are those on ``seq_name``).

    ``ordered=False`` leaves the candidates in index order, for a caller that sorts what it finds by
    ``(created_at, run_id)`` itself (it saves one index read per candidate).
    """
    part = _Planner(tr, seq_name).plan(query.tree.body)
    if part.runs is None:
        return PlanResult(None, False, None)
    runs = _order_by_creation(tr, part.runs) if ordered else list(part.runs)
    return PlanResult(runs, part.exact, part.names)


def has_unindexed_sequence_predicate(query: PreparedQuery, seq_name: str = "metric") -> bool:
    """Whether some ``<seq>.<attr>`` is not the left side of a recognised ``<seq>.name == "lit"``."""
    planner = _Planner.__new__(_Planner)
    planner.seq = seq_name
    covered: set[int] = set()
    for node in ast.walk(query.tree):
        if planner.is_seq_name_eq(node):
            covered.add(id(node.left))  # type: ignore[attr-defined]
    for node in ast.walk(query.tree):
        if isinstance(node, ast.Name) and node.id == seq_name:
            pass
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == seq_name
            and id(node) not in covered
        ):
            return True
    # A bare sequence name (``metric is None``, ``f(metric)``) is a sequence predicate no index answers.
    attribute_bases = {id(n.value) for n in ast.walk(query.tree) if isinstance(n, ast.Attribute)}
    return any(
        isinstance(n, ast.Name) and n.id == seq_name and id(n) not in attribute_bases
        for n in ast.walk(query.tree)
    )


def needs_trace_evaluation(query: PreparedQuery, plan: PlanResult, seq_name: str = "metric") -> bool:
    """Whether each sequence must be evaluated with ``(run, sequence)`` to decide what to stream.

    Not needed when the query has no sequence predicate, or when the plan is exact and its
    ``trace_names`` already say which sequences match.
    """
    if seq_name not in query.sequence_names:
        return False
    return not (
        plan.exact and plan.trace_names is not None and not has_unindexed_sequence_predicate(query, seq_name)
    )
