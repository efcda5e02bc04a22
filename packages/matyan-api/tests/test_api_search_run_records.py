"""Run search over the search records answers what the per-run reads answer, byte for byte.

- a frame encoded from a record equals the frame built from the run's meta, attributes, tags,
  experiment and summaries (every switch of the route);
- a page sorted by date (``limit``, ``offset``) holds exactly the rows of the whole sorted stream, ties
  on ``created_at`` included, whether the direct walk fills it or the planner is needed.
"""

from __future__ import annotations

import itertools

import httpx
import pytest
from api_runs_fixtures import runs_blobs, runs_client, runs_engine, runs_publisher
from api_search_helpers import get_stream, run_job_frames, split_frames, write_series

from matyan_api.query.frame_parts import metric_trace_summaries, run_params
from matyan_api.query.run_records_source import EntityCache, FrameOptions, encode_run_frame
from matyan_api.routes import runs_search
from matyan_api.routes.runs_props import run_props
from matyan_api.streaming import encode_tree_bytes
from matyan_store import entities, runs, search_records
from matyan_store.engine import Engine, ReadTransaction, Transaction

__all__ = ["runs_blobs", "runs_client", "runs_engine", "runs_publisher"]

SEARCH = "/api/v1/rest/runs/search/run/"


def _seed(engine: Engine) -> None:
    def write(tr: Transaction) -> None:
        exp = entities.create_experiment(tr, "exp", description="d")
        kept = entities.create_tag(tr, "kept", color="#fff")
        gone = entities.create_tag(tr, "gone")
        runs.create_run(tr, "a", name="A", experiment_id=exp.id, created_at=5.0)
        attrs = {"hparams": {"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99]}}, "empty": {}}
        runs.set_run_attrs(tr, "a", (), {**attrs, "__system_params": {"cpu": 4}, "__blobs__": {"x": "y"}})
        runs.add_run_tag(tr, "a", kept.id)
        runs.add_run_tag(tr, "a", gone.id)
        entities.delete_tag(tr, gone.id)
        runs.update_run(tr, "a", duration=3.5, archived=True)
        runs.create_run(tr, "b", created_at=6.0)
        runs.update_run(tr, "b", finalized_at=9.0, active=False)

    engine.transact(write)
    write_series(engine, "a", "loss", [0.5, 0.25], context={"subset": "train"})
    write_series(engine, "a", "acc", [1.0], context={})


def _reads_frame(tr: ReadTransaction, run_id: str, options: FrameOptions) -> bytes:
    meta = runs.get_run(tr, run_id)
    assert meta is not None
    frame = {
        "params": {} if options.exclude_params else run_params(tr, run_id, skip_system=options.skip_system),
        "traces": {"metric": [] if options.exclude_traces else metric_trace_summaries(tr, run_id, full=True)},
        "props": run_props(tr, meta),
    }
    return encode_tree_bytes((run_id,), frame)


@pytest.mark.parametrize("switches", list(itertools.product([True, False], repeat=3)))
def test_record_frames_equal_frames_built_from_the_runs_reads(
    runs_engine: Engine, switches: tuple[bool, bool, bool]
) -> None:
    _seed(runs_engine)
    options = FrameOptions(*switches)

    def both(tr: ReadTransaction) -> list[tuple[bytes, bytes]]:
        cache = EntityCache()
        return [
            (encode_run_frame(tr, record, cache, options), _reads_frame(tr, record.run_id, options))
            for record in search_records.iter_records(tr)
        ]

    pairs = runs_engine.read(both)
    assert len(pairs) == 2
    for from_record, from_reads in pairs:
        assert from_record == from_reads


def _seed_many(engine: Engine, count: int) -> None:
    def write(tr: Transaction) -> None:
        for i in range(count):
            # Pairs of runs share a created_at: ties are ordered by run id in both directions.
            runs.create_run(tr, f"r{i:03d}", name=f"n{i % 7}", created_at=float(i // 2))
            runs.set_run_attrs(tr, f"r{i:03d}", (), {"hparams": {"k": i % 10}})

    engine.transact(write)


def _ids(body: bytes) -> list[str]:
    return [str(run) for run, _ in split_frames(body)[0]]


def _page(engine: Engine, q: str, sort: tuple[runs_search.SortKey, ...], offset: str = "") -> list[str]:
    # In-process (no search process), where DIRECT_CHECKS can be changed.
    job = runs_search.RunSearchJob(q=q, sort=sort, limit=4, offset=offset)
    return _ids(run_job_frames(engine, job))


@pytest.mark.parametrize(
    ("q", "direct_checks"),
    [
        ("", runs_search.DIRECT_CHECKS),  # every run matches: the direct walk fills the page
        ("run.hparams.k == 3", runs_search.DIRECT_CHECKS),  # one in ten: direct walk
        ("run.hparams.k == 3", 4),  # the direct walk gives up: the planner's candidates
        ('run.name == "n3"', 4),  # the planner gives a superset to evaluate
    ],
)
@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_date_pages_are_slices_of_the_whole_sorted_stream(
    runs_client: httpx.AsyncClient,
    runs_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    q: str,
    direct_checks: int,
    order: str,
) -> None:
    _seed_many(runs_engine, 60)
    sort = f'[{{"field": "date", "order": "{order}"}}]'
    whole = _ids(await get_stream(runs_client, SEARCH, q=q, sort=sort))
    assert whole
    # The first page through the route (its search process walks with the default DIRECT_CHECKS).
    assert _ids(await get_stream(runs_client, SEARCH, q=q, sort=sort, limit=4)) == whole[:4]
    monkeypatch.setattr(runs_search, "DIRECT_CHECKS", direct_checks)
    keys = runs_search.parse_sort(sort)
    assert _page(runs_engine, q, keys) == whole[:4]
    for at in (0, 1, len(whole) // 2, len(whole) - 2):
        assert _page(runs_engine, q, keys, offset=whole[at]) == whole[at + 1 : at + 5]
