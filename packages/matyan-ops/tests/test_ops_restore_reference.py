"""Restoring a backup laid out as the reference backend writes it (docs/runbook.md, Backups)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from ops_store_fixtures import blob_store, make_place, open_at

from matyan_ops.ops_commands import restore_command
from matyan_store import entities, runs, sequences
from matyan_store.reindex import check_indexes
from matyan_store.sequences import SeriesKey

EXP = "6f1d1a86-3a43-4f4e-9b8e-5b0d7f2f0a01"
TAG = "0c4e2d39-8d7b-4a39-bb7e-1f4f7a3f8e02"
CTX = {"subset": "val"}


def _ctx_id() -> int:
    from matyan_models import context_to_id

    return context_to_id(CTX)


def write_reference_backup(root: Path) -> Path:
    """A backup directory as the reference writes it: hex bytes, string context keys, no extras."""
    backup = root / "matyan-backup-20240101-000000"
    run_dir = backup / "runs" / "integration-0123456789ab"
    (run_dir / "blobs" / "images").mkdir(parents=True)
    manifest = {
        "format_version": 1,
        "created_at": "2024-01-01T00:00:00+00:00",
        "run_count": 1,
        "run_hashes": ["integration-0123456789ab"],
        "entity_counts": {"experiment": 1, "tag": 1, "note": 1, "dashboard": 1},
        "blob_count": 1,
        "blob_bytes": 3,
        "filters": {},
        "include_blobs": True,
    }
    (backup / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    lines = [
        {
            "entity_type": "experiment",
            "data": {
                "id": EXP,
                "name": "ref-exp",
                "description": "x",
                "is_archived": False,
                "run_count": 1,
                "created_at": 1.7e9,
                "updated_at": 1.7e9,
            },
        },
        {
            "entity_type": "tag",
            "data": {
                "id": TAG,
                "name": "ref-tag",
                "color": "#00f",
                "description": "",
                "is_archived": False,
                "run_count": 1,
                "created_at": 1.7e9,
                "updated_at": 1.7e9,
            },
        },
        {
            "entity_type": "note",
            "data": {
                "id": "n-1",
                "content": "hi",
                "run_hash": "integration-0123456789ab",
                "created_at": 1.7e9,
                "updated_at": 1.7e9,
            },
        },
        {
            "entity_type": "dashboard",
            "data": {
                "id": "d-1",
                "name": "dash",
                "description": "",
                "is_archived": True,
                "created_at": 1.7e9,
                "updated_at": 1.7e9,
            },
        },
    ]
    (backup / "entities.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    run = {
        "name": "Run: ref",
        "description": "",
        "created_at": 1_650_000_000.25,
        "updated_at": 1_650_000_100.0,
        "finalized_at": 1_650_000_100.0,
        "is_archived": False,
        "active": False,
        "experiment_id": EXP,
        "client_start_ts": None,
        "duration": 99.75,
    }
    (run_dir / "run.json").write_text(json.dumps(run))
    attrs = {
        "hparams": {"lr": 0.01, "layers": 4},
        "__blobs__": {"images/a.png": {"s3_key": "x", "content_type": "image/png"}},
    }
    (run_dir / "attrs.json").write_text(json.dumps(attrs))
    traces = [
        {"name": "loss", "context_id": _ctx_id(), "dtype": "float", "last": 0.5, "last_step": 2},
        {"name": "weights", "context_id": 0, "dtype": "distribution", "last_step": 1},
    ]
    (run_dir / "traces.json").write_text(json.dumps(traces))
    (run_dir / "contexts.json").write_text(json.dumps({str(_ctx_id()): CTX, "0": {}}))
    data = struct.pack("<3d", 1.0, 2.0, 3.0)
    seq = [
        {"ctx_id": _ctx_id(), "name": "loss", "step": 0, "value": 2.0, "epoch": 0, "time": 1_650_000_001.0},
        {"ctx_id": _ctx_id(), "name": "loss", "step": 1, "value": 1.0, "time": 1_650_000_002.0},
        {"ctx_id": _ctx_id(), "name": "loss", "step": 2, "value": 0.5},
        {
            "ctx_id": 0,
            "name": "weights",
            "step": 1,
            "value": {
                "type": "distribution",
                "bin_count": 3,
                "range": [0, 1],
                "dtype": "float64",
                "data": data.hex(),
            },
        },
    ]
    (run_dir / "sequences.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in seq))
    (run_dir / "blobs" / "images" / "a.png").write_bytes(b"png")
    return backup


def test_reference_backup_restores_with_ids_created_at_and_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = write_reference_backup(tmp_path / "in")
    place = make_place(tmp_path, "store")
    place.env(monkeypatch)
    assert restore_command(backup) == 0
    run_id = "integration-0123456789ab"
    with open_at(place) as engine:
        meta = engine.read(lambda tr: runs.get_run(tr, run_id))
        assert meta is not None
        assert meta.created_at == 1_650_000_000.25  # decision: created_at comes from run.json
        assert meta.experiment_id == EXP  # decision: experiments keep their ids
        assert (meta.active, meta.archived, meta.duration) == (False, False, 99.75)
        exp = engine.read(lambda tr: entities.get_experiment(tr, EXP))
        assert exp is not None
        assert exp.run_count == 1
        tag = engine.read(lambda tr: entities.get_tag(tr, TAG))
        assert tag is not None
        assert tag.color == "#00f"
        note = engine.read(lambda tr: entities.get_note(tr, "n-1"))
        assert note is not None
        assert note.run_id == run_id
        dash = engine.read(lambda tr: entities.get_dashboard(tr, "d-1"))
        assert dash is not None
        assert dash.archived
        loss = engine.read(lambda tr: sequences.read_range(tr, SeriesKey(run_id, _ctx_id(), "loss")))
        assert list(loss.values) == [2.0, 1.0, 0.5]
        assert list(loss.epochs) == [0, None, None]
        assert list(loss.timestamps) == [1_650_000_001.0, 1_650_000_002.0, None]
        weights = engine.read(lambda tr: sequences.read_range(tr, SeriesKey(run_id, 0, "weights")))
        assert weights.values[0]["data"] == struct.pack("<3d", 1.0, 2.0, 3.0)  # decision: hex -> bytes
        series = dict(engine.read(lambda tr: sequences.list_run_series(tr, run_id)))
        assert series[SeriesKey(run_id, 0, "weights")].dtype == "distribution"
        assert engine.read(lambda tr: runs.get_contexts(tr, run_id))[_ctx_id()] == CTX
        assert engine.read(lambda tr: runs.get_run_attrs(tr, run_id, ("hparams",))) == {
            "lr": 0.01,
            "layers": 4,
        }
        assert check_indexes(engine).clean
    store = blob_store(place)
    assert store.get(f"{run_id}/images/a.png") == b"png"
    store.close()


def test_existing_experiment_name_maps_the_backup_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backup = write_reference_backup(tmp_path / "in")
    place = make_place(tmp_path, "store")
    with open_at(place) as engine:
        existing = engine.transact(lambda tr: entities.create_experiment(tr, "ref-exp"))
    place.env(monkeypatch)
    assert restore_command(backup, skip_blobs=True) == 0
    with open_at(place) as engine:
        meta = engine.read(lambda tr: runs.get_run(tr, "integration-0123456789ab"))
        assert meta is not None
        assert meta.experiment_id == existing.id
        assert engine.read(lambda tr: entities.get_experiment(tr, EXP)) is None
        assert engine.read(lambda tr: entities.get_experiment(tr, existing.id)).run_count == 1  # type: ignore[union-attr]
    assert list(place.blobs.iterdir()) == []
