"""backup -> restore round trips, restore semantics (dry run, overwrite, repeat, tombstones) and archives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ops_store_fixtures import (
    EXP_ID,
    TAG_ID,
    Place,
    blob_store,
    key_count,
    make_place,
    open_at,
    populate,
    populate_blobs,
    snapshot,
)

from matyan_models import BackupManifest
from matyan_ops.ops_commands import backup_command, restore_command
from matyan_store import runs, tombstones
from matyan_store.reindex import check_indexes


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Place:
    place = make_place(tmp_path, "source")
    with open_at(place) as engine:
        populate(engine)
    store = blob_store(place)
    populate_blobs(store)
    store.close()
    place.env(monkeypatch)
    return place


def _backup(out_dir: Path, *args: str, compress: bool = False, **kwargs: object) -> Path:
    assert backup_command(out_dir, compress=compress, **kwargs) == 0  # type: ignore[arg-type]
    made = sorted(out_dir.iterdir())
    assert len(made) == 1
    return made[0]


def test_round_trip_is_lossless(
    source: Place, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_at(source) as engine:
        before = snapshot(engine)
    backup_dir = _backup(tmp_path / "out")
    manifest = BackupManifest.read(backup_dir)
    assert sorted(manifest.run_hashes) == ["r1", "r2"]
    assert manifest.validate(backup_dir) == []
    assert manifest.entity_counts == {
        "experiment": 1,
        "tag": 1,
        "dashboard": 1,
        "dashboard_app": 1,
        "report": 1,
        "note": 2,
    }
    assert manifest.blob_count == 2
    # v1 keeps bytes as hex strings; our extra paths say where they were.
    attrs = json.loads((backup_dir / "runs" / "r1" / "attrs.json").read_text())
    assert attrs["raw"] == "0001fe"
    capsys.readouterr()

    target = make_place(tmp_path, "target")
    target.env(monkeypatch)
    assert restore_command(backup_dir, json_output=True) == 0
    summary = json.loads(capsys.readouterr().out)
    assert sorted(summary["restored"]) == ["r1", "r2"]
    assert summary["index_fixes"] == 0
    with open_at(target) as engine:
        after = snapshot(engine)
        report = check_indexes(engine)
    assert report.clean, report.differences
    assert after == before
    assert after["runs"]["r1"]["attrs"]["raw"] == b"\x00\x01\xfe"
    assert after["runs"]["r1"]["tags"] == [TAG_ID]
    assert after["runs"]["r1"]["meta"]["experiment_id"] == EXP_ID
    store = blob_store(target)
    assert store.get("r1/model.pt") == b"weights" * 1000
    assert store.list("r1") == ["r1/model.pt", "r1/seq/img/0.png"]
    store.close()


def test_compressed_backup_restores_and_repeat_adds_nothing(
    source: Place, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_at(source) as engine:
        before = snapshot(engine)
    archive = _backup(tmp_path / "out", compress=True)
    assert archive.name.endswith(".tar.gz")
    target = make_place(tmp_path, "target")
    target.env(monkeypatch)
    assert restore_command(archive) == 0
    capsys.readouterr()
    assert restore_command(archive, json_output=True) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["restored"] == []
    assert sorted(second["skipped"]) == ["r1", "r2"]
    assert second["entities"]["created"] == {}
    with open_at(target) as engine:
        assert snapshot(engine) == before


def test_filters_select_runs(source: Place, tmp_path: Path) -> None:
    by_exp = _backup(tmp_path / "a", experiment="exp-a")
    assert BackupManifest.read(by_exp).run_hashes == ["r1"]
    by_list = _backup(tmp_path / "b", runs=" r2 , nope")
    assert BackupManifest.read(by_list).run_hashes == ["r2"]
    assert BackupManifest.read(by_list).filters == {"runs": ["r2", "nope"]}
    since = _backup(tmp_path / "c", since="2023-11-14T22:13:25+00:00", include_blobs=False)
    manifest = BackupManifest.read(since)
    assert manifest.run_hashes == ["r2"]  # r1 was created 5 s before, r2 5 s after
    assert not manifest.include_blobs
    assert not (since / "runs" / "r2" / "blobs").exists()
    none = _backup(tmp_path / "d", experiment="missing")
    assert BackupManifest.read(none).run_count == 0
    assert not (none / "entities.jsonl").exists()


def test_dry_run_writes_nothing(
    source: Place, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    backup_dir = _backup(tmp_path / "out")
    target = make_place(tmp_path, "target")
    target.env(monkeypatch)
    with open_at(target) as engine:
        assert key_count(engine) == 0
    capsys.readouterr()
    assert restore_command(backup_dir, dry_run=True, json_output=True) == 0
    summary = json.loads(capsys.readouterr().out)
    assert sorted(summary["restored"]) == ["r1", "r2"]
    assert summary["points"] == 2500 + 300 + 50 + 5 + 1 + 1 + 100
    assert summary["entities"]["created"]["experiment"] == 1
    with open_at(target) as engine:
        assert key_count(engine) == 0
    assert list(target.blobs.iterdir()) == []


def test_overwrite_replaces_and_tombstones_are_cleared(
    source: Place, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_at(source) as engine:
        before = snapshot(engine)
    backup_dir = _backup(tmp_path / "out")
    # Change r1 and tombstone r2 (deleted) in the source itself, then restore over it.
    with open_at(source) as engine:
        engine.transact(lambda tr: runs.update_run(tr, "r1", name="renamed"))
        while not engine.transact(lambda tr: runs.delete_run_data(tr, "r2", max_bytes=1 << 20)):
            pass
        assert engine.read(lambda tr: tombstones.is_deleted(tr, "r2"))
    assert restore_command(backup_dir) == 0
    with open_at(source) as engine:
        assert engine.read(lambda tr: runs.get_run(tr, "r1")).name == "renamed"  # type: ignore[union-attr]
        assert not engine.read(lambda tr: tombstones.is_deleted(tr, "r2"))
    assert restore_command(backup_dir, overwrite=True) == 0
    with open_at(source) as engine:
        after = snapshot(engine)
        assert check_indexes(engine).clean
    assert after == before


def test_bad_input_exits_2(tmp_path: Path, source: Place) -> None:
    assert restore_command(tmp_path / "missing") == 2
    (tmp_path / "empty").mkdir()
    assert restore_command(tmp_path / "empty") == 2
    backup_dir = _backup(tmp_path / "out")
    (backup_dir / "runs" / "r2" / "traces.json").unlink()
    assert restore_command(backup_dir) == 2
    assert backup_command(tmp_path / "x", since="yesterday") == 2
