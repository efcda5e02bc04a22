"""FoundationDB error codes map onto our errors (no FoundationDB client needed)."""

from __future__ import annotations

import pytest

from matyan_store.engine import (
    CommitUnknownResult,
    ConflictError,
    EngineError,
    EngineUnavailable,
    KeyOutsideLegalRange,
    KeyTooLarge,
    RetryableEngineError,
    StoreError,
    TransactionTooLarge,
    TransactionTooOld,
    ValueTooLarge,
)
from matyan_store.engine.fdb_errors import map_fdb_error


@pytest.mark.parametrize(
    ("code", "kind", "retryable"),
    [
        (1007, TransactionTooOld, True),
        (1020, ConflictError, True),
        (1021, CommitUnknownResult, True),
        (1004, RetryableEngineError, True),
        (1031, RetryableEngineError, True),
        (1213, RetryableEngineError, True),
        (2101, TransactionTooLarge, False),
        (2102, KeyTooLarge, False),
        (2103, ValueTooLarge, False),
        (2004, KeyOutsideLegalRange, False),
        (2104, EngineUnavailable, False),
        (1500, EngineError, False),
    ],
)
def test_fdb_codes_map_to_our_errors(code: int, kind: type[StoreError], retryable: bool) -> None:
    err = map_fdb_error(code, "description")
    assert type(err) is kind
    assert err.retryable is retryable
    assert str(code) in str(err)


def test_size_errors_name_foundationdb_limits() -> None:
    assert "over the limit of 10000000 bytes" in str(map_fdb_error(2101, "transaction_too_large"))
    assert "over the limit of 100000 bytes" in str(map_fdb_error(2103, "value_too_large"))
