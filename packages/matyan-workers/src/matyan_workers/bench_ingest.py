"""Benchmark of the ingest worker's apply path: ``python -m matyan_workers.bench_ingest [--steps N] ...``.

Drives :class:`~matyan_workers.ingest.batching.BatchRunner` in-process, as the consumer does: Kafka
records carrying the frontier's ``IngestionMessage`` JSON bytes, fetched ``--fetch`` at a time, applied
in store transactions of at most ``--max-messages`` messages, into LMDB in a temporary directory. The
message bytes are built before timing, so the figures are parsing + applying + committing.

Two workloads, each on a fresh store:

* **single points**: ``--runs`` runs x ``--metrics`` metrics, one ``log_metric`` message per point, each
  step logging every metric of the run, the runs interleaved on ``--partitions`` partitions;
* **client batches**: the same series, but each series' points arrive ``--client-batch`` consecutive
  steps at a time (a client flushing its buffer of one metric).

Figures only; nothing is asserted. The target (DESIGN.md section 7) is >= 150k points/s per worker.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from matyan_models.kafka import IngestionMessage
from matyan_store.engine import open_engine
from matyan_store.settings import Settings
from matyan_workers.ingest.batching import BatchResult, BatchRunner, Record

_TOPIC = "data-ingestion"
_GROUP = "bench-ingest"
_CLIENT_DT = "2026-03-20T12:00:00+00:00"


def _value(run_id: str, type_: str, payload: dict[str, object]) -> bytes:
    msg = IngestionMessage(type=type_, run_id=run_id, timestamp=datetime.now(UTC), payload=payload)
    return msg.model_dump_json().encode()


def _metric(run_id: str, name: str, step: int, value: float) -> bytes:
    payload: dict[str, object] = {
        "name": name,
        "value": value,
        "step": step,
        "epoch": step // 1000,
        "context": {"subset": "train"},
        "dtype": "float",
        "client_datetime": _CLIENT_DT,
    }
    return _value(run_id, "log_metric", payload)


def build_records(
    runs: int, metrics: int, steps: int, partitions: int, client_batch: int, seed: int = 1
) -> tuple[list[Record], int]:
    """Records (``create_run`` first, then the points) and the number of points they carry."""
    rng = random.Random(seed)
    run_ids = [f"{rng.getrandbits(128):032x}" for _ in range(runs)]
    names = [f"metric-{m}" for m in range(metrics)]
    offsets = [0] * partitions
    out: list[Record] = []

    def add(run: int, value: bytes) -> None:
        p = run % partitions
        out.append(Record(_TOPIC, p, offsets[p], run_ids[run].encode(), value))
        offsets[p] += 1

    for r, run_id in enumerate(run_ids):
        add(r, _value(run_id, "create_run", {"client_datetime": _CLIENT_DT, "force_resume": False}))
    loss = [2.5] * (runs * metrics)
    points = 0
    for a in range(0, steps, client_batch):
        for r, run_id in enumerate(run_ids):
            for m, name in enumerate(names):
                for s in range(a, min(a + client_batch, steps)):
                    i = r * metrics + m
                    loss[i] = abs(loss[i] * 0.9999 + rng.gauss(0, 0.01))
                    add(r, _metric(run_id, name, s, loss[i]))
                    points += 1
    if client_batch == 1:
        # Single points: a step logs every metric of a run; runs interleave record by record.
        out.sort(key=lambda rec: rec.offset)
    return out, points


def drive(runner: BatchRunner, records: list[Record], fetch: int) -> tuple[float, list[BatchResult]]:
    """Apply ``records`` ``fetch`` at a time (what ``getmany`` hands over); seconds taken and results."""
    results: list[BatchResult] = []
    t0 = time.perf_counter()
    for a in range(0, len(records), fetch):
        results.append(runner.run(records[a : a + fetch]))
    return time.perf_counter() - t0, results


def _row(label: str, records: int, points: int, seconds: float, results: list[BatchResult]) -> str:
    txns = sum(r.transactions for r in results)
    sizes = [b for r in results for b in r.txn_bytes]
    dead = sum(r.dead_letters for r in results)
    return (
        f"{label:<44} | {records / seconds:>9,.0f} msg/s | {points / seconds:>9,.0f} points/s | "
        f"{txns:>6} txns, {records / max(txns, 1):>6.1f} msg/txn, "
        f"{statistics.mean(sizes) / 1024 if sizes else 0:>7.1f} KiB/txn | dead letters {dead}"
    )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print one line per workload."""
    settings = Settings()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--metrics", type=int, default=5)
    ap.add_argument("--steps", type=int, default=1_000, help="points per series")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--client-batch", type=int, default=500, help="consecutive steps per client flush")
    ap.add_argument("--fetch", type=int, default=settings.ingest_batch_size, help="records per getmany")
    ap.add_argument(
        "--max-messages", type=int, nargs="+", default=[settings.ingest_max_messages_per_txn, 1_000]
    )
    ap.add_argument("--max-bytes", type=int, default=settings.ingest_max_txn_bytes)
    args = ap.parse_args(argv)
    print(
        f"{args.runs} runs x {args.metrics} metrics x {args.steps:,} steps, {args.partitions} partitions, "
        f"{args.fetch} records per fetch (at least max-messages), max {args.max_bytes:,} bytes per txn"
    )
    workloads = [
        ("single-point log_metric", 1),
        (f"client batches of {args.client_batch}", args.client_batch),
    ]
    for label, batch in workloads:
        records, points = build_records(args.runs, args.metrics, args.steps, args.partitions, batch)
        for max_messages in args.max_messages:
            with tempfile.TemporaryDirectory(prefix="matyan-bench-ingest-") as tmp:
                engine = open_engine(f"lmdb://{Path(tmp) / 'kv'}?sync=false&map_size={16 << 30}")
                try:
                    runner = BatchRunner(engine, _GROUP, max_messages=max_messages, max_bytes=args.max_bytes)
                    seconds, results = drive(runner, records, max(args.fetch, max_messages))
                finally:
                    engine.close()
            print(_row(f"{label}, <= {max_messages} msg/txn", len(records), points, seconds, results))


if __name__ == "__main__":
    main()
