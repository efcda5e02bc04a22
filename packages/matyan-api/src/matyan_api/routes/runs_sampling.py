"""Range strings and point sampling of the JSON run routes.

See docs/http-contract.md, Common parameters and Sampling.

Pure functions: ``parse_range`` reads ``"start:stop"`` query values, ``evenly_spaced`` and
``point_read_sample`` pick which points of a series a response carries.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

__all__ = ["RangeError", "evenly_spaced", "parse_range", "point_read_sample", "point_read_targets"]


class RangeError(ValueError):
    """A range string whose bounds are not integers."""


def parse_range(text: str | None) -> tuple[int | None, int | None]:
    """``"start:stop"`` -> ``(start, stop)`` with ``stop`` exclusive; either side may be empty.

    A string without ``:`` (``""``, ``"2,8"``) means "no range". Non-integer bounds raise
    :class:`RangeError` (the routes answer 422 rather than the reference's 500).
    """
    if not text or ":" not in text:
        return None, None
    left, _, right = text.partition(":")
    return _bound(left, text), _bound(right, text)


def _bound(part: str, whole: str) -> int | None:
    part = part.strip()
    if not part:
        return None
    try:
        return int(part)
    except ValueError:
        raise RangeError(f"invalid range {whole!r}: bounds must be integers") from None


def evenly_spaced[T](items: Sequence[T], n: int) -> list[T]:
    """At most ``n`` items spread evenly, first and last included (docs/http-contract.md, Sampling).

    ``n <= 0`` or a sequence no longer than ``n`` returns everything; ``n == 1`` returns the first item.
    Indices are ``round(i*(len-1)/(n-1))`` with Python's half-to-even ``round``, de-duplicated in order.
    """
    if n <= 0 or len(items) <= n:
        return list(items)
    if n == 1:
        return [items[0]]
    last = len(items) - 1
    picked: list[int] = []
    for i in range(n):
        index = round(i * last / (n - 1))
        if not picked or picked[-1] != index:
            picked.append(index)
    return [items[i] for i in picked]


def point_read_targets(first: int, last: int, n: int) -> list[int]:
    """The target steps of the point-read sampling between ``first`` and ``last`` (both kept)."""
    if first == last or n <= 1:
        return [first]
    targets: list[int] = []
    for i in range(n):
        target = first + round(i * (last - first) / (n - 1))
        if not targets or targets[-1] != target:
            targets.append(target)
    return targets


def point_read_sample(steps: Sequence[int], n: int) -> list[int]:
    """Indices into the sorted ``steps`` that the point-read sampling returns for density ``n``.

    For each target step take the first stored step at or after it; if that yields fewer than ``n``
    points (sparse or short series), fall back to the evenly spaced pick over every point, so a series
    of at most ``n`` points comes back whole. ``n <= 0`` means no sampling.
    """
    count = len(steps)
    # Asking for at least as many points as there are gives them all (what the loop below would find),
    # without walking ``n`` targets: ``n`` comes from the query string and may be astronomically large.
    if n <= 0 or count <= n:
        return list(range(count))
    picked: list[int] = []
    for target in point_read_targets(steps[0], steps[-1], n):
        index = bisect_left(steps, target)
        if index < count and (not picked or picked[-1] != index):
            picked.append(index)
    if n > 1 and len(picked) < n:
        return evenly_spaced(range(count), n)
    return picked
