"""Backup manifest (format version 1): round trip and parity with matyan-api-models 0.2.1."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from matyan_api_models import backup as theirs

from matyan_models import FORMAT_VERSION, MANIFEST_FILE, RUN_FILES, BackupManifest

FULL: dict[str, Any] = {
    "format_version": 1,
    "created_at": "2026-03-20T12:00:00+00:00",
    "run_count": 2,
    "run_hashes": ["0123456789abcdef0123456789abcdef", "integration-0123456789ab"],
    "entity_counts": {"experiments": 1, "tags": 3},
    "blob_count": 4,
    "blob_bytes": 1024,
    "filters": {"experiment": "exp", "since": None, "nested": {"ü": [1, 2]}},
    "include_blobs": False,
}


def _make_run_dirs(backup_dir: Path, hashes: list[str], files: tuple[str, ...] = RUN_FILES) -> None:
    for run_hash in hashes:
        run_dir = backup_dir / "runs" / run_hash
        run_dir.mkdir(parents=True)
        for name in files:
            (run_dir / name).write_text("{}")


def test_constants_and_fields_match() -> None:
    assert (
        (FORMAT_VERSION, MANIFEST_FILE)
        == (theirs.FORMAT_VERSION, theirs.MANIFEST_FILE)
        == (1, "manifest.json")
    )
    ours_fields = [(f.name, f.type) for f in dataclasses.fields(BackupManifest)]
    their_fields = [(f.name, f.type) for f in dataclasses.fields(theirs.BackupManifest)]
    assert ours_fields == their_fields
    assert dataclasses.asdict(BackupManifest()) == dataclasses.asdict(theirs.BackupManifest())


def test_written_file_is_byte_identical(tmp_path: Path) -> None:
    (tmp_path / "ours").mkdir()
    (tmp_path / "theirs").mkdir()
    BackupManifest(**FULL).write(tmp_path / "ours")
    theirs.BackupManifest(**FULL).write(tmp_path / "theirs")
    mine = (tmp_path / "ours" / "manifest.json").read_bytes()
    assert mine == (tmp_path / "theirs" / "manifest.json").read_bytes()
    assert mine.endswith(b"}\n")
    assert mine.startswith(b'{\n  "format_version": 1,\n')


def test_empty_created_at_becomes_utc_now(tmp_path: Path) -> None:
    manifest = BackupManifest(run_count=0)
    manifest.write(tmp_path)
    data = json.loads((tmp_path / MANIFEST_FILE).read_text())
    created = datetime.fromisoformat(data["created_at"])
    assert created.utcoffset() is not None
    assert created.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert manifest.created_at == ""  # like 0.2.1, the object itself is not changed
    assert list(data) == [f.name for f in dataclasses.fields(BackupManifest)]


def test_round_trip(tmp_path: Path) -> None:
    BackupManifest(**FULL).write(tmp_path)
    assert dataclasses.asdict(BackupManifest.read(tmp_path)) == FULL
    assert BackupManifest.read(str(tmp_path)) == BackupManifest(**FULL)


def test_cross_library_round_trip(tmp_path: Path) -> None:
    theirs.BackupManifest(**FULL).write(tmp_path)
    assert dataclasses.asdict(BackupManifest.read(tmp_path)) == dataclasses.asdict(
        theirs.BackupManifest.read(tmp_path)
    )
    (tmp_path / MANIFEST_FILE).unlink()
    BackupManifest(**FULL).write(tmp_path)
    assert dataclasses.asdict(theirs.BackupManifest.read(tmp_path)) == FULL


@pytest.mark.parametrize(
    "content",
    [
        {"format_version": 1},
        {"format_version": 1, "run_hashes": ["a"], "unknown_key": 3},
        {"format_version": 1, "created_at": "x", "include_blobs": True, "filters": {}},
    ],
)
def test_missing_keys_take_the_defaults(tmp_path: Path, content: dict[str, Any]) -> None:
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(content))
    assert dataclasses.asdict(BackupManifest.read(tmp_path)) == dataclasses.asdict(
        theirs.BackupManifest.read(tmp_path)
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as mine:
        BackupManifest.read(tmp_path)
    with pytest.raises(FileNotFoundError) as reference:
        theirs.BackupManifest.read(tmp_path)
    assert str(mine.value) == str(reference.value) == f"No manifest.json found in {tmp_path}"


@pytest.mark.parametrize(
    ("content", "version"), [({"format_version": 2}, 2), ({}, 0), ({"format_version": "1"}, "1")]
)
def test_unsupported_version(tmp_path: Path, content: dict[str, Any], version: object) -> None:
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(content))
    with pytest.raises(ValueError, match="Unsupported backup format version") as mine:
        BackupManifest.read(tmp_path)
    with pytest.raises(ValueError, match="Unsupported backup format version") as reference:
        theirs.BackupManifest.read(tmp_path)
    assert (
        str(mine.value) == str(reference.value) == f"Unsupported backup format version {version} (expected 1)"
    )


def test_write_needs_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        BackupManifest().write(tmp_path / "missing")


def _both_validate(backup_dir: Path, hashes: list[str]) -> list[str]:
    mine = BackupManifest(run_hashes=hashes).validate(backup_dir)
    assert mine == theirs.BackupManifest(run_hashes=hashes).validate(backup_dir)
    return mine


def test_validate_missing_runs_dir(tmp_path: Path) -> None:
    assert _both_validate(tmp_path, ["a"]) == ["Missing 'runs/' directory"]
    (tmp_path / "runs").write_text("not a directory")
    assert _both_validate(tmp_path, []) == ["Missing 'runs/' directory"]


def test_validate_complete_backup(tmp_path: Path) -> None:
    hashes = ["b" * 32, "a" * 32, "integration-0123456789ab"]
    _make_run_dirs(tmp_path, hashes)
    (tmp_path / "runs" / "stray-file.json").write_text("{}")  # files in runs/ are not run directories
    assert _both_validate(tmp_path, hashes) == []
    (tmp_path / "runs").rename(tmp_path / "old")
    (tmp_path / "runs").mkdir()
    assert _both_validate(tmp_path, []) == []


def test_validate_reports_missing_and_unexpected_directories(tmp_path: Path) -> None:
    _make_run_dirs(tmp_path, ["present", "extra"])
    assert _both_validate(tmp_path, ["present", "absent"]) == [
        "Missing run directories: {'absent'}",
        "Unexpected run directories: {'extra'}",
    ]


def test_validate_reports_missing_run_files(tmp_path: Path) -> None:
    _make_run_dirs(tmp_path, ["r1"], files=("run.json", "traces.json"))
    _make_run_dirs(tmp_path, ["r2"], files=())
    assert _both_validate(tmp_path, ["r1", "r2"]) == [
        "Run r1: missing attrs.json",
        "Run r1: missing contexts.json",
        "Run r2: missing run.json",
        "Run r2: missing attrs.json",
        "Run r2: missing traces.json",
        "Run r2: missing contexts.json",
    ]


def test_a_written_backup_validates(tmp_path: Path) -> None:
    manifest = BackupManifest(**FULL)
    _make_run_dirs(tmp_path, manifest.run_hashes)
    manifest.write(tmp_path)
    assert BackupManifest.read(tmp_path).validate(tmp_path) == []
    assert theirs.BackupManifest.read(tmp_path).validate(tmp_path) == []
