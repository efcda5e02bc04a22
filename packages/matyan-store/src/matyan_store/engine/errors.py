"""Exceptions raised by the transactional key-value engines.

Every error raised on purpose derives from :class:`StoreError`. ``retryable`` tells the retry loop in
:mod:`matyan_store.engine.base` whether running the whole transaction again may succeed; the size
errors also derive from ``ValueError`` because retrying them never helps.
"""

from __future__ import annotations

from typing import ClassVar


class StoreError(Exception):
    """Base class of every error raised on purpose by the engines."""

    retryable: ClassVar[bool] = False


class LimitExceeded(StoreError, ValueError):  # noqa: N818 (FoundationDB-style names)
    """A key, value or transaction is larger than the engine limits allow."""

    what: ClassVar[str] = "size"

    def __init__(self, size: int | None, limit: int, detail: str = "") -> None:
        suffix = f" ({detail})" if detail else ""
        actual = "too large" if size is None else f"{size} bytes"
        super().__init__(f"{self.what} is {actual}, over the limit of {limit} bytes{suffix}")
        self.size = size
        self.limit = limit


class KeyTooLarge(LimitExceeded):
    """A key is longer than ``EngineLimits.max_key_bytes`` (FoundationDB error 2102)."""

    what = "key"


class ValueTooLarge(LimitExceeded):
    """A value is longer than ``EngineLimits.max_value_bytes`` (FoundationDB error 2103)."""

    what = "value"


class TransactionTooLarge(LimitExceeded):
    """The mutations of one transaction exceed ``EngineLimits.max_transaction_bytes`` (error 2101)."""

    what = "transaction"


class KeyOutsideLegalRange(StoreError, ValueError):  # noqa: N818 (FoundationDB-style names)
    """A key at or after ``b"\\xff"``: FoundationDB reserves that range for its system keys (2004)."""


class TransactionTooOld(StoreError):  # noqa: N818 (FoundationDB-style names)
    """The transaction lived longer than ``EngineLimits.max_transaction_age_s`` (error 1007).

    Retryable, as in FoundationDB: a fresh transaction gets a fresh clock.
    """

    retryable = True

    @classmethod
    def over_limit(cls, age_s: float, limit_s: float) -> TransactionTooOld:
        """The error for a transaction found ``age_s`` old against a ``limit_s`` limit."""
        return cls(
            f"transaction is {age_s:.3f} s old, over the limit of {limit_s:.3f} s; "
            "split the work into smaller transactions"
        )


class ConflictError(StoreError):
    """Another transaction changed what this one read (FoundationDB error 1020). Retryable."""

    retryable = True


class CommitUnknownResult(StoreError):  # noqa: N818 (FoundationDB-style names)
    """The commit may or may not have been applied (FoundationDB error 1021).

    Retryable: callers make their transactions idempotent (e.g. by storing consumed offsets in them).
    """

    retryable = True


class RetryableEngineError(StoreError):
    """A transient engine condition (timeouts, throttling, recovery) worth running the transaction again."""

    retryable = True


class EngineUnavailable(StoreError):  # noqa: N818 (FoundationDB-style names)
    """The engine cannot be opened or reached: bad URL, unknown engine, missing cluster file or library."""


class EngineFull(StoreError):  # noqa: N818 (FoundationDB-style names)
    """The embedded engine's storage is full (the LMDB map size is reached)."""


class TransactionClosed(StoreError):  # noqa: N818 (FoundationDB-style names)
    """A transaction (or a range iterator) was used after its function returned."""


class EngineError(StoreError):
    """Any other engine failure, with the engine's own code and message."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message if code is None else f"{message} (engine error {code})")
        self.code = code
