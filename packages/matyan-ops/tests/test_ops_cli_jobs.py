"""The ops commands through the real `matyan-backend` process: help, exit codes, JSON, and S3 blobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ops_store_fixtures import make_place, open_at, populate

from matyan_models import BackupManifest
from matyan_store import sequences
from matyan_store.blobs import BlobSettings, open_sync_blob_store
from matyan_store.sequences import SeriesKey

COMMANDS = ["reindex", "backup", "restore", "finish-stale", "cleanup-orphan-blobs", "cleanup-tombstones"]


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from matyan_ops.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, **env},
    )


def store_env(kv: Path, blobs: Path) -> dict[str, str]:
    return {
        "MATYAN_STORE_ENGINE": "lmdb",
        "MATYAN_LMDB_DIR": str(kv),
        "MATYAN_LMDB_SYNC": "false",
        "BLOB_BACKEND_TYPE": "local",
        "BLOB_LOCAL_DIR": str(blobs),
    }


@pytest.mark.parametrize("command", [*COMMANDS, "convert tensorboard"])
def test_every_command_documents_its_options(command: str) -> None:
    result = run_cli({}, *command.split(), "--help")
    assert result.returncode == 0, result.stderr
    assert "--json" in result.stdout
    assert "not available" not in result.stdout


def test_exit_codes_and_json_summary(tmp_path: Path) -> None:
    place = make_place(tmp_path, "s")
    with open_at(place) as engine:
        populate(engine)
    env = store_env(place.kv, place.blobs)
    ok = run_cli(env, "reindex", "--verify-only", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["runs_checked"] == 2
    assert run_cli(env, "restore", str(tmp_path / "missing")).returncode == 2
    assert run_cli(env, "backup").returncode == 2  # OUTPUT_PATH is required
    assert run_cli(env, "cleanup-tombstones", "--limit", "-1").returncode == 2
    backup = run_cli(env, "backup", str(tmp_path / "out"), "--no-blobs", "--json")
    assert backup.returncode == 0, backup.stderr
    assert json.loads(backup.stdout)["run_count"] == 2


@pytest.mark.services
def test_backup_and_restore_blobs_through_s3(tmp_path: Path, s3_service: object) -> None:
    s3 = s3_service
    s3_env = {
        "BLOB_BACKEND_TYPE": "s3",
        "S3_ENDPOINT": s3.endpoint_url,  # type: ignore[attr-defined]
        "S3_BUCKET": s3.bucket,  # type: ignore[attr-defined]
        "S3_ACCESS_KEY": s3.access_key,  # type: ignore[attr-defined]
        "S3_SECRET_KEY": s3.secret_key,  # type: ignore[attr-defined]
        "S3_REGION": s3.region,  # type: ignore[attr-defined]
    }
    settings = BlobSettings.from_values(**{k.lower(): v for k, v in s3_env.items()})
    store = open_sync_blob_store(settings)
    store.put("r1/artifacts/model.bin", b"\x01" * 5000)
    source = make_place(tmp_path, "src")
    with open_at(source) as engine:
        populate(engine)
    env = {**store_env(source.kv, source.blobs), **s3_env}
    backup = run_cli(env, "backup", str(tmp_path / "out"), "--runs", "r1", "--json")
    assert backup.returncode == 0, backup.stderr
    backup_dir = Path(json.loads(backup.stdout)["path"])
    assert (backup_dir / "runs" / "r1" / "blobs" / "artifacts" / "model.bin").read_bytes() == b"\x01" * 5000
    assert BackupManifest.read(backup_dir).blob_count >= 1
    store.delete_prefix("r1")
    target = make_place(tmp_path, "dst")
    restored = run_cli({**store_env(target.kv, target.blobs), **s3_env}, "restore", str(backup_dir), "--json")
    assert restored.returncode == 0, restored.stderr
    assert store.get("r1/artifacts/model.bin") == b"\x01" * 5000
    with open_at(target) as engine:
        assert len(engine.read(lambda tr: sequences.read_range(tr, SeriesKey("r1", 0, "count")))) == 300
    store.delete_prefix("r1")
    store.close()
