"""Compiling and evaluating queries with RestrictedPython, within a step and time budget
(docs/http-contract.md, Query language).

RestrictedPython refuses ``_``-names and rewrites attribute access, item access and iteration into
calls to the guards below. On top of its policy:

- iteration (``_getiter_``), attribute and item access each spend one step of a per-evaluation budget,
  and the clock is checked every few hundred steps, so a query cannot loop for long in Python code;
- operations that run in C and could allocate without bound (``*``, ``**``, ``<<``, ``%`` formatting,
  ``pow``, padding string methods, ``str.replace``, f-string widths) are size-checked first, since the
  budget cannot interrupt them;
- frames, code objects, generators' internals and ``str.format`` are out of reach.

Any exception while evaluating, the budget's included, means "no match" -- except a real
``MemoryError`` (the process's memory limit, see :mod:`matyan_api.search_pool.worker`), which ends the
request; the guards' own refusals are :class:`QueryTooLarge`.
"""

from __future__ import annotations

import ast
import copy
import datetime as dt
import math
import random
import re
import string
import time
import types
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, Final

from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
)
from RestrictedPython.Limits import limited_builtins
from RestrictedPython.transformer import RestrictingNodeTransformer
from RestrictedPython.Utilities import utility_builtins

from matyan_api.query.errors import QuerySyntaxError

__all__ = [
    "DEFAULT_MAX_SECONDS",
    "DEFAULT_MAX_STEPS",
    "MAX_SEQUENCE_LEN",
    "BudgetExceeded",
    "QueryTooLarge",
    "compile_query",
    "run_compiled",
]

DEFAULT_MAX_STEPS: Final = 200_000
DEFAULT_MAX_SECONDS: Final = 1.0
# Largest string, bytes, list or tuple an operator may build, and the largest int (in bits).
MAX_SEQUENCE_LEN: Final = 1_000_000
MAX_INT_BITS: Final = 64 * 1024
_CLOCK_EVERY: Final = 256


class QueryTooLarge(MemoryError):  # noqa: N818 (reads as a statement, like BudgetExceeded)
    """A guard refused to build an object that large (no match; the process's memory is fine)."""


class BudgetExceeded(RuntimeError):  # noqa: N818 (reads as a statement, like the store's errors)
    """An evaluation used up its steps or time."""


