"""Writing into a series: merging new points into blocks, splitting by size, and planning key rewrites.

A block owns the steps from its first step up to the next block's first step; a point before the first
block belongs to the first block. Writing a step that exists overwrites it, so replays are harmless.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain, pairwise
from typing import Any

from matyan_store.codec.block import Block
from matyan_store.codec.block_codec import encode_block_columns
from matyan_store.codec.chunks import MAX_VALUE_BYTES
from matyan_store.codec.points import Point, coerce_values, infer_kind, normalize_point
from matyan_store.codec.summary import BlockSummary

DEFAULT_TARGET_BYTES = 10_000
"""Blocks are cut so their encoded size stays at or under this (a lone huge point is the exception)."""

DEFAULT_MAX_POINTS = 8192
"""Cap on points per block, so very compressible series do not make blocks slow to slice."""

# Cutting a little under the target leaves room for estimation error and avoids a re-encode.
_FILL = 0.97


@dataclass(frozen=True, slots=True)
class EncodedBlock:
    """A block together with its encoded value."""

    block: Block
    data: bytes

    @property
    def first_step(self) -> int:
        """The block's identity (its key suffix in storage)."""
        return self.block.first_step

    @property
    def summary(self) -> BlockSummary:
        """The block's summary."""
        return self.block.summary


@dataclass(frozen=True, slots=True)
class WritePlan:
    """What to change in storage: clear the block keys at ``remove``, then set every block in ``put``."""

    remove: list[int] = field(default_factory=list)
    put: list[EncodedBlock] = field(default_factory=list)


def _check_limits(target_bytes: int, max_points: int) -> None:
    if not 0 < target_bytes < MAX_VALUE_BYTES:
        raise ValueError(f"target_bytes must be in (0, {MAX_VALUE_BYTES})")
    if max_points < 1:
        raise ValueError("max_points must be positive")


def split_block(
    block: Block, *, target_bytes: int = DEFAULT_TARGET_BYTES, max_points: int = DEFAULT_MAX_POINTS
) -> list[EncodedBlock]:
    """Encode ``block`` as one or more blocks of at most ``target_bytes`` (and ``max_points``) each.

    Blocks are filled greedily in step order, so an appended series ends as full blocks plus one
    partial tail. A single point larger than the target becomes a block of its own.
    """
    _check_limits(target_bytes, max_points)
    n = len(block)
    out: list[EncodedBlock] = []
    start = 0
    bytes_per_point: float | None = None
    while start < n:
        take = min(n - start, max_points)
        if bytes_per_point is not None:
            take = max(1, min(take, int(target_bytes * _FILL / bytes_per_point)))
        while True:
            part = block if take == n else block.take(start, start + take)
            data = encode_block_columns(part)
            if len(data) <= target_bytes or take == 1:
                break
            take = max(1, min(take - 1, int(take * target_bytes * _FILL / len(data))))
        bytes_per_point = len(data) / take
        out.append(EncodedBlock(part, data))
        start += take
    return out


def merge_block(block: Block | None, new: Sequence[Point]) -> Block:
    """``block`` (None: no block) with the normalized, step-sorted ``new`` points merged in (they win)."""
    return _merged_block(block, new)


def _merged_block(block: Block | None, new: Sequence[Point]) -> Block:
    if block is None:
        return Block.from_points(new)
    if new and new[0].step > block.steps[-1] and all(a.step < b.step for a, b in pairwise(new)):
        # Appending in order (the common case): concatenate columns, no per-point objects.
        values = list(chain(block.values, (p.value for p in new)))
        kind = infer_kind(values)
        return Block(
            kind,
            list(chain(block.steps, (p.step for p in new))),
            coerce_values(values, kind),
            list(chain(block.epochs, (p.epoch for p in new))),
            list(chain(block.timestamps, (p.timestamp for p in new))),
        )
    return Block.from_points(chain(block.points(), new))


def merge_points_encoded(
    block: Block | None,
    new_points: Iterable[Point | tuple[Any, ...]],
    *,
    target_bytes: int = DEFAULT_TARGET_BYTES,
    max_points: int = DEFAULT_MAX_POINTS,
) -> list[EncodedBlock]:
    """Like :func:`merge_points`, returning the encoded values too (what the storage layer writes)."""
    new = [normalize_point(p) for p in new_points]
    if block is None and not new:
        return []
    if not new:
        assert block is not None
        return split_block(block, target_bytes=target_bytes, max_points=max_points)
    return split_block(_merged_block(block, new), target_bytes=target_bytes, max_points=max_points)


def merge_points(
    block: Block | None,
    new_points: Iterable[Point | tuple[Any, ...]],
    *,
    target_bytes: int = DEFAULT_TARGET_BYTES,
    max_points: int = DEFAULT_MAX_POINTS,
) -> list[Block]:
    """Merge ``new_points`` into ``block`` (None for a new series) and split the result by size.

    A step already present is overwritten (the last occurrence in ``new_points`` wins); points land in
    step order wherever they fall. The value kind is re-inferred over the merged values.
    """
    encoded = merge_points_encoded(block, new_points, target_bytes=target_bytes, max_points=max_points)
    return [e.block for e in encoded]


def owner_index(first_steps: Sequence[int], step: int) -> int:
    """Index of the block that owns ``step`` given the blocks' first steps (sorted); 0 before the first."""
    return max(0, bisect_right(first_steps, step) - 1)


def blocks_to_rewrite(summaries: Sequence[BlockSummary], steps: Iterable[int]) -> list[BlockSummary]:
    """The existing blocks (sorted by first step) that a write of ``steps`` has to rewrite."""
    if not summaries:
        return []
    firsts = [s.first_step for s in summaries]
    hit = sorted({owner_index(firsts, s) for s in steps})
    return [summaries[i] for i in hit]


def plan_write(
    summaries: Sequence[BlockSummary],
    new_points: Iterable[Point | tuple[Any, ...]],
    load: Callable[[BlockSummary], Block],
    *,
    target_bytes: int = DEFAULT_TARGET_BYTES,
    max_points: int = DEFAULT_MAX_POINTS,
) -> WritePlan:
    """Plan the write of a batch into a series whose blocks have ``summaries`` (sorted by first step).

    ``load`` returns the decoded block for a summary (the storage layer reads the key at its first
    step); only blocks that receive points are loaded. Apply the plan by clearing ``remove`` and then
    setting ``put``, in one transaction.
    """
    new = [normalize_point(p) for p in new_points]
    if not new:
        return WritePlan()
    if not summaries:
        return WritePlan(
            [], merge_points_encoded(None, new, target_bytes=target_bytes, max_points=max_points)
        )
    firsts = [s.first_step for s in summaries]
    groups: dict[int, list[Point]] = {}
    for p in new:
        groups.setdefault(owner_index(firsts, p.step), []).append(p)
    plan = WritePlan()
    for i in sorted(groups):
        old = summaries[i]
        plan.remove.append(old.first_step)
        plan.put.extend(
            merge_points_encoded(load(old), groups[i], target_bytes=target_bytes, max_points=max_points)
        )
    return plan
