"""Engine settings read from the environment.

``FDB_CLUSTER_FILE``, ``FDB_API_VERSION``, ``FDB_RETRY_*`` and ``FDB_THREAD_POOL_SIZE`` keep the
reference backend's names; the retry and thread-pool settings apply to the embedded engine too. The
additions are ``MATYAN_STORE_ENGINE`` (``lmdb`` or ``fdb``, or an engine URL such as
``lmdb:///var/lib/matyan/kv``), ``MATYAN_LMDB_DIR`` (default ``$MATYAN_DATA_DIR/kv``) and the
``MATYAN_LMDB_*`` tuning knobs.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from .limits import RetryPolicy
from .lmdb_engine import DEFAULT_MAP_SIZE, DEFAULT_MAX_READERS


class EngineSettings(BaseSettings):
    """Which engine to open and how."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    matyan_store_engine: str = "lmdb"
    matyan_data_dir: str = "matyan-data"
    matyan_lmdb_dir: str = ""
    matyan_lmdb_map_size: int = DEFAULT_MAP_SIZE
    matyan_lmdb_max_readers: int = DEFAULT_MAX_READERS
    matyan_lmdb_sync: bool = True

    fdb_cluster_file: str = ""
    fdb_api_version: int = 730
    fdb_retry_max_attempts: int = 5
    fdb_retry_initial_delay_sec: float = 0.05
    fdb_retry_max_delay_sec: float = 2.0
    fdb_thread_pool_size: int = 16

    @property
    def lmdb_dir(self) -> Path:
        """The embedded engine's directory."""
        return Path(self.matyan_lmdb_dir) if self.matyan_lmdb_dir else Path(self.matyan_data_dir) / "kv"

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy described by the ``FDB_RETRY_*`` settings."""
        return RetryPolicy(
            max_attempts=self.fdb_retry_max_attempts,
            initial_delay_s=self.fdb_retry_initial_delay_sec,
            max_delay_s=self.fdb_retry_max_delay_sec,
        )
