"""The ops jobs' settings: the cleanup CronJobs' defaults under the contract's names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from matyan_ops.settings import OpsSettings


def test_cleanup_defaults_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOMBSTONE_CLEANUP_OLDER_THAN_HOURS", "12")
    monkeypatch.setenv("CLEANUP_JOB_LOCK_TTL_SECONDS", "600")
    settings = OpsSettings()
    assert (settings.tombstone_cleanup_older_than_hours, settings.cleanup_job_lock_ttl_seconds) == (12, 600)


def test_negative_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEANUP_JOB_LOCK_TTL_SECONDS", "-1")
    with pytest.raises(ValidationError, match="cleanup_job_lock_ttl_seconds"):
        OpsSettings()
