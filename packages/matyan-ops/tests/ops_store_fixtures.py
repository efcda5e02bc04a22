"""Helpers of the ops tests (imported explicitly, not a conftest): environments, a full store, snapshots.

Commands open the engine themselves, and LMDB must not be open twice in one process, so helpers open
an engine only inside ``with open_at(...)`` blocks that close before a command runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from matyan_store import entities, indexes, runs, sequences, tombstones
from matyan_store.blobs import BlobSettings, SyncBlobStore, open_sync_blob_store
from matyan_store.engine import Engine, ReadTransaction, Transaction, open_engine
from matyan_store.keys import ROOT
from matyan_store.sequences import Point, SeriesKey


@dataclass(frozen=True)
class Place:
    """One store: its LMDB directory and local blob directory."""

    kv: Path
    blobs: Path

    def env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point the commands (MATYAN_* / BLOB_* variables) at this store."""
        monkeypatch.setenv("MATYAN_STORE_ENGINE", "lmdb")
        monkeypatch.setenv("MATYAN_LMDB_DIR", str(self.kv))
        monkeypatch.setenv("MATYAN_LMDB_SYNC", "false")
        monkeypatch.setenv("MATYAN_LMDB_MAP_SIZE", str(2 << 30))
        monkeypatch.setenv("BLOB_BACKEND_TYPE", "local")
        monkeypatch.setenv("BLOB_LOCAL_DIR", str(self.blobs))


def make_place(root: Path, name: str) -> Place:
    """A fresh store location under ``root``."""
    place = Place(root / name / "kv", root / name / "blobs")
    place.blobs.mkdir(parents=True)
    return place


@contextmanager
def open_at(place: Place) -> Iterator[Engine]:
    """The place's engine, closed on exit."""
    engine = open_engine(f"lmdb://{place.kv}?sync=false&map_size={2 << 30}")
    try:
        yield engine
    finally:
        engine.close()


def blob_store(place: Place) -> SyncBlobStore:
    """The place's local blob store."""
    return open_sync_blob_store(
        BlobSettings.from_values(blob_backend_type="local", blob_local_dir=str(place.blobs))
    )


EXP_ID = "11111111-1111-4111-8111-111111111111"
TAG_ID = "22222222-2222-4222-8222-222222222222"
CREATED = 1_700_000_000.5
TRAIN = {"subset": "train"}


