"""The one search pipeline: prepare -> plan -> evaluate and encode in batches -> progress.

Every streaming search (run, metric, custom objects, active runs) is a :class:`SearchJob`: a picklable
value holding the request's parameters, sent to a search process, which calls :func:`run_job`. The job
says how to plan (which runs, in which order, how many in total) and how to turn a batch of runs into
encoded frames inside one read transaction; the pipeline does the rest the same way for all of them:
one read transaction per batch of :data:`BATCH_SIZE` runs (or the plan's own batch size; fewer when a
batch's transaction grows old), a progress position after each run, the announce ``(0, total)`` and
the terminal ``(0, 0)``.

What comes out goes to an :class:`Outbox`: in a search process, the socket to the API process; in tests,
a list.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Protocol

from matyan_api.errors import ApiError, error_code
from matyan_api.query import PlanResult, PreparedQuery, QuerySyntaxError, plan_query, prepare_query
from matyan_api.query.paging import list_created_ids
from matyan_api.query.timing import QueryTimer
from matyan_api.settings import ApiSettings
from matyan_store.blobs import BlobUriSigner
from matyan_store.engine import Engine, ReadTransaction

__all__ = [
    "BATCH_SIZE",
    "Batch",
    "Item",
    "JobContext",
    "Outbox",
    "SearchJob",
    "StreamPlan",
    "run_job",
]

# Runs read per store transaction: amortises the transaction, keeps each one short.
BATCH_SIZE: Final = 10

type Item = tuple[int, str]
"""``(progress position, run id)``: the position is reported after the run (``-1``: nothing)."""

type Batch = list[tuple[bytes, int]]
"""A batch's output: each run's encoded frame (maybe ``b""``) with the progress position after it."""


class Outbox(Protocol):
    """Where a job's output goes (see :mod:`matyan_api.search_pool.protocol` for the meanings)."""

    def send(self, kind: str, payload: Any = None) -> None:
        """Deliver one message."""


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a job runs with: the store, the settings, the blob URI signer, where output goes."""

    engine: Engine
    settings: ApiSettings
    out: Outbox
    signer: BlobUriSigner

    def record_planner_path(self, path: str, endpoint: str, reason: str = "") -> None:
        """Count the plan's path in the API process's ``matyan_planner_path_total``."""
        self.out.send("planner", (path, endpoint, reason))


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """What to stream: the runs in order, the total to report, and how to encode a batch of them.

    ``load(tr, items)`` returns the frames of a prefix of ``items`` (at least one), in order: a job may
    stop early when its transaction grows old and the pipeline goes on with the rest in a new one.
    ``batch_size`` items are offered per read transaction.
    """

    items: list[Item]
    total: int
    load: Callable[[ReadTransaction, list[Item]], Batch]
    announce: bool = True
    skip_repeat: bool = True
    finish: bool = True
    summary: Callable[[], None] = field(default=lambda: None)
    batch_size: int = BATCH_SIZE


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchJob(ABC):
    """One search request's parameters; ``plan`` runs in a search process."""

    endpoint: ClassVar[str]

    q: str = ""
    tz_offset: int = 0

    @property
    def seq_name(self) -> str:
        """The name the query binds the sequence under (``metric``, ``images``, ...)."""
        return "metric"

    def prepare(self) -> PreparedQuery:
        """The compiled query; :class:`QuerySyntaxError` for a bad one."""
        return prepare_query(self.q, tz_offset_minutes=self.tz_offset)

    def plan_runs(
        self, ctx: JobContext, query: PreparedQuery, timer: QueryTimer, *, ordered: bool = True
    ) -> PlanResult:
        """The index plan (one transaction), its path counted and timed (see :meth:`plan_path`)."""
        t0 = time.perf_counter()
        plan = ctx.engine.read(lambda tr: plan_query(tr, query, seq_name=self.seq_name, ordered=ordered))
        path, reason, timer.path = self.plan_path(query, plan)
        ctx.record_planner_path(path, self.endpoint, reason)
        timer.log("plan_query", time.perf_counter() - t0)
        return plan

    def plan_path(self, query: PreparedQuery, plan: PlanResult) -> tuple[str, str, str]:
        """``(path, reason)`` of ``matyan_planner_path_total`` and the timing lines' ``path``."""
        if plan.candidates is None:
            return "lazy", "no_candidates", "lazy"
        return "fast", "", "candidate"

    def run_ids(self, ctx: JobContext, plan: PlanResult) -> list[str]:
        """The runs to visit in creation order: the candidates, or every run (the index, in pages)."""
        if plan.candidates is not None:
            return plan.candidates  # already in creation order
        return list_created_ids(ctx.engine)

    @abstractmethod
    def plan(self, ctx: JobContext, query: PreparedQuery, timer: QueryTimer) -> StreamPlan:
        """Which runs to stream and how (reads the store through ``ctx.engine``)."""


def run_job(job: SearchJob, ctx: JobContext) -> None:
    """Run ``job`` to the end, sending its output to ``ctx.out`` (an ``error`` or an ``end`` last).

    Exceptions other than a bad query or an :class:`ApiError` propagate (the caller reports them).
    """
    out = ctx.out
    try:
        query = job.prepare()
    except QuerySyntaxError as exc:
        out.send("error", (400, error_code(400), exc.message))
        return
    except ApiError as exc:
        out.send("error", (exc.status_code, error_code(exc.status_code), exc.detail or ""))
        return
    out.send("prepared")
    timer = QueryTimer(ctx.settings.query_timing_enabled, job.endpoint)
    plan = job.plan(ctx, query, timer)
    if plan.announce and plan.total:
        out.send("progress", (0, plan.total, False))
    for start in range(0, len(plan.items), plan.batch_size):
        rest = plan.items[start : start + plan.batch_size]
        while rest:
            frames = _read_batch(ctx.engine, plan, rest)
            out.send("frames", (frames, plan.total, plan.skip_repeat))
            rest = rest[len(frames) :]
    plan.summary()
    if plan.finish:
        out.send("progress", (0, 0, False))
    out.send("end")


def _read_batch(engine: Engine, plan: StreamPlan, items: list[Item]) -> Batch:
    return engine.read(lambda tr: plan.load(tr, items))
