"""FoundationDB error codes mapped onto our :mod:`~matyan_store.engine.errors`.

Pure data, importable without the FoundationDB client library, so the mapping is testable anywhere.
"""

from __future__ import annotations

from .errors import (
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

TIMED_OUT = 1004
TRANSACTION_TOO_OLD = 1007
FUTURE_VERSION = 1009
NOT_COMMITTED = 1020
COMMIT_UNKNOWN_RESULT = 1021
TRANSACTION_TIMED_OUT = 1031
PROCESS_BEHIND = 1037
BATCH_TRANSACTION_THROTTLED = 1051
TAG_THROTTLED = 1213
KEY_OUTSIDE_LEGAL_RANGE = 2004
TRANSACTION_TOO_LARGE = 2101
KEY_TOO_LARGE = 2102
VALUE_TOO_LARGE = 2103
CONNECTION_STRING_INVALID = 2104
NO_CLUSTER_FILE_FOUND = 2108

# Transient conditions FoundationDB's own retry loop (on_error) would run again, besides the ones with
# a class of their own below.
TRANSIENT_CODES = frozenset(
    {
        TIMED_OUT,
        FUTURE_VERSION,
        TRANSACTION_TIMED_OUT,
        PROCESS_BEHIND,
        BATCH_TRANSACTION_THROTTLED,
        TAG_THROTTLED,
    }
)

# FoundationDB's hard limits, used in messages (its errors do not carry the sizes).
FDB_KEY_LIMIT = 10_000
FDB_VALUE_LIMIT = 100_000
FDB_TRANSACTION_LIMIT = 10_000_000


def map_fdb_error(code: int, message: str) -> StoreError:
    """Our error for FoundationDB error ``code`` (``message`` is FoundationDB's description)."""
    detail = f"FoundationDB error {code}: {message}"
    match code:
        case 1007:
            return TransactionTooOld(f"transaction is older than FoundationDB's 5 s limit ({detail})")
        case 1020:
            return ConflictError(f"transaction conflicted with another one ({detail})")
        case 1021:
            return CommitUnknownResult(f"commit result unknown ({detail})")
        case 2101:
            return TransactionTooLarge(None, FDB_TRANSACTION_LIMIT, detail)
        case 2102:
            return KeyTooLarge(None, FDB_KEY_LIMIT, detail)
        case 2103:
            return ValueTooLarge(None, FDB_VALUE_LIMIT, detail)
        case 2004:
            return KeyOutsideLegalRange(detail)
        case 2104 | 2108:
            return EngineUnavailable(detail)
        case _ if code in TRANSIENT_CODES:
            return RetryableEngineError(detail)
        case _:
            return EngineError(message, code)
