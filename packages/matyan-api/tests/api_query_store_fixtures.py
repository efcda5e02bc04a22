"""Building small run populations in a real LMDB store for the planner tests (plain helper module)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from matyan_api.query import PreparedQuery, load_run_view, plan_query
from matyan_store import entities, indexes, runs
from matyan_store.engine import Engine, open_engine
from matyan_store.engine.base import ReadTransaction, Transaction


@pytest.fixture
def query_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh LMDB engine for one test."""
    engine = open_engine(f"lmdb://{tmp_path / 'kv'}?sync=false")
    yield engine
    engine.close()


def add_run(
    tr: Transaction,
    run_id: str,
    *,
    created_at: float,
    name: str | None = None,
    description: str = "",
    experiment: str | None = None,
    tags: Iterable[str] = (),
    archived: bool = False,
    active: bool = True,
    hparams: dict[str, Any] | None = None,
    traces: Iterable[str] = (),
) -> None:
    """Create a run with its experiment and tags (created by name when new), meta, hparams and traces."""
    experiment_id = None
    if experiment is not None:
        exp = entities.get_experiment_by_name(tr, experiment) or entities.create_experiment(tr, experiment)
        experiment_id = exp.id
    runs.create_run(
        tr, run_id, name=name, description=description, experiment_id=experiment_id, created_at=created_at
    )
    if archived or not active:
        runs.update_run(tr, run_id, archived=archived, active=active)
    if hparams is not None:
        runs.set_run_attrs(tr, run_id, (), {"hparams": hparams})
    for tag_name in tags:
        tag = entities.get_tag_by_name(tr, tag_name) or entities.create_tag(tr, tag_name)
        runs.add_run_tag(tr, run_id, tag.id)
    for trace in traces:
        indexes.index_trace(tr, run_id, trace)


def evaluate_all(tr: ReadTransaction, query: PreparedQuery) -> list[str]:
    """The answer without the planner: every run (creation order) evaluated one by one."""
    out = []
    for _, run_id in indexes.iter_created_at(tr):
        view = load_run_view(tr, run_id)
        if view is not None and query.evaluate(view):
            out.append(run_id)
    return out


def evaluate_planned(tr: ReadTransaction, query: PreparedQuery) -> list[str]:
    """The answer through the planner: exact lists as they are, supersets and scans evaluated."""
    plan = plan_query(tr, query)
    if plan.candidates is None:
        return evaluate_all(tr, query)
    if plan.exact:
        return [r for r in plan.candidates if runs.get_run(tr, r) is not None]
    out = []
    for run_id in plan.candidates:
        view = load_run_view(tr, run_id)
        if view is not None and query.evaluate(view):
            out.append(run_id)
    return out
