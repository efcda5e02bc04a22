"""The point type of a series, value kinds, and the validation every writer goes through."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import IntEnum
from typing import Any, NamedTuple

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

# Values are JSON-like data (plus bytes) chosen by the training script; there is no useful static type.
Value = Any


class ValueKind(IntEnum):
    """How the values of a block are stored; the number is part of the on-disk format."""

    FLOAT = 1
    INT = 2
    BOOL = 3
    OBJECT = 4

    @property
    def numeric(self) -> bool:
        """True for kinds that have an order (min/max, spikes)."""
        return self is not ValueKind.OBJECT


class Point(NamedTuple):
    """One tracked value: its step, the value itself, and the optional epoch and wall-clock timestamp."""

    step: int
    value: Value
    epoch: int | None = None
    timestamp: float | None = None


def normalize_point(p: Point | tuple[Any, ...]) -> Point:
    """Validate one point and return it as a :class:`Point` with a float (or None) timestamp.

    Raises ``ValueError`` for a step that is not an int in [0, 2**63), an epoch outside int64, or a
    timestamp that is not a number.
    """
    if len(p) == 2:
        step, value = p
        epoch: Any = None
        ts: Any = None
    else:
        step, value, epoch, ts = p
    if type(step) is not int or not 0 <= step <= INT64_MAX:
        raise ValueError(f"step must be an int in [0, 2**63), got {step!r}")
    if epoch is not None and (type(epoch) is not int or not INT64_MIN <= epoch <= INT64_MAX):
        raise ValueError(f"epoch must be an int64 or None, got {epoch!r}")
    if ts is not None:
        if type(ts) is int:
            ts = float(ts)
        elif type(ts) is not float:
            raise ValueError(f"timestamp must be a float or None, got {ts!r}")
    if type(p) is Point and ts is p.timestamp:
        return p
    return Point(step, value, epoch, ts)


def _ints_fit_float(values: Iterable[Any]) -> bool:
    return all(type(v) is not int or (abs(v) <= 1 << 53) for v in values)


def infer_kind(values: Sequence[Value]) -> ValueKind:
    """Pick the most compact kind that stores ``values`` without losing information.

    Only float, int and bool (exact types) are numeric. Ints mixed with floats make a FLOAT block when
    every int is exactly representable (metrics often log ``0`` then ``0.5``); they come back as floats.
    Everything else, including bools mixed with numbers, is OBJECT and keeps its exact type.
    """
    types = set(map(type, values))
    if types == {float}:
        return ValueKind.FLOAT
    if types == {bool}:
        return ValueKind.BOOL
    if types == {int}:
        ints: Sequence[int] = values
        if min(ints) >= INT64_MIN and max(ints) <= INT64_MAX:
            return ValueKind.INT
        return ValueKind.OBJECT
    if types == {int, float} and _ints_fit_float(values):
        return ValueKind.FLOAT
    return ValueKind.OBJECT


def coerce_values(values: Sequence[Value], kind: ValueKind) -> list[Value]:
    """Return ``values`` converted for ``kind`` (ints become floats in a FLOAT block); no other change."""
    if kind is ValueKind.FLOAT:
        return [v if type(v) is float else float(v) for v in values]
    return list(values)


def unify_kinds(a: ValueKind, b: ValueKind) -> ValueKind:
    """The kind of a block holding values of both kinds (used when concatenating read results)."""
    if a is b:
        return a
    if {a, b} == {ValueKind.INT, ValueKind.FLOAT}:
        return ValueKind.FLOAT
    return ValueKind.OBJECT
