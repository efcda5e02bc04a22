"""Scanning many runs in bounded read transactions.

A search may visit every run of the store. One snapshot for the whole scan would break FoundationDB's
5 s transaction limit and, on LMDB, pin old pages for as long as it lasts, so scans go page by page:
at most :data:`PAGE_RUNS` runs or about :data:`PAGE_SECONDS` per transaction, resuming after the last
run visited (a position in the candidate list, or the last ``(created_at, run_id)`` of the creation
index). Results keep the scan's order, whatever the page size. These run in a search process
(:mod:`matyan_api.search_pool`), which calls the engine directly: it has no event loop to keep free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from matyan_store import indexes
from matyan_store.engine import Engine, ReadTransaction

__all__ = ["PAGE_RUNS", "PAGE_SECONDS", "list_created_ids", "scan_runs"]

PAGE_RUNS: Final = 256
PAGE_SECONDS: Final = 1.0
# Ids of the creation index read per transaction (keys only: cheap).
ID_PAGE: Final = 10_000

type Visit[R] = Callable[[ReadTransaction, int, str], R | None]
"""``visit(tr, run_index, run_id)``: the run's result, or ``None`` to leave it out."""


def scan_runs[R](
    engine: Engine,
    candidates: list[str] | None,
    visit: Visit[R],
    *,
    page_runs: int | None = None,
    page_seconds: float | None = None,
) -> list[R]:
    """``visit`` every candidate (``None``: every run in creation order), a page per read transaction.

    ``run_index`` counts runs from 0 across pages. Page bounds default to the module constants, read
    at call time so a test can make pages tiny.
    """
    runs_per_page = max(1, page_runs if page_runs is not None else PAGE_RUNS)
    seconds = page_seconds if page_seconds is not None else PAGE_SECONDS
    out: list[R] = []
    if candidates is not None:
        position = 0

        def page_of_candidates(tr: ReadTransaction) -> tuple[list[R], int]:
            found: list[R] = []
            at = position
            stop = min(len(candidates), position + runs_per_page)
            while at < stop:
                result = visit(tr, at, candidates[at])
                at += 1
                if result is not None:
                    found.append(result)
                if tr.age_s >= seconds:
                    break
            return found, at

        while position < len(candidates):
            found, position = engine.read(page_of_candidates)
            out.extend(found)
        return out

    cursor: tuple[float, str] | None = None
    index = 0
    done = False

    def page_of_scan(tr: ReadTransaction) -> tuple[list[R], tuple[float, str] | None, int, bool]:
        found: list[R] = []
        last = cursor
        at = index
        seen = 0
        for created, run_id in indexes.iter_created_at(tr, after=cursor, limit=runs_per_page):
            seen += 1
            result = visit(tr, at, run_id)
            at += 1
            last = (created, run_id)
            if result is not None:
                found.append(result)
            if tr.age_s >= seconds:
                return found, last, at, False
        # A short page is the end of the index.
        return found, last, at, seen < runs_per_page

    while not done:
        found, cursor, index, done = engine.read(page_of_scan)
        out.extend(found)
    return out


def list_created_ids(engine: Engine, *, page: int | None = None) -> list[str]:
    """Every run id in creation order, read ``page`` (default :data:`ID_PAGE`) index keys per transaction."""
    size = max(1, page if page is not None else ID_PAGE)
    out: list[str] = []
    cursor: tuple[float, str] | None = None
    while True:

        def read(tr: ReadTransaction, after: tuple[float, str] | None = cursor) -> list[tuple[float, str]]:
            return list(indexes.iter_created_at(tr, after=after, limit=size))

        rows = engine.read(read)
        out.extend(run_id for _, run_id in rows)
        if len(rows) < size:
            return out
        cursor = rows[-1]
