"""The ops jobs' settings: the defaults of the cleanup CronJobs.

The jobs open the store through :class:`~matyan_store.engine.EngineSettings` and
:class:`~matyan_store.blobs.BlobSettings`; only what the ops commands read themselves lives here, under
the contract's names (no prefix, case-insensitive, ``.env`` read).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["OpsSettings"]


class OpsSettings(BaseSettings):
    """The cleanup jobs' defaults and the ingest workers' group (``offsets show|reset``).

    ``TOMBSTONE_CLEANUP_OLDER_THAN_HOURS``, ``CLEANUP_JOB_LOCK_TTL_SECONDS``, and
    ``MATYAN_INGEST_GROUP_ID`` (the workers' variable, with their default).
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    tombstone_cleanup_older_than_hours: int = Field(default=168, ge=0)
    cleanup_job_lock_ttl_seconds: int = Field(default=0, ge=0)
    matyan_ingest_group_id: str = "ingestion-workers"
