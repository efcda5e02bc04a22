"""Searches read runs in bounded read transactions, with the same results as one big page.

The paging happens inside the search pipeline; these tests run it in-process (``run_job``), where
the engine and the page constants can be watched and changed, and check it against the HTTP answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from api_runs_fixtures import BASE, make_run, runs_blobs, runs_client, runs_engine, runs_publisher
from api_search_helpers import get_stream, run_job_frames, split_frames, write_series

from matyan_api.query import paging
from matyan_api.routes.runs_metric_search import MetricSearchJob
from matyan_api.routes.runs_search import RunSearchJob
from matyan_api.search_pool.pipeline import SearchJob
from matyan_store import indexes
from matyan_store.engine import Engine, ReadTransaction

__all__ = ["runs_blobs", "runs_client", "runs_engine", "runs_publisher"]

RUN_SEARCH = f"{BASE}/runs/search/run/"
METRIC_SEARCH = f"{BASE}/runs/search/metric/"
RUNS = 10
# A scan (unindexed OR; mentioning archived drops the default archived index clause) and a superset
# (the default archived clause gives every run as a candidate, ``run.name`` checks each).
SCAN_Q = 'run.name != "run-4" or run.archived == True'
SUPERSET_Q = 'run.name != "run-4"'


def _seed(engine: Engine) -> None:
    # Creation order differs from id order, so an order mix-up across pages would show.
    for i in range(RUNS):
        run_id = f"run{(7 * i) % RUNS:02d}"
        make_run(engine, run_id, name=f"run-{i}", created_at=1000.0 + i)
        write_series(engine, run_id, "loss", [i / 10, i / 20])


def _count_reads(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts ``engine.read`` calls (one read transaction each, retries aside) into the returned list."""
    calls: list[int] = []
    original = engine.read

    def counted(fn: Callable[[ReadTransaction], Any]) -> Any:
        calls.append(1)
        return original(fn)

    monkeypatch.setattr(engine, "read", counted)
    return calls


def _run(engine: Engine, job: SearchJob) -> list[tuple[Any, Any]]:
    """The data frames of ``job`` run in-process."""
    data, _ = split_frames(run_job_frames(engine, job))
    return data


def _search(engine: Engine, url: str, q: str) -> list[tuple[Any, Any]]:
    job: SearchJob = RunSearchJob(q=q) if url == RUN_SEARCH else MetricSearchJob(q=q)
    return _run(engine, job)


async def _search_http(client: httpx.AsyncClient, url: str, q: str) -> list[tuple[Any, Any]]:
    data, _ = split_frames(await get_stream(client, url, q=q))
    return data


@pytest.mark.parametrize("q", [SCAN_Q, SUPERSET_Q])
async def test_run_search_pages_give_one_page_results(
    runs_client: httpx.AsyncClient, runs_engine: Engine, monkeypatch: pytest.MonkeyPatch, q: str
) -> None:
    _seed(runs_engine)
    reads = _count_reads(runs_engine, monkeypatch)
    whole = _search(runs_engine, RUN_SEARCH, q)
    one_page_reads = len(reads)
    assert len(whole) == RUNS - 1
    assert await _search_http(runs_client, RUN_SEARCH, q) == whole

    reads.clear()
    monkeypatch.setattr(paging, "PAGE_RUNS", 3)
    paged = _search(runs_engine, RUN_SEARCH, q)
    assert paged == whole
    # 10 runs in pages of 3 take 4 transactions instead of 1.
    assert len(reads) == one_page_reads + 3


