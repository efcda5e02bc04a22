"""Query timing log lines and planner-path counting (docs/http-contract.md, Query language).

With ``query_timing_enabled`` the search paths log one INFO line per step::

    (QUERY_TIMING) step=<s> path=<p> endpoint=<e> run_index=<n>[ run_hash=<h>] duration_sec=<%.6f>[ <extra>]

``run_index`` is the run's 0-based position in the scan, ``-1`` for steps that are not about one run
(``plan_query``, ``summary``). A disabled :class:`QueryTimer` formats nothing and logs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

from loguru import logger

from matyan_api.metrics import PLANNER_PATHS

__all__ = [
    "TIMING_PREFIX",
    "QueryTimer",
    "record_planner_path",
]

TIMING_PREFIX: Final = "(QUERY_TIMING)"


def record_planner_path(path: str, endpoint: str, reason: str = "") -> None:
    """Count one query answered by ``path`` (``fast``/``lazy``) for ``endpoint``, with ``reason``."""
    PLANNER_PATHS.labels(path=path, endpoint=endpoint, reason=reason).inc()


@dataclass(slots=True)
class QueryTimer:
    """Timing of one query's steps; ``path`` may be set once the plan is known.

    ``totals`` sums each step's seconds over the runs (for the summary line's ``total_*_sec``).
    """

    enabled: bool
    endpoint: str
    path: str = ""
    totals: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def log(
        self,
        step: str,
        seconds: float,
        *,
        run_index: int = -1,
        run_hash: str | None = None,
        extra: str = "",
    ) -> None:
        """Emit one line (when enabled) and add ``seconds`` to the step's total."""
        self.totals[step] = self.totals.get(step, 0.0) + seconds
        if not self.enabled:
            return
        line = f"{TIMING_PREFIX} step={step} path={self.path} endpoint={self.endpoint} run_index={run_index}"
        if run_hash is not None:
            line += f" run_hash={run_hash}"
        line += f" duration_sec={seconds:.6f}"
        if extra:
            line += f" {extra}"
        logger.info(line)

    @contextmanager
    def step(
        self, name: str, *, run_index: int = -1, run_hash: str | None = None, extra: str = ""
    ) -> Iterator[None]:
        """Time the block as step ``name`` (logged even if the block raises)."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.log(name, time.perf_counter() - t0, run_index=run_index, run_hash=run_hash, extra=extra)

    def total(self, step: str) -> float:
        """Seconds spent in ``step`` so far."""
        return self.totals.get(step, 0.0)

    def summary(self, counts: str, total_steps: tuple[str, ...]) -> None:
        """The ``summary`` line (duration: since the timer began): ``counts`` then each step's total.

        ``counts`` is like ``"runs_checked=3 runs_matched=1"``.
        """
        if not self.enabled:
            return
        totals = " ".join(f"total_{_short(s)}_sec={self.total(s):.6f}" for s in total_steps)
        self.log("summary", time.perf_counter() - self.started, extra=f"{counts} {totals}".strip())


def _short(step: str) -> str:
    """``fetch_meta`` -> ``fetch``, ``build_run_view`` -> ``build``: the summary's total names."""
    return step.split("_", 1)[0]
