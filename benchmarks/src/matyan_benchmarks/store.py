"""Benchmark of stored series on LMDB: ``python -m matyan_benchmarks.store [--points N] ...``.

Prints a table: ingest throughput as the ingest-worker writes (many series per transaction, a batch
of points per series), chart reads of a large series (rollup path and full-column path), a full read,
and stored bytes per point, next to the design targets (docs/architecture.md, Performance targets).
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import lmdb

from matyan_benchmarks.harness import Row, loss_curve, open_lmdb, percentile, print_rows, timed, timestamps
from matyan_store.engine import Engine, Transaction
from matyan_store.sequences import Point, SeriesKey, read_downsampled, read_range, write_points


def ingest(engine: Engine, points: int, series: int, batch: int, per_txn: int, stamps: bool) -> float:
    """Write ``points`` over ``series`` series, ``batch`` points per series, ``per_txn`` series per txn."""
    per_series = points // series
    values = loss_curve(per_series, 1, float32=True)
    times = timestamps(per_series, 2) if stamps else [None] * per_series
    keys = [SeriesKey(f"run{i // 10:04d}", i % 3, f"metric-{i}") for i in range(series)]
    t0 = time.perf_counter()
    written = 0
    for a in range(0, per_series, batch):
        pts = [Point(s, values[s], None, times[s]) for s in range(a, min(a + batch, per_series))]
        for g in range(0, series, per_txn):
            group = keys[g : g + per_txn]

            def txn(tr: Transaction, group: list[SeriesKey] = group, pts: list[Point] = pts) -> None:
                for key in group:
                    write_points(tr, key, pts, "float")

            engine.transact(txn)
            written += len(pts) * len(group)
    return written / (time.perf_counter() - t0)


def lmdb_used_bytes(path: Path) -> int:
    """Bytes of the pages holding data (branch, leaf and overflow pages; free pages excluded)."""
    env = lmdb.open(str(path), readonly=True, lock=False, subdir=True)
    try:
        st = env.stat()
        return int((st["branch_pages"] + st["leaf_pages"] + st["overflow_pages"]) * st["psize"])
    finally:
        env.close()


def one_series(path: Path, n: int, stamps: bool, batch: int) -> tuple[Engine, SeriesKey, float]:
    """A fresh engine holding one ``n``-point regular float metric; returns the write rate too."""
    engine = open_lmdb(path)
    key = SeriesKey("chart-run", 0, "loss")
    values = loss_curve(n, 3, float32=True)
    times = timestamps(n, 4) if stamps else [None] * n
    t0 = time.perf_counter()
    for a in range(0, n, batch):
        pts = [Point(s, values[s], None, times[s]) for s in range(a, min(a + batch, n))]
        engine.transact(lambda tr, pts=pts: write_points(tr, key, pts, "float"))  # type: ignore[misc]
    return engine, key, n / (time.perf_counter() - t0)


def read_rows(engine: Engine, key: SeriesKey, n: int, runs: int) -> list[Row]:
    """Chart and full-read timings of the ``n``-point series ``key``."""

    def chart(full: bool) -> None:
        engine.read(lambda tr: read_downsampled(tr, key, 1_000, with_epochs_timestamps=full))

    def everything() -> None:
        engine.read(lambda tr: len(read_range(tr, key).values))

    fast = timed(lambda: chart(False), runs)
    full = timed(lambda: chart(True), max(5, runs // 5))
    whole = timed(everything, 5)
    return [
        Row(
            f"chart {n:,} pts -> 1,000 buckets, steps+values",
            f"p50 {percentile(fast, 0.5):.1f} ms, p95 {percentile(fast, 0.95):.1f} ms",
            "<= 30 ms p50",
        ),
        Row(
            f"chart {n:,} pts -> 1,000 buckets, + epochs/timestamps",
            f"p50 {percentile(full, 0.5):.1f} ms, p95 {percentile(full, 0.95):.1f} ms",
            "",
        ),
        Row(f"full read {n:,} pts", f"{n / (percentile(whole, 0.5) / 1000):,.0f} points/s", ""),
    ]


def main(argv: list[str] | None = None) -> list[Row]:
    """Run the benchmark, print the table and return its rows."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=10_000_000, help="points of the ingest run")
    ap.add_argument("--series", type=int, default=100)
    ap.add_argument("--batch", type=int, default=1_000, help="points per series per transaction")
    ap.add_argument("--series-per-txn", type=int, default=10)
    ap.add_argument("--chart-points", type=int, default=1_000_000)
    ap.add_argument("--reads", type=int, default=50)
    args = ap.parse_args(argv)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="matyan-bench-seq-") as tmp:
        root = Path(tmp)
        engine = open_lmdb(root / "ingest")
        rate = ingest(engine, args.points, args.series, args.batch, args.series_per_txn, stamps=True)
        engine.close()
        rows.append(
            Row(
                f"ingest {args.points:,} pts, {args.series} series, {args.batch} pts/series/txn, "
                f"{args.series_per_txn} series/txn, with timestamps",
                f"{rate:,.0f} points/s",
                ">= 150,000",
            )
        )
        n = args.chart_points
        for stamps in (False, True):
            label = "with timestamps" if stamps else "no timestamps"
            path = root / f"chart-{int(stamps)}"
            engine, key, wrate = one_series(path, n, stamps, 10_000)
            rows.append(Row(f"write {n:,}-pt series, 10,000 pts/txn, {label}", f"{wrate:,.0f} points/s", ""))
            if stamps:
                rows += read_rows(engine, key, n, args.reads)
            engine.close()
            rows.append(
                Row(
                    f"LMDB pages used / point, regular float metric, {label}",
                    f"{lmdb_used_bytes(path) / n:.2f} bytes",
                    "<= 4",
                )
            )
    print_rows(rows)
    return rows


if __name__ == "__main__":
    main()