class _Budget:
    __slots__ = ("deadline", "steps")

    def __init__(self, steps: int, seconds: float) -> None:
        self.steps = steps
        self.deadline = time.monotonic() + seconds

    def spend(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise BudgetExceeded("query evaluation step budget exceeded")
        if self.steps % _CLOCK_EVERY == 0 and time.monotonic() > self.deadline:
            raise BudgetExceeded("query evaluation time budget exceeded")


_BUDGET: ContextVar[_Budget | None] = ContextVar("matyan_query_budget", default=None)


def _spend() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.spend()


# --- guards ------------------------------------------------------------------------------------------

_UNREACHABLE_TYPES: Final = (
    types.FrameType,
    types.CodeType,
    types.TracebackType,
    types.GeneratorType,
    types.CoroutineType,
    types.AsyncGeneratorType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
)
_UNREACHABLE_NAMES: Final = frozenset(
    {"gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "f_globals", "f_locals", "f_back"}
)
# str.format reaches attributes through its field syntax ("{0.__class__}"), past the guards.
_FORMAT_NAMES: Final = frozenset({"format", "format_map"})
_PAD_METHODS: Final = frozenset({"ljust", "rjust", "center", "zfill"})


def _check_len(n: int) -> None:
    if n > MAX_SEQUENCE_LEN:
        raise QueryTooLarge(f"query would build an object of {n} items")


def _guarded_pad(method: Callable[..., Any]) -> Callable[..., Any]:
    def pad(width: int, *rest: Any) -> Any:
        _check_len(int(width))
        return method(width, *rest)

    return pad


def _guarded_replace(text: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    def replace(old: Any, new: Any, count: int = -1) -> Any:
        hits = text.count(old) if old else len(text) + 1
        if count >= 0:
            hits = min(hits, count)
        _check_len(len(text) + hits * max(0, len(new) - len(old)))
        return method(old, new, count)

    return replace


def _guarded_expandtabs(text: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    def expandtabs(tabsize: int = 8) -> Any:
        _check_len(len(text) * max(1, int(tabsize)))
        return method(tabsize)

    return expandtabs


def guarded_getattr(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` for a query: no ``_`` names, no frame/code/function internals, no ``str.format``."""
    _spend()
    if (
        name.startswith("_")
        or name in _UNREACHABLE_NAMES
        or isinstance(obj, _UNREACHABLE_TYPES)
        or (name in _FORMAT_NAMES and isinstance(obj, str | bytes | type))
        or (name == "mro" and isinstance(obj, type))
    ):
        raise AttributeError(f"attribute {name!r} is not available in queries")
    value = getattr(obj, name)
    if isinstance(obj, str | bytes):
        if name in _PAD_METHODS:
            return _guarded_pad(value)
        if name == "replace":
            return _guarded_replace(obj, value)
        if name == "expandtabs":
            return _guarded_expandtabs(obj, value)
    return value


def guarded_getitem(obj: Any, key: Any) -> Any:
    """``obj[key]``, spending one step."""
    _spend()
    return default_guarded_getitem(obj, key)


def guarded_getiter(obj: Iterable[Any]) -> Iterator[Any]:
    """An iterator that spends one step per item (comprehensions and generator expressions)."""
    for item in obj:
        _spend()
        yield item


def _int_bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) else 0


_SEQUENCES: Final = (str, bytes, list, tuple)


def _guarded_mult(a: Any, b: Any) -> Any:
    if isinstance(a, _SEQUENCES) and isinstance(b, int):
        _check_len(len(a) * b)
    elif isinstance(b, _SEQUENCES) and isinstance(a, int):
        _check_len(len(b) * a)
    elif isinstance(a, int) and isinstance(b, int) and _int_bits(a) + _int_bits(b) > MAX_INT_BITS:
        raise QueryTooLarge("query integer too large")
    return a * b


def _guarded_pow(a: Any, b: Any, mod: Any = None) -> Any:
    big = isinstance(a, int) and isinstance(b, int) and b > 0 and b * a.bit_length() > MAX_INT_BITS
    if mod is None and big and abs(a) > 1:
        raise QueryTooLarge("query integer too large")
    return pow(a, b) if mod is None else pow(a, b, mod)


def _guarded_lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b + _int_bits(a) > MAX_INT_BITS:
        raise QueryTooLarge("query integer too large")
    return a << b


_FORMAT_WIDTH: Final = re.compile(r"%[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")


def _guarded_mod(a: Any, b: Any) -> Any:
    if isinstance(a, str | bytes):
        text = a.decode("latin-1") if isinstance(a, bytes) else a
        for width, precision in _FORMAT_WIDTH.findall(text):
            for part in (width, precision):
                if part == "*" or (part and int(part) > MAX_SEQUENCE_LEN):
                    raise QueryTooLarge("query format width too large")
    return a % b


_BINOPS: Final[dict[type[ast.operator], str]] = {
    ast.Mult: "_mult_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
    ast.Mod: "_mod_",
}


class _SizeGuards(ast.NodeTransformer):
    """After RestrictedPython's pass: route C-level allocating operators through size checks."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        guard = _BINOPS.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.Name(id=guard, ctx=ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.copy_location(call, node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        self.generic_visit(node)
        spec = node.format_spec
        if spec is not None:
            parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
            for part in parts:
                if not isinstance(part, ast.Constant):
                    raise QuerySyntaxError("f-string format specs must be literal in queries")
                for digits in re.findall(r"\d+", str(part.value)):
                    if int(digits) > MAX_SEQUENCE_LEN:
                        raise QuerySyntaxError("f-string format width too large")
        return node


# --- builtins ----------------------------------------------------------------------------------------


class _ModuleView:
    """A module's public attributes, minus some; callables in ``guarded`` are replaced."""

    def __init__(self, module: types.ModuleType, excluded: set[str], guarded: dict[str, Any]) -> None:
        self._module = module
        self._excluded = excluded
        self._guarded = guarded

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in self._excluded:
            raise AttributeError(f"{self._module.__name__}.{name} is not available in queries")
        if name in self._guarded:
            return self._guarded[name]
        return getattr(self._module, name)


def _guarded_factorial(n: int) -> int:
    if n > 5_000:
        raise QueryTooLarge("query integer too large")
    return math.factorial(n)


def _guarded_comb(n: int, k: int) -> int:
    if n > 5_000:
        raise QueryTooLarge("query integer too large")
    return math.comb(n, k)


def _guarded_perm(n: int, k: int | None = None) -> int:
    if n > 5_000:
        raise QueryTooLarge("query integer too large")
    return math.perm(n, k)


def _guarded_import(name: str, *args: Any, **kwargs: Any) -> types.ModuleType:
    if name != "time":
        raise ImportError(f"{name} package cannot be imported.")
    return __import__(name, *args, **kwargs)


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def _builtins() -> dict[str, Any]:
    names: dict[str, Any] = {**safe_builtins, **utility_builtins, **limited_builtins}
    names.pop("__build_class__", None)
    names.update(
        {
            "datetime": dt.datetime,
            "timedelta": dt.timedelta,
            "sorted": sorted,
            "min": min,
            "max": max,
            "sum": sum,
            "any": any,
            "all": all,
            "pow": _guarded_pow,
            "math": _ModuleView(
                math, set(), {"factorial": _guarded_factorial, "comb": _guarded_comb, "perm": _guarded_perm}
            ),
            "random": _ModuleView(random, {"randbytes", "getrandbits", "choices", "sample", "seed"}, {}),
            "whrandom": _ModuleView(random, {"randbytes", "getrandbits", "choices", "sample", "seed"}, {}),
            "string": _ModuleView(string, {"Formatter", "Template"}, {}),
            "__import__": _guarded_import,
        }
    )
    return names


_BASE_GLOBALS: Final[dict[str, Any]] = {
    "__builtins__": _builtins(),
    "_getattr_": guarded_getattr,
    "_getitem_": guarded_getitem,
    "_getiter_": guarded_getiter,
    "_write_": full_write_guard,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_apply_": _apply,
    "_mult_": _guarded_mult,
    "_pow_": _guarded_pow,
    "_lshift_": _guarded_lshift,
    "_mod_": _guarded_mod,
}


# --- compile and run ---------------------------------------------------------------------------------


def compile_query(tree: ast.Expression) -> types.CodeType:
    """Restrict and compile a prepared expression (a deep copy; ``tree`` stays as it was).

    Raises :class:`QuerySyntaxError` with RestrictedPython's reasons, e.g. for ``run._x``.
    """
    work = copy.deepcopy(tree)
    errors: list[str] = []
    notes: list[str] = []
    used_names: dict[str, bool] = {}
    RestrictingNodeTransformer(errors, notes, used_names).visit(work)
    if errors:
        raise QuerySyntaxError("; ".join(errors))
    _SizeGuards().visit(work)
    ast.fix_missing_locations(work)
    try:
        with warnings.catch_warnings():
            # SyntaxWarnings (``1 is 1``) are the user's business, not the log's.
            warnings.simplefilter("ignore")
            return compile(work, "<query>", "eval")
    except (SyntaxError, ValueError) as exc:  # a rewrite left something Python cannot compile
        raise QuerySyntaxError(str(exc)) from exc


def run_compiled(
    code: types.CodeType,
    names: dict[str, Any],
    *,
    max_steps: int = DEFAULT_MAX_STEPS,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> Any:
    """Evaluate compiled query code with ``names`` bound; exceptions propagate (callers map to False)."""
    token = _BUDGET.set(_Budget(max_steps, max_seconds))
    try:
        return eval(code, {**_BASE_GLOBALS, **names})
    finally:
        _BUDGET.reset(token)
