"""Benchmark of the read endpoints over a real server: ``python -m matyan_benchmarks.api``.

Fills a temporary LMDB store with runs (params, a few metrics each, tags, experiments), starts
``matyan-backend start`` on it (granian, 1 then 2 workers; no Kafka: these routes only read), and
measures GET latency of run info, experiments, tags and project params at each concurrency, from this
process (asyncio + httpx, one connection per concurrent request). Prints p50/p99 and throughput next to
the design target (docs/architecture.md, Performance targets). Figures only; nothing is asserted here.

The load generator shares the machine's cores with the server, so on a small machine the figures say
as much about the client as about the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

from matyan_benchmarks.harness import lmdb_url, percentile, server_env, start_server, stop_server
from matyan_models import context_to_id
from matyan_store import entities
from matyan_store.engine import Engine, Transaction, open_engine
from matyan_store.runs import add_run_tag, create_run, set_context, set_run_attrs, write_run_series
from matyan_store.sequences import Point, SeriesKey

__all__ = [
    "BenchRow",
    "FilledStore",
    "bench_experiment_id",
    "bench_run_id",
    "bench_tag_id",
    "fill_store",
    "main",
    "run_bench",
]

REST: Final = "/api/v1/rest"
TARGET_P50_MS: Final = 20.0
# The design target that names these endpoints (project params has no target of its own).
TARGET_LABEL: Final = "run info, tags, experiments endpoints <= 20 ms p50"
METRICS: Final = ("loss", "acc", "lr")
RUNS_PER_TXN: Final = 250


def bench_run_id(i: int) -> str:
    """The ``i``-th run's id (hex, as run hashes are)."""
    return f"{i:024x}"


def bench_experiment_id(i: int) -> str:
    """The ``i``-th experiment's id (a fixed UUID)."""
    return str(uuid.UUID(int=0xE0000000 + i))


def bench_tag_id(i: int) -> str:
    """The ``i``-th tag's id (a fixed UUID)."""
    return str(uuid.UUID(int=0x70000000 + i))


@dataclass(frozen=True, slots=True)
class FilledStore:
    """What :func:`fill_store` wrote."""

    run_ids: list[str]
    experiment_ids: list[str]
    tag_ids: list[str]


def _write_run(tr: Transaction, i: int, experiment_ids: list[str], tag_ids: list[str], points: int) -> None:
    run_id = bench_run_id(i)
    create_run(
        tr,
        run_id,
        name=f"run {i}",
        experiment_id=experiment_ids[i % len(experiment_ids)],
        created_at=1_700_000_000.0 + i,
    )
    hparams = {
        "lr": 10.0 ** -(1 + i % 4),
        "batch_size": 2 ** (4 + i % 4),
        "optimizer": ("adam", "sgd")[i % 2],
    }
    set_run_attrs(tr, run_id, ("hparams",), hparams)
    set_run_attrs(tr, run_id, ("dataset",), {"name": f"ds-{i % 7}", "version": i % 3})
    for j in range(i % 3):
        add_run_tag(tr, run_id, tag_ids[(i + j) % len(tag_ids)])
    for subset in ("train", "val"):
        context = {"subset": subset}
        context_id = set_context(tr, run_id, context)
        assert context_id == context_to_id(context)
        for m, name in enumerate(METRICS):
            values = [1.0 / (1 + s + m + i % 5) for s in range(points)]
            write_run_series(
                tr, SeriesKey(run_id, context_id, name), [Point(s, v) for s, v in enumerate(values)], "float"
            )


def fill_store(
    engine: Engine, runs: int, *, experiments: int = 20, tags: int = 10, points: int = 100
) -> FilledStore:
    """Write ``runs`` runs (params, metrics over two contexts, up to two tags, one experiment each).

    Ids are fixed (:func:`bench_run_id`, :func:`bench_experiment_id`, :func:`bench_tag_id`), so callers
    can name existing entities without reading them back. Runs go in transactions of a few hundred.
    """
    experiment_ids = [bench_experiment_id(i) for i in range(max(1, experiments))]
    tag_ids = [bench_tag_id(i) for i in range(max(1, tags))]

    def write_entities(tr: Transaction) -> None:
        for i, exp_id in enumerate(experiment_ids):
            entities.create_experiment(tr, f"experiment-{i}", f"bench experiment {i}", experiment_id=exp_id)
        for i, tag_id in enumerate(tag_ids):
            entities.create_tag(tr, f"tag-{i}", "#3E72E7", f"bench tag {i}", tag_id=tag_id)

    engine.transact(write_entities)
    for start in range(0, runs, RUNS_PER_TXN):

        def write_runs(tr: Transaction, start: int = start) -> None:
            for i in range(start, min(start + RUNS_PER_TXN, runs)):
                _write_run(tr, i, experiment_ids, tag_ids, points)

        engine.transact(write_runs)
    return FilledStore([bench_run_id(i) for i in range(runs)], experiment_ids, tag_ids)


@dataclass(frozen=True, slots=True)
class BenchRow:
    """One measured cell: an endpoint at a worker count and concurrency."""

    endpoint: str
    workers: int
    concurrency: int
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    req_per_s: float


