"""The size and age limits every engine enforces, and the retry policy of the transaction loop."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EngineLimits:
    """FoundationDB's limits, enforced identically by every engine.

    Code that passes on the embedded engine therefore does not trip over them on FoundationDB.
    Tests shrink them (notably the age) to exercise the errors quickly.
    """

    max_key_bytes: int = 10_000
    max_value_bytes: int = 100_000
    max_transaction_bytes: int = 10_000_000
    max_transaction_age_s: float = 5.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently ``transact``/``read`` run a function again after a retryable error.

    ``max_attempts`` counts every run, the first included. Backoff doubles from ``initial_delay_s`` up to
    ``max_delay_s`` with a little jitter (FoundationDB uses its own backoff through ``on_error``).
    """

    max_attempts: int = 5
    initial_delay_s: float = 0.05
    max_delay_s: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based), jitter excluded."""
        return min(self.initial_delay_s * float(2**retry), self.max_delay_s)
