"""Micro-benchmark of the block codec: ``python -m matyan_benchmarks.codec [points]``.

Prints encode/decode throughput, stored bytes per point for a few realistic metrics, and chart-read
(downsampling) latency percentiles. Figures only; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import time

from matyan_benchmarks.harness import loss_curve, percentile, timed, timestamps
from matyan_store.codec.block import Block
from matyan_store.codec.block_codec import decode_block
from matyan_store.codec.merge import EncodedBlock, split_block
from matyan_store.codec.points import ValueKind
from matyan_store.codec.reads import downsample
from matyan_store.codec.summary import BlockSummary, encode_summary


def build(n: int, values: list[float], *, with_ts: bool, with_epochs: bool) -> list[EncodedBlock]:
    """Encode a series of ``n`` regular steps into blocks of the default size."""
    ts = timestamps(n, 7) if with_ts else [None] * n
    epochs = [i // 10_000 for i in range(n)] if with_epochs else [None] * n
    block = Block(ValueKind.FLOAT, range(n), values, epochs, ts)
    return split_block(block)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("points", type=int, nargs="?", default=1_000_000, help="points of each series")
    n = ap.parse_args(argv).points
    print(f"block codec benchmark, {n:,} points, regular steps")
    v32 = loss_curve(n, 1, float32=True)
    v64 = loss_curve(n, 1, float32=False)
    cases = [
        ("float32-derived loss, no epochs/timestamps", v32, False, False),
        ("float32-derived loss + epochs + jittered timestamps", v32, True, True),
        ("full float64 loss, no epochs/timestamps", v64, False, False),
        ("full float64 loss + epochs + jittered timestamps", v64, True, True),
    ]
    main_blocks: list[EncodedBlock] = []
    for label, values, with_ts, with_epochs in cases:
        t0 = time.perf_counter()
        blocks = build(n, values, with_ts=with_ts, with_epochs=with_epochs)
        enc = time.perf_counter() - t0
        stored = sum(len(b.data) for b in blocks)
        summaries = sum(len(encode_summary(b.summary)) for b in blocks)
        t0 = time.perf_counter()
        for b in blocks:
            d = decode_block(b.data)
            _ = d.steps, d.values, d.epochs, d.timestamps
        dec = time.perf_counter() - t0
        print(
            f"- {label}: {len(blocks)} blocks, {stored / n:.3f} B/pt in blocks "
            f"(+{summaries / n:.3f} B/pt if summaries are also kept in their own keys); "
            f"encode {n / enc / 1e6:.2f} M pts/s, full decode {n / dec / 1e6:.2f} M pts/s"
        )
        if with_ts and values is v32:
            main_blocks = blocks
    datas = [b.data for b in main_blocks]
    summaries_list: list[BlockSummary] = [b.summary for b in main_blocks]
    by_first = {s.first_step: d for s, d in zip(summaries_list, datas, strict=True)}

    def chart(full: bool) -> None:
        downsample(
            summaries_list,
            lambda s: decode_block(by_first[s.first_step]),
            1000,
            with_epochs_timestamps=full,
        )

    for full in (True, False):
        samples = timed(lambda full=full: chart(full), 50)  # type: ignore[misc]
        what = "steps+values+epochs+timestamps" if full else "steps+values only"
        print(
            f"downsample {n:,} points ({len(datas)} blocks, decoded from bytes) to 1,000 buckets, {what}: "
            f"p50 {percentile(samples, 0.5):.1f} ms, p95 {percentile(samples, 0.95):.1f} ms"
        )


if __name__ == "__main__":
    main()
