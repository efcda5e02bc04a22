"""The ``props`` object of a run (PropsView), shared by info, search and active runs.

See docs/http-contract.md, Routes.

Built inside a read transaction from the run's meta, its experiment and its tags. ``end_time`` follows
the info rule everywhere: ``created_at + duration`` when ``duration`` is set, else ``finalized_at``
(docs/http-contract.md, Quirk decisions).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from matyan_store import entities
from matyan_store.engine import ReadTransaction
from matyan_store.runs import RunMeta, get_run_tag_ids

__all__ = [
    "RunExperimentOut",
    "RunPropsOut",
    "RunTagOut",
    "run_end_time",
    "run_experiment_json",
    "run_props",
    "run_tags_json",
]


class RunExperimentOut(BaseModel):
    """The run's experiment in its props; every field null when it has none."""

    id: str | None
    name: str | None
    description: str | None


class RunTagOut(BaseModel):
    """One tag of the run in its props."""

    id: str
    name: str
    color: str | None
    description: str | None


class RunPropsOut(BaseModel):
    """The PropsView of a run (info, run search, custom search and active runs)."""

    name: str | None
    description: str | None
    experiment: RunExperimentOut
    tags: list[RunTagOut]
    creation_time: float
    end_time: float | None
    archived: bool
    active: bool


def run_end_time(meta: RunMeta) -> float | None:
    """``created_at + duration`` when the run has a duration, else its ``finalized_at``."""
    if meta.duration is not None:
        return float(meta.created_at) + float(meta.duration)
    return None if meta.finalized_at is None else float(meta.finalized_at)


def run_experiment_json(tr: ReadTransaction, experiment_id: str | None) -> dict[str, Any]:
    """``{id, name, description}`` of the run's experiment; all null when detached or deleted."""
    exp = None if experiment_id is None else entities.get_experiment(tr, experiment_id)
    if exp is None:
        return {"id": None, "name": None, "description": None}
    return {"id": exp.id, "name": exp.name, "description": exp.description}


def run_tags_json(tr: ReadTransaction, run_id: str) -> list[dict[str, Any]]:
    """``[{id, name, color, description}]`` of the run's tags that still exist, ordered by tag id."""
    out: list[dict[str, Any]] = []
    for tag_id in get_run_tag_ids(tr, run_id):
        tag = entities.get_tag(tr, tag_id)
        if tag is not None:
            out.append({"id": tag.id, "name": tag.name, "color": tag.color, "description": tag.description})
    return out


def run_props(tr: ReadTransaction, meta: RunMeta) -> dict[str, Any]:
    """The PropsView of a run: name, description, experiment, tags, times, archived and active."""
    return {
        "name": meta.name,
        "description": meta.description,
        "experiment": run_experiment_json(tr, meta.experiment_id),
        "tags": run_tags_json(tr, meta.run_id),
        "creation_time": float(meta.created_at),
        "end_time": run_end_time(meta),
        "archived": bool(meta.archived),
        "active": bool(meta.active),
    }
