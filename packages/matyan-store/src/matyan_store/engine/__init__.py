"""Transactional ordered key-value engines: LMDB (embedded) and FoundationDB, behind one interface.

Typical use::

    engine = open_engine("lmdb:///var/lib/matyan/kv")   # or "fdb", or EngineSettings()

    def bump(tr: Transaction) -> int:
        value = from_le(tr.get(key)) + 1
        tr.set(key, le_int(value))
        return value

    engine.transact(bump)               # retried on conflicts, committed
    await engine.atransact(bump)        # the same, off the event loop
    rows = engine.read(lambda tr: list(tr.get_prefix(prefix, limit=10)))

Importing this package never loads the FoundationDB client library.
"""

from .atomic import AtomicOp, apply_atomic, from_le, le_int
from .base import TXN_RETRIES, Engine, KeyValue, ReadTransaction, Transaction
from .errors import (
    CommitUnknownResult,
    ConflictError,
    EngineError,
    EngineFull,
    EngineUnavailable,
    KeyOutsideLegalRange,
    KeyTooLarge,
    LimitExceeded,
    RetryableEngineError,
    StoreError,
    TransactionClosed,
    TransactionTooLarge,
    TransactionTooOld,
    ValueTooLarge,
)
from .limits import EngineLimits, RetryPolicy
from .lmdb_engine import LmdbEngine
from .opening import ENGINE_NAMES, open_engine
from .settings import EngineSettings

__all__ = [
    "ENGINE_NAMES",
    "TXN_RETRIES",
    "AtomicOp",
    "CommitUnknownResult",
    "ConflictError",
    "Engine",
    "EngineError",
    "EngineFull",
    "EngineLimits",
    "EngineSettings",
    "EngineUnavailable",
    "KeyOutsideLegalRange",
    "KeyTooLarge",
    "KeyValue",
    "LimitExceeded",
    "LmdbEngine",
    "ReadTransaction",
    "RetryPolicy",
    "RetryableEngineError",
    "StoreError",
    "Transaction",
    "TransactionClosed",
    "TransactionTooLarge",
    "TransactionTooOld",
    "ValueTooLarge",
    "apply_atomic",
    "from_le",
    "le_int",
    "open_engine",
]
