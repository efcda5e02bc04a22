"""Preparing a query once per request, and evaluating it per run or per sequence.

See docs/http-contract.md, Query language.

:func:`prepare_query` does all the checking before a response starts: the ``SELECT ... IF`` prefix,
parsing, the rewrites of :mod:`.rewrites`, and RestrictedPython's compile step. Every failure is a
:class:`~matyan_api.query.errors.QuerySyntaxError`. The result, :class:`PreparedQuery`, is immutable and
safe to share between threads; evaluation binds only ``run`` and the endpoint's sequence name.
"""

from __future__ import annotations

import ast
import types
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from loguru import logger

from matyan_api.query.errors import QuerySyntaxError
from matyan_api.query.rewrites import (
    add_archived_default,
    rewrite_chained_comparisons,
    rewrite_datetime_literals,
)
from matyan_api.query.sandbox import (
    DEFAULT_MAX_SECONDS,
    DEFAULT_MAX_STEPS,
    BudgetExceeded,
    QueryTooLarge,
    compile_query,
    run_compiled,
)
from matyan_api.query.views import RunView, SequenceView

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_QUERY_DEPTH",
    "SEQUENCE_NAMES",
    "PreparedQuery",
    "extract_expression",
    "prepare_query",
]

# The longest query text accepted (characters); longer ones are a 400 before anything is parsed.
MAX_QUERY_CHARS: Final = 50_000

# The names a sequence is bound under, per endpoint: metric search and the custom-object searches.
SEQUENCE_NAMES: Final = frozenset({"metric", "images", "texts", "distributions", "audios", "figures"})
# How deep a query's syntax tree may be. The rewrites, RestrictedPython and the planner walk it
# recursively; a real query is a few levels deep, while "1+1+...+1" or "run.a.a...a" a thousand times
# would exhaust the interpreter's stack (docs/http-contract.md, Query language).
MAX_QUERY_DEPTH: Final = 100
_TOO_DEEP: Final = f"query nested too deeply (more than {MAX_QUERY_DEPTH} levels)"


def extract_expression(text: str | None) -> str:
    """The expression part of a query: ``SELECT <anything> IF <expr>`` keeps what follows the first ``if``.

    As in Aim, the prefix test is on the raw lowercased text (not trimmed) and ``if`` is found anywhere,
    even inside a word; ``SELECT`` without ``IF`` is the empty query.
    """
    raw = text or ""
    lowered = raw.lower()
    if lowered.startswith("select"):
        at = lowered.find("if")
        raw = "" if at < 0 else raw[at + 2 :]
    return raw.strip()


def _parse(expression: str) -> ast.expr | None:
    if not expression:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings never reach the log
            tree = ast.parse(f"({expression})", mode="eval")
    except SyntaxError as exc:
        line, offset = exc.lineno, exc.offset
        if line == 1 and offset is not None:
            offset = max(1, offset - 1)  # the added "(" shifted the first line by one
        raise QuerySyntaxError(str(exc), line=line, offset=offset, statement=expression) from exc
    except (RecursionError, MemoryError):  # CPython's parser gives up on deep nesting this way
        raise QuerySyntaxError(_TOO_DEEP, statement=expression) from None
    if _depth_exceeds(tree.body, MAX_QUERY_DEPTH):
        raise QuerySyntaxError(_TOO_DEEP, statement=expression)
    return tree.body


def _depth_exceeds(root: ast.AST, limit: int) -> bool:
    """Whether the tree is deeper than ``limit`` nodes (iterative: the tree may be very deep)."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return False


def _sequence_names_used(tree: ast.AST) -> frozenset[str]:
    return frozenset(
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id in SEQUENCE_NAMES
    )


@dataclass(frozen=True, slots=True, eq=False)
class PreparedQuery:
    """A checked query: its prepared AST (for the planner) and its restricted code (for evaluation)."""

    source: str
    expression: str
    tree: ast.Expression
    code: types.CodeType
    sequence_names: frozenset[str]
    max_steps: int = DEFAULT_MAX_STEPS
    max_seconds: float = DEFAULT_MAX_SECONDS

    @property
    def has_sequence_predicate(self) -> bool:
        """Whether the query looks at a sequence (``metric.…``, ``images.…``) at all."""
        return bool(self.sequence_names)

    def unparse(self) -> str:
        """The prepared expression as Python source (rewrites and the archived default included)."""
        return ast.unparse(self.tree)

    def evaluate(self, run: RunView, sequence: SequenceView | None = None, seq_name: str = "metric") -> bool:
        """Whether the query holds for ``run`` (and ``sequence``, bound as ``seq_name``).

        Any exception counts as no match (``None > 0.1``, ``1 / 0``, a missing nested attribute, a name
        that is not bound, a spent budget), as in the reference; only a real ``MemoryError`` (the
        search process's memory limit) propagates.
        """
        names: dict[str, Any] = {"run": run}
        if sequence is not None:
            if seq_name not in SEQUENCE_NAMES:
                raise ValueError(f"unknown sequence name {seq_name!r}")
            names[seq_name] = sequence
        try:
            return bool(
                run_compiled(self.code, names, max_steps=self.max_steps, max_seconds=self.max_seconds)
            )
        except BudgetExceeded as exc:
            logger.info("query on run {}: {}", run.hash, exc)
            return False
        except MemoryError as exc:
            if isinstance(exc, QueryTooLarge):
                return False
            raise  # the process's memory limit: the whole request stops
        except Exception:
            return False

    def matches_run(
        self, run: RunView, sequences: Iterable[SequenceView] = (), seq_name: str = "metric"
    ) -> bool:
        """Run-level answer: with a sequence predicate, whether some sequence of ``sequences`` matches.

        This is the run search's meaning of ``metric.…`` (the run has at least one such metric), the same
        answer on every plan path.
        """
        if seq_name not in self.sequence_names:
            return self.evaluate(run)
        return any(self.evaluate(run, seq, seq_name) for seq in sequences)


def prepare_query(
    text: str | None,
    *,
    tz_offset_minutes: int = 0,
    max_steps: int = DEFAULT_MAX_STEPS,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> PreparedQuery:
    """Parse, rewrite and compile a query; raises :class:`QuerySyntaxError` on any problem.

    ``tz_offset_minutes`` is the ``X-Timezone-Offset`` header (JS ``getTimezoneOffset``: UTC+3 sends
    -180); literal ``datetime(...)`` calls are read as local times in that zone.
    """
    if text is not None and len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"the query is longer than {MAX_QUERY_CHARS} characters")
    try:
        return _prepare(text, tz_offset_minutes, max_steps, max_seconds)
    except RecursionError:
        raise QuerySyntaxError("the query is nested too deeply") from None


def _prepare(text: str | None, tz_offset_minutes: int, max_steps: int, max_seconds: float) -> PreparedQuery:
    expression = extract_expression(text)
    body = _parse(expression)
    tree = ast.Expression(body=body if body is not None else ast.Constant(True))
    rewrite_datetime_literals(tree, tz_offset_minutes)
    rewrite_chained_comparisons(tree)
    tree.body = add_archived_default(body if body is None else tree.body)
    ast.fix_missing_locations(tree)
    code = compile_query(tree)
    return PreparedQuery(
        source=text or "",
        expression=expression,
        tree=tree,
        code=code,
        sequence_names=_sequence_names_used(tree),
        max_steps=max_steps,
        max_seconds=max_seconds,
    )
