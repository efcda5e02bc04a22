"""An LMDB engine in a temporary directory for data-model tests (imported explicitly, not a conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from matyan_store.engine import Engine, open_engine


@pytest.fixture
def lmdb_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh LMDB engine (no fsync, 1 GiB map) closed after the test."""
    engine = open_engine(f"lmdb://{tmp_path / 'kv'}?sync=false&map_size={1 << 30}")
    yield engine
    engine.close()