async def _measure(
    base: str, paths: Sequence[str], concurrency: int, requests: int
) -> tuple[list[float], int, float]:
    """Send ``requests`` GETs (cycling through ``paths``) with ``concurrency`` in flight.

    Each in-flight slot has its own one-connection client: one shared pool of hundreds of connections
    costs the client more per request than the server spends answering it.
    """
    latencies: list[float] = []
    errors = 0
    next_index = 0
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=base, limits=limits, timeout=60))
            for _ in range(concurrency)
        ]
        # Open the connections before timing: the figures are for a warm server.
        await asyncio.gather(
            *(c.get(paths[i % len(paths)]) for i, c in enumerate(clients)), return_exceptions=True
        )

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal next_index, errors
            while next_index < requests:
                path = paths[next_index % len(paths)]
                next_index += 1
                t0 = time.perf_counter()
                try:
                    status = (await client.get(path)).status_code
                except httpx.TransportError:
                    status = 0  # a dropped connection counts as an error, and the run goes on
                latencies.append((time.perf_counter() - t0) * 1000)
                if status != 200:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in clients))
        elapsed = time.perf_counter() - t0
    return latencies, errors, elapsed


def _endpoints(filled: FilledStore, seed: int) -> dict[str, list[str]]:
    rng = random.Random(seed)
    sample = rng.sample(filled.run_ids, min(len(filled.run_ids), 1000))
    return {
        "GET runs/{id}/info/": [f"{REST}/runs/{run_id}/info/" for run_id in sample],
        "GET experiments/": [f"{REST}/experiments/"],
        "GET tags/": [f"{REST}/tags/"],
        "GET projects/params/": [f"{REST}/projects/params/"],
    }


def _first_requests(base: str, endpoints: dict[str, list[str]]) -> dict[str, float]:
    """One request per endpoint, one at a time: what a cold cache costs (and it warms them)."""
    out: dict[str, float] = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        for label, paths in endpoints.items():
            t0 = time.perf_counter()
            client.get(paths[0]).raise_for_status()
            out[label] = (time.perf_counter() - t0) * 1000
    return out


def run_bench(
    *,
    runs: int,
    requests: int,
    concurrencies: Sequence[int],
    workers: Sequence[int],
    directory: Path,
    points: int = 100,
) -> list[BenchRow]:
    """Fill a store under ``directory``, then measure every endpoint for each worker count and concurrency."""
    store_url = lmdb_url(directory / "kv", 16 << 30)
    engine = open_engine(store_url)
    try:
        t0 = time.perf_counter()
        filled = fill_store(engine, runs, points=points)
        print(f"filled {runs} runs in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    finally:
        engine.close()
    endpoints = _endpoints(filled, seed=runs)
    env = server_env(store_url, directory / "blobs")
    rows: list[BenchRow] = []
    for count in workers:
        proc, base = start_server(count, env, directory / f"server-{count}.log")
        try:
            firsts = ", ".join(
                f"{label} {ms:.0f} ms" for label, ms in _first_requests(base, endpoints).items()
            )
            print(f"{count} worker(s), first request of each endpoint (cold): {firsts}")
            for concurrency in concurrencies:
                for label, paths in endpoints.items():
                    latencies, errors, elapsed = asyncio.run(_measure(base, paths, concurrency, requests))
                    rows.append(
                        BenchRow(
                            endpoint=label,
                            workers=count,
                            concurrency=concurrency,
                            requests=len(latencies),
                            errors=errors,
                            p50_ms=percentile(latencies, 0.50),
                            p99_ms=percentile(latencies, 0.99),
                            req_per_s=len(latencies) / elapsed,
                        )
                    )
        finally:
            stop_server(proc)
        if any(row.errors for row in rows if row.workers == count):
            log = (directory / f"server-{count}.log").read_text(errors="replace").splitlines()
            print("errors; the server log ends with:", *log[-20:], sep="\n", file=sys.stderr)
    return rows


def format_table(rows: Sequence[BenchRow]) -> str:
    """The rows as an aligned text table, each p50 marked against the design target."""
    header = (
        f"{'endpoint':<22} {'workers':>7} {'conc':>5} {'reqs':>6} {'err':>4} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}  target"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        verdict = (
            ""
            if row.endpoint.startswith("GET projects/")
            else ("ok" if row.p50_ms <= TARGET_P50_MS else "over")
        )
        lines.append(
            f"{row.endpoint:<22} {row.workers:>7} {row.concurrency:>5} {row.requests:>6} {row.errors:>4} "
            f"{row.p50_ms:>8.2f} {row.p99_ms:>8.2f} {row.req_per_s:>8.0f}  {verdict}"
        )
    return "\n".join(lines)


def _int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> list[BenchRow]:
    """Parse the options, run the benchmark and print its table; returns the rows."""
    parser = argparse.ArgumentParser(prog="python -m matyan_benchmarks.api", description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the store")
    parser.add_argument("--points", type=int, default=100, help="points per metric series")
    parser.add_argument("--requests", type=int, default=3_000, help="requests per endpoint and setting")
    parser.add_argument(
        "--concurrency",
        type=_int_list,
        default=[1, 100, 500],
        help="in-flight requests, comma-separated (1: unloaded latency)",
    )
    parser.add_argument("--workers", type=_int_list, default=[1, 2], help="granian workers, comma-separated")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the store (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="matyan-bench-api-", dir=args.dir) as tmp:
        rows = run_bench(
            runs=args.runs,
            requests=args.requests,
            concurrencies=args.concurrency,
            workers=args.workers,
            directory=Path(tmp),
            points=args.points,
        )
    print(
        f"API read latency, {args.runs} runs; {os.cpu_count()} cores shared by the server "
        "and this load generator"
    )
    print(f"design target: {TARGET_LABEL}")
    print(format_table(rows))
    return rows


if __name__ == "__main__":
    main()
