"""Writing into a series: merging points into the block that owns their steps, splitting blocks by size.

A block owns the steps from its first step up to the next block's first step; a point before the first
block belongs to the first block. Writing a step that exists overwrites it, so replays are harmless.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain, pairwise

from matyan_store.codec.block import Block
from matyan_store.codec.block_codec import encode_block_columns
from matyan_store.codec.points import Point, coerce_values, infer_kind
from matyan_store.codec.summary import BlockSummary
from matyan_store.codec.value_parts import MAX_VALUE_BYTES

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


def _check_limits(target_bytes: int, max_points: int) -> None:
    if not 0 < target_bytes < MAX_VALUE_BYTES:
        raise ValueError(f"target_bytes must be in (0, {MAX_VALUE_BYTES})")
    if max_points < 1:
        raise ValueError("max_points must be positive")


def split_block(
    block: Block,
    *,
    target_bytes: int = DEFAULT_TARGET_BYTES,
    max_points: int = DEFAULT_MAX_POINTS,
    leave: Callable[[int], bool] | None = None,
) -> list[EncodedBlock]:
    """Encode ``block`` as one or more blocks of at most ``target_bytes`` (and ``max_points``) each.

    Blocks are filled greedily in step order, so an appended series ends as full blocks plus one
    partial tail. A single point larger than the target becomes a block of its own. With ``leave``,
    splitting stops as soon as ``leave(points not yet encoded)`` is true: those last points are left
    out (the caller keeps them, e.g. as an open block).
    """
    _check_limits(target_bytes, max_points)
    n = len(block)
    out: list[EncodedBlock] = []
    start = 0
    bytes_per_point: float | None = None
    while start < n and (leave is None or not leave(n - start)):
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


def owner_index(first_steps: Sequence[int], step: int) -> int:
    """Index of the block that owns ``step`` given the blocks' first steps (sorted); 0 before the first."""
    return max(0, bisect_right(first_steps, step) - 1)