def populate(engine: Engine) -> None:
    """A store with every kind of data: entities, two runs with attrs, contexts, tags and all series kinds."""

    def entities_and_runs(tr: Transaction) -> None:
        entities.create_experiment(tr, "exp-a", "first", experiment_id=EXP_ID, created_at=CREATED - 100)
        entities.create_tag(tr, "t1", "#ff0000", "a tag", tag_id=TAG_ID, created_at=CREATED - 50)
        entities.create_dashboard(tr, "dash", "d", "app-1", dashboard_id="dash-1", created_at=CREATED)
        entities.create_dashboard_app(
            tr, "metrics", {"q": [1, 2]}, "dash-1", app_id="app-1", created_at=CREATED
        )
        entities.create_report(tr, "rep", "# md", "r", report_id="rep-1", created_at=CREATED)
        entities.create_note(tr, content="on run", run_id="r1", note_id="note-1", created_at=CREATED)
        entities.create_note(tr, content="on exp", experiment_id=EXP_ID, note_id="note-2", created_at=CREATED)
        entities.set_project(tr, name="proj", description="desc")
        entities.set_pinned_sequences(tr, [{"name": "loss"}])
        runs.create_run(
            tr, "r1", name="first run", description="d1", experiment_id=EXP_ID, created_at=CREATED
        )
        runs.create_run(tr, "r2", created_at=CREATED + 10, client_start_ts=CREATED + 9)
        runs.add_run_tag(tr, "r1", TAG_ID)
        runs.set_run_attrs(
            tr,
            "r1",
            (),
            {
                "hparams": {"lr": 0.1, "bs": 32, "opt": "adam"},
                "raw": b"\x00\x01\xfe",
                "nested": {"l": [1, 2.5, None, "s"], "t": True},
                "__blobs__": {"model.pt": {"s3_key": "r1/model.pt", "content_type": "application/x"}},
            },
        )
        runs.set_context(tr, "r1", TRAIN)
        runs.set_context(tr, "r1", {})

    engine.transact(entities_and_runs)
    train = runs_context_id(TRAIN)
    series: list[tuple[SeriesKey, str, list[Point]]] = [
        (
            SeriesKey("r1", train, "loss"),
            "float",
            [Point(i, 1.0 / (i + 1), i // 100, CREATED + i) for i in range(2500)],
        ),
        (SeriesKey("r1", 0, "count"), "int", [Point(i * 7, i * 3) for i in range(300)]),
        (SeriesKey("r1", 0, "logs"), "logs", [Point(i, f"line {i} ✓") for i in range(50)]),
        (
            SeriesKey("r1", 0, "hist"),
            "distribution",
            [
                Point(
                    s,
                    {
                        "type": "distribution",
                        "bin_count": 3,
                        "range": [0.0, 1.0],
                        "dtype": "float64",
                        "data": bytes(range(s, s + 24)),
                    },
                    None,
                    CREATED + s,
                )
                for s in range(5)
            ],
        ),
        (
            SeriesKey("r1", 0, "img"),
            "image",
            [
                Point(
                    0,
                    [
                        {
                            "type": "image",
                            "s3_key": "r1/seq/img/0.png",
                            "width": 2,
                            "height": 2,
                            "format": "png",
                        }
                    ],
                )
            ],
        ),
        (SeriesKey("r1", 0, "txt"), "text", [Point(3, {"type": "text", "data": "hello"})]),
        (SeriesKey("r2", 0, "acc"), "float", [Point(i, float(i) / 10) for i in range(100)]),
    ]

    def write(tr: Transaction, key: SeriesKey, dtype: str, points: list[Point]) -> None:
        runs.write_run_series(tr, key, points, dtype)

    for key, dtype, points in series:
        engine.transact(partial(write, key=key, dtype=dtype, points=points))

    def finish(tr: Transaction) -> None:
        runs.update_run(
            tr,
            "r1",
            archived=True,
            active=False,
            finalized_at=CREATED + 3000,
            duration=3000.0,
            updated_at=CREATED + 3000,
        )

    engine.transact(finish)


def populate_blobs(store: SyncBlobStore) -> None:
    """Blobs of run r1 (an artifact and an image)."""
    store.put("r1/model.pt", b"weights" * 1000)
    store.put("r1/seq/img/0.png", b"\x89PNG fake")


def runs_context_id(ctx: dict[str, Any]) -> int:
    """The id a context is stored under."""
    from matyan_models import context_to_id

    return context_to_id(ctx)


def _series_points(tr: ReadTransaction, run_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, summary in sequences.list_run_series(tr, run_id):
        block = sequences.read_range(tr, key)
        out[f"{key.context_id}/{key.name}"] = {
            "dtype": summary.dtype,
            "count": summary.count,
            "points": [tuple(p) for p in block.points()],
        }
    return out


def snapshot(engine: Engine) -> dict[str, Any]:
    """Everything a restore must bring back, as comparable plain data."""

    def read(tr: ReadTransaction) -> dict[str, Any]:
        run_ids = list(runs.iter_run_ids(tr))
        return {
            "runs": {
                r: {
                    "meta": m.to_dict() if (m := runs.get_run(tr, r)) else None,
                    "attrs": runs.get_run_attrs(tr, r),
                    "contexts": runs.get_contexts(tr, r),
                    "tags": runs.get_run_tag_ids(tr, r),
                    "series": _series_points(tr, r),
                    "index": sorted(indexes.run_index_entries(tr, r), key=repr),
                }
                for r in run_ids
            },
            "experiments": [e.to_dict() for e in entities.list_experiments(tr)],
            "tags": [t.to_dict() for t in entities.list_tags(tr)],
            "dashboards": [d.to_dict() for d in entities.list_dashboards(tr)],
            "apps": [a.to_dict() for a in entities.list_dashboard_apps(tr)],
            "reports": [r.to_dict() for r in entities.list_reports(tr)],
            "notes": [n.to_dict() for n in entities.list_notes(tr)],
            "project": entities.get_project(tr),
            "pinned": entities.get_pinned_sequences(tr),
            "tombstones": list(tombstones.iter_tombstones(tr)),
        }

    return engine.read(read)


def key_count(engine: Engine) -> int:
    """How many keys the whole store holds (to prove that nothing was written)."""
    begin, end = ROOT.range(())
    return engine.read(lambda tr: sum(1 for _ in tr.get_range(begin, end)))
