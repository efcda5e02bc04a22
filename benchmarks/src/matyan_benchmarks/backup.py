"""Backup and restore throughput on a generated store: ``python -m matyan_benchmarks.backup [points]``.

Writes ``points`` float points (with epochs and timestamps) over 10 runs of 4 series into a fresh
LMDB store, backs it up (no blobs), restores it into a second fresh store and prints points/s and
MB/s (MB of sequences.jsonl) for each direction.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from functools import partial
from pathlib import Path

from matyan_benchmarks.harness import lmdb_url
from matyan_ops.backup_job import BackupFilters, run_backup
from matyan_ops.restore_job import RestoreOptions, run_restore
from matyan_store import runs, sequences
from matyan_store.engine import Engine, open_engine
from matyan_store.sequences import Point, SeriesKey

RUNS = 10
SERIES = 4
WRITE_CHUNK = 20_000


def _fill(engine: Engine, total: int) -> None:
    per_series = total // (RUNS * SERIES)
    for r in range(RUNS):
        run_id = f"bench-{r}"
        engine.transact(partial(runs.create_run, run_id=run_id))
        for s in range(SERIES):
            key = SeriesKey(run_id, 0, f"metric-{s}")
            for start in range(0, per_series, WRITE_CHUNK):
                pts = [
                    Point(i, math.sin(i / 100.0) + s, i // 1000, 1.7e9 + i * 0.01)
                    for i in range(start, min(per_series, start + WRITE_CHUNK))
                ]
                engine.transact(partial(sequences.write_points, key=key, points=pts, dtype="float"))


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("points", type=int, nargs="?", default=1_000_000, help="points in the store")
    total = ap.parse_args(argv).points
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = lmdb_url(root / "a", 4 << 30)
        with open_engine(url) as engine:
            _fill(engine, total)
            began = time.perf_counter()
            result = run_backup(
                engine,
                root / "out",
                BackupFilters(),
                {},
                blobs=None,
                compress_output=False,
                say=lambda _s: None,
            )
            backup_s = time.perf_counter() - began
        backup_dir = Path(result.path)
        size = sum(p.stat().st_size for p in backup_dir.rglob("sequences.jsonl"))
        with open_engine(lmdb_url(root / "b", 4 << 30)) as engine:
            began = time.perf_counter()
            restored = run_restore(
                engine, backup_dir, RestoreOptions(), blobs=None, say=lambda _s: None, say_error=print
            )
            restore_s = time.perf_counter() - began
        mb = size / 1e6
        print(f"points: {result.points}  sequences.jsonl: {mb:.1f} MB")
        print(
            f"backup:  {backup_s:.2f} s  {result.points / backup_s:,.0f} points/s  {mb / backup_s:.1f} MB/s"
        )
        rate = restored.points / restore_s
        print(f"restore: {restore_s:.2f} s  {rate:,.0f} points/s  {mb / restore_s:.1f} MB/s")


if __name__ == "__main__":
    main()
