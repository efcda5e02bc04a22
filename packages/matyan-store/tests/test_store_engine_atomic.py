"""FoundationDB's atomic add / min / max rules (matyan_store.engine.atomic), without an engine."""

from __future__ import annotations

import pytest

from matyan_store.engine import AtomicOp, apply_atomic, from_le, le_int


@pytest.mark.parametrize(
    ("op", "existing", "operand", "expected"),
    [
        (AtomicOp.ADD, None, le_int(5), le_int(5)),
        (AtomicOp.ADD, le_int(5), le_int(-6), le_int(-1)),
        (AtomicOp.ADD, b"\xff", b"\x01", b"\x00"),
        (AtomicOp.ADD, b"\x01", b"\x01\x00", b"\x02\x00"),  # shorter existing: zero-extended
        (AtomicOp.ADD, b"\x01\x01", b"\x01", b"\x02"),  # longer existing: truncated
        (AtomicOp.ADD, b"", b"\x07", b"\x07"),
        (AtomicOp.MIN, None, b"\x09", b"\x09"),
        (AtomicOp.MIN, b"\x03", b"\x09", b"\x03"),
        (AtomicOp.MIN, b"", b"\x09", b"\x00"),  # present but empty: zero
        (AtomicOp.MAX, None, b"\x00", b"\x00"),
        (AtomicOp.MAX, b"\x03", b"\x09", b"\x09"),
        (AtomicOp.MAX, le_int(-1, 2), le_int(1, 2), le_int(-1, 2)),  # unsigned comparison
        (AtomicOp.MIN, b"\x05\x01", b"\x06", b"\x05"),
    ],
)
def test_apply_atomic(op: AtomicOp, existing: bytes | None, operand: bytes, expected: bytes) -> None:
    assert apply_atomic(op, existing, operand) == expected


def test_le_int_round_trip() -> None:
    for value in (-(2**63), -1, 0, 1, 2**63 - 1):
        assert from_le(le_int(value)) == value
    assert from_le(le_int(-1), signed=False) == 2**64 - 1
    assert from_le(None) == 0
    assert le_int(258, 2) == b"\x02\x01"
