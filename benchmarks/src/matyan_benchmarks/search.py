"""Benchmark of the search routes: ``python -m matyan_benchmarks.search [--runs N] [--metric-runs N] ...``.

Every figure is a whole request through the real FastAPI app, in-process over ``httpx.ASGITransport``
(no sockets: the figures are the app's own cost), with the response stream consumed to its end; with
``--http`` the metric figures (c), (d) and (f) go over HTTP to a ``matyan-backend start`` process on
the same store instead (:func:`matyan_benchmarks.harness.start_server`). The store is the embedded
LMDB engine in a temporary directory, filled with the store's bulk writes:

(a) run search with an indexed predicate over ``--runs`` runs matching 1%, 25% and 100% of them, first
    50 rows (p50/p95);
(b) run search with a predicate no index answers (a full scan), runs scanned per second;
(e) run search ``run.hparams.lr > 0.5`` over ``--stream-runs`` runs (lr uniform in [0, 1)), the whole
    stream (p50/p95, and the server time per matched run);
(c) metric search over ``--metric-runs`` runs of ``--points`` points each (with epochs and
    timestamps) at the UI's default density ``p=500`` (p50/p95);
(d) one ``--points``-point series at 1,000 buckets (p50/p95);
(f) that series read whole through metric get-batch (``record_density=0``, p50/p95).

``--runs 0`` leaves out (a) and (b), ``--stream-runs 0`` (e).

Figures only, printed next to the design targets (docs/architecture.md, Performance targets); nothing
is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx

from matyan_api.app import create_app
from matyan_api.kafka_publisher import RecordingPublisher
from matyan_api.routes.runs_metric_search import POINTS_PER_BUCKET
from matyan_api.settings import ApiSettings
from matyan_benchmarks.harness import (
    Row,
    lmdb_url,
    loss_curve,
    open_lmdb,
    percentile,
    print_rows,
    server_env,
    start_server,
    stop_server,
    timestamps,
)
from matyan_models import context_to_id
from matyan_store import entities, indexes, runs
from matyan_store.blobs import BlobSettings, open_blob_store
from matyan_store.engine import Engine, Transaction
from matyan_store.sequences import Point, SeriesKey, get_summary
from matyan_store.sequences.layout import run_prefix

__all__ = ["main"]

REST: Final = "/api/v1/rest"
# What the UI 0.3.2 sends as ``p`` by default (its "Maximum" density).
UI_DEFAULT_DENSITY: Final = 500
CHART_BUCKETS: Final = 1_000
EXPERIMENTS: Final = 100
LRS: Final = (0.1, 0.01, 0.001, 0.0001)
RUNS_PER_TXN: Final = 500
POINTS_PER_TXN: Final = 20_000


def _p50_p95(timing: Timing, *, http: bool = False) -> str:
    wall, cpu = timing.wall, timing.cpu
    # Over HTTP the work is in the server: this process's CPU would only say what the client cost.
    cpu_note = "" if http else f" (CPU p50 {percentile(cpu, 0.5):.1f} ms)"
    return f"p50 {percentile(wall, 0.5):.1f} ms, p95 {percentile(wall, 0.95):.1f} ms{cpu_note}"


def cycled_lr(i: int) -> float:
    """``run.hparams.lr`` of run ``i``: cycles through :data:`LRS` (``lr == 0.001`` matches a quarter)."""
    return LRS[i % len(LRS)]


def uniform_lr(i: int) -> float:
    """``run.hparams.lr`` of run ``i``: uniform in [0, 1), the same for the same ``i``."""
    return random.Random(i).random()


def fill_runs(engine: Engine, count: int, lr: Callable[[int], float] = cycled_lr) -> None:
    """``count`` runs across :data:`EXPERIMENTS` experiments, each with hparams and a short loss series."""
    experiments = [f"exp-{i:03d}" for i in range(min(EXPERIMENTS, max(1, count)))]

    def make_experiments(tr: Transaction) -> list[str]:
        return [entities.create_experiment(tr, name).id for name in experiments]

    experiment_ids = engine.transact(make_experiments)
    base = 1_700_000_000.0
    for start in range(0, count, RUNS_PER_TXN):

        def write(tr: Transaction, start: int = start) -> None:
            for i in range(start, min(count, start + RUNS_PER_TXN)):
                run_id = f"run{i:07d}"
                runs.create_run(
                    tr,
                    run_id,
                    name=f"run number {i}",
                    experiment_id=experiment_ids[i % len(experiment_ids)],
                    created_at=base + i,
                )
                runs.set_run_attrs(
                    tr,
                    run_id,
                    (),
                    {"hparams": {"lr": lr(i), "batch_size": 32 << (i % 3), "seed": i}},
                )
                key = SeriesKey(run_id, runs.set_context(tr, run_id, {"subset": "train"}), "loss")
                points = [Point(s, 1.0 / (s + 1 + i % 5), s // 2, base + i + s) for s in range(10)]
                runs.write_run_series(tr, key, points, "float")

        engine.transact(write)


def fill_metric_runs(engine: Engine, count: int, points: int) -> list[str]:
    """``count`` runs with one ``points``-point ``loss`` series each (float32 values, epochs, timestamps).

    The first run's series is written point by point (:func:`runs.write_run_series`); the others get a
    copy of its stored keys under their own run prefix plus their index entries, which reads back the
    same as writing each one and keeps the fill well under a minute at 100 x 1M points.
    """
    values = loss_curve(points, 7, float32=True)
    times = timestamps(points, 8)
    epochs = [s // max(1, points // 100) for s in range(points)]
    context = {"subset": "train"}
    ids = [f"metric-run{r:04d}" for r in range(count)]
    for r, run_id in enumerate(ids):

        def create(tr: Transaction, run_id: str = run_id, r: int = r) -> None:
            runs.create_run(tr, run_id, name=f"metric run {r}", created_at=1_800_000_000.0 + r)
            runs.set_run_attrs(tr, run_id, (), {"hparams": {"lr": LRS[r % len(LRS)]}})
            runs.set_context(tr, run_id, context)

        engine.transact(create)
    if not ids:
        return ids
    key = SeriesKey(ids[0], context_to_id(context), "loss")
    for a in range(0, points, POINTS_PER_TXN):
        chunk = [Point(s, values[s], epochs[s], times[s]) for s in range(a, min(points, a + POINTS_PER_TXN))]

        def write(tr: Transaction, chunk: list[Point] = chunk) -> None:
            runs.write_run_series(tr, key, chunk, "float")

        engine.transact(write)
    source = run_prefix(ids[0])
    stored = engine.read(lambda tr: list(tr.get_prefix(source)))
    summary = engine.read(lambda tr: get_summary(tr, key))
    assert summary is not None
    stats = {"last": summary.last_value, "min": summary.min, "max": summary.max}
    budget = engine.limits.max_transaction_bytes // 2
    for run_id in ids[1:]:
        target = run_prefix(run_id)
        at = 0
        while at < len(stored):

            def copy(tr: Transaction, at: int = at, target: bytes = target) -> int:
                used = 0
                while at < len(stored) and used < budget:
                    k, v = stored[at]
                    tr.set(target + k[len(source) :], v)
                    used += len(k) + len(v)
                    at += 1
                return at

            at = engine.transact(copy)

        def index(tr: Transaction, run_id: str = run_id) -> None:
            indexes.index_trace(tr, run_id, key.name)
            indexes.index_series_stats(tr, run_id, key.name, key.context_id, None, stats)

        engine.transact(index)
    return ids


class _Rows(list[Row]):
    """Rows, each also logged as soon as it is measured (a long run shows its figures as it goes)."""

    def __init__(self, log: Callable[[str], None]) -> None:
        super().__init__()
        self._log = log

    def add(self, row: Row) -> None:
        self.append(row)
        self._log(f"{row.what}: {row.measured} (target {row.target or '-'})")


def _client(engine: Engine, blob_dir: Path) -> httpx.AsyncClient:
    blobs = open_blob_store(BlobSettings.from_values(blob_backend_type="local", blob_local_dir=str(blob_dir)))
    app = create_app(
        ApiSettings(otel_exporter_otlp_endpoint=""),
        engine=engine,
        blobs=blobs,
        publisher=RecordingPublisher(),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")


@dataclass(frozen=True, slots=True)
class Timing:
    """Per-request milliseconds: wall clock, and CPU of this process (all threads).

    The CPU figure does not grow when other processes share the cores, so it tells a busy machine
    from a slow request.
    """

    wall: list[float]
    cpu: list[float]


async def _timed(
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, str | int],
    repeats: int,
    *,
    body: Any = None,
) -> Timing:
    """Time ``repeats`` requests (a POST of ``body`` when given, else a GET), each body read to its end."""
    out = Timing([], [])
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        if body is None:
            response = await client.get(url, params=params)
        else:
            response = await client.post(url, params=params, json=body)
        size = len(response.content)
        out.wall.append((time.perf_counter() - t0) * 1000)
        out.cpu.append((time.process_time() - c0) * 1000)
        if response.status_code != 200 or size == 0:
            raise RuntimeError(f"{url} {params}: HTTP {response.status_code}, {size} bytes")
    return out


async def run_search_rows(root: Path, count: int, repeats: int, log: Callable[[str], None]) -> list[Row]:
    """(a) and (b) over ``count`` runs."""
    engine = open_lmdb(root / "runs")
    t0 = time.perf_counter()
    fill_runs(engine, count)
    log(f"filled {count:,} runs in {time.perf_counter() - t0:.1f} s")
    url = f"{REST}/runs/search/run/"
    rows = _Rows(log)
    try:
        async with _client(engine, root / "blobs") as client:
            for label, q in (
                ("experiment (1% of runs)", 'run.experiment == "exp-042"'),
                ("run.hparams.lr == 0.001 (25% of runs)", "run.hparams.lr == 0.001"),
                ("empty query (100% of runs)", ""),
            ):
                ms = await _timed(client, url, {"q": q, "limit": 50}, repeats)
                rows.add(
                    Row(
                        f"(a) run search {count:,} runs, indexed {label}, first 50",
                        _p50_p95(ms),
                        "<= 20 ms p95",
                    )
                )
            scan_q = "run.hparams.seed % 1000 == 7"
            ms = await _timed(client, url, {"q": scan_q}, max(1, repeats // 10))
            rate = count / (percentile(ms.wall, 0.5) / 1000)
            cpu_rate = count / (max(percentile(ms.cpu, 0.5), 1e-3) / 1000)
            rows.add(
                Row(
                    f"(b) run search {count:,} runs, full scan ({scan_q})",
                    f"{rate:,.0f} runs/s (per CPU s: {cpu_rate:,.0f})",
                    "",
                )
            )
    finally:
        engine.close()
    return rows


async def stream_rows(root: Path, count: int, repeats: int, log: Callable[[str], None]) -> list[Row]:
    """(e) over ``count`` runs."""
    engine = open_lmdb(root / "stream")
    fill_runs(engine, count, uniform_lr)
    matches = sum(uniform_lr(i) > 0.5 for i in range(count))
    rows = _Rows(log)
    try:
        async with _client(engine, root / "blobs") as client:
            q = "run.hparams.lr > 0.5"
            ms = await _timed(client, f"{REST}/runs/search/run/", {"q": q}, repeats)
            per_run = percentile(ms.wall, 0.5) * 1000 / max(1, matches)
            rows.add(
                Row(
                    f"(e) run search {count:,} runs, {q} ({matches:,} matches), whole stream",
                    f"{_p50_p95(ms)}; {per_run:.0f} us per matched run",
                    "<= 25 ms p50 (2,000 runs)",
                )
            )
    finally:
        engine.close()
    return rows


@asynccontextmanager
async def _metric_client(root: Path, engine: Engine, *, http: bool) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app on ``engine``'s store: in-process, or over HTTP to a server process on it."""
    if not http:
        try:
            async with _client(engine, root / "blobs") as client:
                yield client
        finally:
            engine.close()
        return
    engine.close()  # the server process opens the store itself
    env = server_env(lmdb_url(root / "metrics"), root / "blobs")
    proc, base = start_server(1, env, root / "server.log")
    try:
        async with httpx.AsyncClient(base_url=base, timeout=600) as client:
            yield client
    finally:
        stop_server(proc)