async def test_a_slow_page_ends_early(
    runs_client: httpx.AsyncClient, runs_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(runs_engine)
    whole = await _search_http(runs_client, RUN_SEARCH, SCAN_Q)
    reads = _count_reads(runs_engine, monkeypatch)
    assert _search(runs_engine, RUN_SEARCH, SCAN_Q) == whole
    one_page_reads = len(reads)

    reads.clear()
    monkeypatch.setattr(paging, "PAGE_SECONDS", 0.0)  # every run is over the time budget
    assert _search(runs_engine, RUN_SEARCH, SCAN_Q) == whole
    # One run per page, plus a last (empty) page: a page cut short by time cannot tell the scan is over.
    assert len(reads) == one_page_reads + RUNS


def test_scan_runs_visits_in_order_at_most_a_page_per_transaction(runs_engine: Engine) -> None:
    _seed(runs_engine)
    expected = runs_engine.read(lambda tr: [run_id for _, run_id in indexes.iter_created_at(tr)])
    seen: list[tuple[ReadTransaction, int, str]] = []

    def visit(tr: ReadTransaction, index: int, run_id: str) -> str | None:
        seen.append((tr, index, run_id))
        return None if index % 2 else run_id

    for candidates in (None, list(reversed(expected))):
        seen.clear()
        order = expected if candidates is None else candidates
        found = paging.scan_runs(runs_engine, candidates, visit, page_runs=4)
        assert found == order[::2]
        assert [(i, r) for _, i, r in seen] == list(enumerate(order))
        transactions: dict[int, int] = {}
        for tr, _, _ in seen:
            transactions[id(tr)] = transactions.get(id(tr), 0) + 1
        assert list(transactions.values()) == [4, 4, 2]


async def test_metric_search_lists_runs_in_pages(
    runs_client: httpx.AsyncClient, runs_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(runs_engine)
    whole = await _search_http(runs_client, METRIC_SEARCH, SCAN_Q)
    assert len(whole) == RUNS - 1
    assert paging.list_created_ids(runs_engine, page=3) == paging.list_created_ids(runs_engine)
    reads = _count_reads(runs_engine, monkeypatch)
    assert _search(runs_engine, METRIC_SEARCH, SCAN_Q) == whole
    one_page_reads = len(reads)
    reads.clear()
    monkeypatch.setattr(paging, "ID_PAGE", 3)
    assert _search(runs_engine, METRIC_SEARCH, SCAN_Q) == whole
    assert len(reads) == one_page_reads + 3


@pytest.mark.parametrize("sort", ["", '[{"field": "date", "order": "asc"}]'])
async def test_exact_superset_and_scan_agree_on_order_with_ties(
    runs_client: httpx.AsyncClient, runs_engine: Engine, sort: str
) -> None:
    # Equal creation times (ties broken by run id) and ids that do not follow creation order.
    for run_id, created in (("r-b", 5.0), ("r-a", 5.0), ("r-d", 1.0), ("r-c", 5.0), ("r-e", 9.0)):
        make_run(runs_engine, run_id, experiment="e", created_at=created)
    make_run(runs_engine, "r-x", experiment="other", created_at=3.0)
    orders = []
    for q in (
        'run.experiment == "e"',  # exact
        'run.experiment == "e" and run.name != "nothing"',  # superset
        'run.experiment.startswith("e") or run.archived == True',  # scan
    ):
        data, _ = split_frames(await get_stream(runs_client, RUN_SEARCH, q=q, sort=sort))
        orders.append([run for run, _ in data])
    expected = ["r-d", "r-a", "r-b", "r-c", "r-e"]
    if not sort:  # newest first; ties keep their creation-order positions (a stable sort)
        expected = ["r-e", "r-a", "r-b", "r-c", "r-d"]
    assert orders == [expected] * 3


async def test_metric_search_batches_end_early_when_slow(
    runs_client: httpx.AsyncClient, runs_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(runs_engine)
    whole = await _search_http(runs_client, METRIC_SEARCH, SCAN_Q)
    reads = _count_reads(runs_engine, monkeypatch)
    assert _search(runs_engine, METRIC_SEARCH, SCAN_Q) == whole
    one_batch_reads = len(reads)
    reads.clear()
    monkeypatch.setattr(paging, "PAGE_SECONDS", 0.0)
    assert _search(runs_engine, METRIC_SEARCH, SCAN_Q) == whole
    # The 10 runs of the one batch now take a transaction each.
    assert len(reads) == one_batch_reads + RUNS - 1
