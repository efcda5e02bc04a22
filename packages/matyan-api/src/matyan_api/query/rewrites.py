"""AST rewrites applied while a query is prepared (docs/http-contract.md, Query language).

- ``datetime(Y, M, D, ...)`` with literal int arguments becomes a float UTC timestamp, the naive time
  being local at UTC offset ``-tz_offset`` minutes (the JS ``getTimezoneOffset`` convention the UI sends);
- chained comparisons ``a < b < c`` become ``(a < b) and (b < c)``;
- unless a comparison has ``run.archived`` / ``run.is_archived`` as an operand, the query is ANDed with
  ``run.is_archived == False`` (archived runs are hidden by default).
"""

from __future__ import annotations

import ast
import copy
import datetime as dt
from typing import Final

__all__ = [
    "ARCHIVED_FIELDS",
    "add_archived_default",
    "is_run_field",
    "mentions_archived",
    "rewrite_chained_comparisons",
    "rewrite_datetime_literals",
]

ARCHIVED_FIELDS: Final = frozenset({"archived", "is_archived"})


def is_run_field(node: ast.AST, fields: frozenset[str] | set[str]) -> bool:
    """Whether ``node`` is ``run.<one of fields>``."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr in fields
        and isinstance(node.value, ast.Name)
        and node.value.id == "run"
    )


class _DatetimeLiterals(ast.NodeTransformer):
    def __init__(self, tz_offset_minutes: int) -> None:
        self.shift = tz_offset_minutes * 60

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if not (isinstance(node.func, ast.Name) and node.func.id == "datetime") or node.keywords:
            return node
        args = []
        for arg in node.args:
            if not (isinstance(arg, ast.Constant) and type(arg.value) is int):
                return node
            args.append(arg.value)
        try:
            stamp = dt.datetime(*args).replace(tzinfo=dt.UTC).timestamp()  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return node  # stays a real call; evaluation then fails and the row does not match
        return ast.copy_location(ast.Constant(stamp + self.shift), node)


def rewrite_datetime_literals(tree: ast.Expression, tz_offset_minutes: int) -> ast.Expression:
    """Replace literal ``datetime(...)`` calls with their timestamps (in place; returns ``tree``)."""
    _DatetimeLiterals(tz_offset_minutes).visit(tree)
    return tree


class _ChainedComparisons(ast.NodeTransformer):
    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1:
            return node
        operands = [node.left, *node.comparators]
        # A middle operand appears in two comparisons; each gets its own copy, as later passes
        # (RestrictedPython's) rewrite nodes in place and must not see one node twice.
        parts: list[ast.expr] = [
            ast.copy_location(
                ast.Compare(left=copy.deepcopy(operands[i]), ops=[op], comparators=[operands[i + 1]]), node
            )
            for i, op in enumerate(node.ops)
        ]
        return ast.copy_location(ast.BoolOp(op=ast.And(), values=parts), node)


def rewrite_chained_comparisons(tree: ast.Expression) -> ast.Expression:
    """Split every chained comparison into an AND of single comparisons (in place; returns ``tree``)."""
    _ChainedComparisons().visit(tree)
    return tree


def mentions_archived(tree: ast.AST) -> bool:
    """Whether some comparison has ``run.archived`` or ``run.is_archived`` as a direct operand."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            is_run_field(operand, ARCHIVED_FIELDS) for operand in (node.left, *node.comparators)
        ):
            return True
    return False


def _not_archived() -> ast.expr:
    return ast.Compare(
        left=ast.Attribute(value=ast.Name(id="run", ctx=ast.Load()), attr="is_archived", ctx=ast.Load()),
        ops=[ast.Eq()],
        comparators=[ast.Constant(False)],
    )


def add_archived_default(body: ast.expr | None) -> ast.expr:
    """``body`` with ``run.is_archived == False`` ANDed in front unless it mentions archived already."""
    if body is None:
        return _not_archived()
    if mentions_archived(body):
        return body
    return ast.BoolOp(op=ast.And(), values=[_not_archived(), body])