async def metric_search_rows(
    root: Path,
    count: int,
    points: int,
    density: int,
    repeats: int,
    log: Callable[[str], None],
    *,
    http: bool = False,
) -> list[Row]:
    """(c), (d) and (f) over ``count`` runs of ``points`` points."""
    engine = open_lmdb(root / "metrics")
    t0 = time.perf_counter()
    ids = fill_metric_runs(engine, count, points)
    elapsed = time.perf_counter() - t0
    log(
        f"filled {count} runs x {points:,} points in {elapsed:.1f} s"
        f" ({count * points / elapsed:,.0f} points/s)"
    )
    url = f"{REST}/runs/search/metric/"
    rows = _Rows(log)
    over = " over HTTP" if http else ""
    async with _metric_client(root, engine, http=http) as client:
        # Whole-store requests are slow at full size: fewer of them.
        ms = await _timed(client, url, {"q": "", "p": density}, max(1, repeats // 4))
        rows.add(
            Row(
                f"(c) metric search {count} runs x {points:,} pts, p={density}{over}",
                _p50_p95(ms, http=http),
                "<= 300 ms p50",
            )
        )
        one: dict[str, str | int] = {
            "q": f'run.hash == "{ids[0]}" and metric.name == "loss"',
            "p": CHART_BUCKETS * POINTS_PER_BUCKET,
        }
        ms = await _timed(client, url, one, repeats)
        rows.add(
            Row(
                f"(d) one {points:,}-pt series at {CHART_BUCKETS:,} buckets{over}",
                _p50_p95(ms, http=http),
                "<= 12 ms p50",
            )
        )
        batch_url = f"{REST}/runs/{ids[0]}/metric/get-batch/"
        trace = [{"name": "loss", "context": {"subset": "train"}}]
        ms = await _timed(client, batch_url, {"record_density": 0}, max(1, repeats // 4), body=trace)
        rows.add(
            Row(
                f"(f) one {points:,}-pt series read whole (get-batch){over}",
                _p50_p95(ms, http=http),
                "<= 150 ms",
            )
        )
    return rows


async def _run(args: argparse.Namespace) -> list[Row]:
    def log(text: str) -> None:
        print(f"# {text}", flush=True)

    with tempfile.TemporaryDirectory(prefix="matyan-bench-search-") as tmp:
        root = Path(tmp)
        rows = await stream_rows(root, args.stream_runs, args.repeats, log) if args.stream_runs > 0 else []
        if args.runs > 0:
            rows += await run_search_rows(root, args.runs, args.repeats, log)
        if args.metric_runs <= 0:
            return rows
        rows += await metric_search_rows(
            root, args.metric_runs, args.points, args.density, args.repeats, log, http=args.http
        )
    return rows


def main(argv: list[str] | None = None) -> list[Row]:
    """Run the benchmark, print the table and return its rows."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=100_000, help="runs of the run-search store")
    ap.add_argument("--stream-runs", type=int, default=2_000, help="runs of the whole-stream run search")
    ap.add_argument("--metric-runs", type=int, default=100, help="runs of the metric-search store (0: skip)")
    ap.add_argument("--points", type=int, default=1_000_000, help="points per metric run")
    ap.add_argument("--density", type=int, default=UI_DEFAULT_DENSITY, help="p of the metric search")
    ap.add_argument("--repeats", type=int, default=20, help="requests per figure")
    ap.add_argument(
        "--http", action="store_true", help="metric figures over HTTP to a matyan-backend start process"
    )
    args = ap.parse_args(argv)
    rows = asyncio.run(_run(args))
    print_rows(rows, measured_width=48)
    return rows


if __name__ == "__main__":
    main()
