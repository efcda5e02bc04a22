"""FoundationDB's atomic add / min / max on little-endian integers, and helpers to encode the operands.

The embedded engine applies these functions inside its (serialised) write transaction; FoundationDB
applies the same rules on its servers. The rules, as FoundationDB documents them:

* the operand's length sets the result's length; an existing value that is shorter is zero-extended,
  a longer one is truncated to the operand's length;
* ``add`` treats a missing key as zero and wraps around (two's complement, so adding
  ``le_int(-1)`` subtracts one);
* ``min`` and ``max`` compare as *unsigned* integers and store the operand when the key is missing.
"""

from __future__ import annotations

from enum import StrEnum


class AtomicOp(StrEnum):
    """The atomic mutations the engines support."""

    ADD = "add"
    MIN = "min"
    MAX = "max"


def le_int(value: int, width: int = 8) -> bytes:
    """``value`` as a ``width``-byte little-endian operand; negative values wrap (two's complement)."""
    return (value % (1 << (8 * width))).to_bytes(width, "little")


def from_le(data: bytes | None, *, signed: bool = True) -> int:
    """Decode a little-endian integer written by the atomic operations; ``None`` or empty is 0."""
    if not data:
        return 0
    return int.from_bytes(data, "little", signed=signed)


def apply_atomic(op: AtomicOp, existing: bytes | None, operand: bytes) -> bytes:
    """The value a key holds after applying ``op`` with ``operand`` to its ``existing`` value."""
    width = len(operand)
    param = int.from_bytes(operand, "little")
    if existing is None:
        if op is AtomicOp.ADD:
            current = 0
        else:
            return bytes(operand)
    else:
        # Zero-extend a shorter value, truncate a longer one, as FoundationDB does.
        current = int.from_bytes(existing[:width], "little")
    match op:
        case AtomicOp.ADD:
            result = (current + param) % (1 << (8 * width)) if width else 0
        case AtomicOp.MIN:
            result = min(current, param)
        case AtomicOp.MAX:
            result = max(current, param)
    return result.to_bytes(width, "little")
