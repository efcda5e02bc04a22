"""Micro-benchmark of the series codec: ``python -m matyan_store.codec.bench_codec [points]``.

Prints encode/decode throughput, stored bytes per point for a few realistic metrics, and chart-read
(downsampling) latency percentiles. Figures only; nothing here is asserted.
"""

from __future__ import annotations

import random
import struct
import sys
import time
from collections.abc import Callable

from matyan_store.codec.block import Block
from matyan_store.codec.block_codec import decode_block
from matyan_store.codec.merge import EncodedBlock, split_block
from matyan_store.codec.points import ValueKind
from matyan_store.codec.reads import downsample
from matyan_store.codec.summary import BlockSummary, encode_summary

_F32 = struct.Struct("<f")


def to_float32(x: float) -> float:
    """The float64 a client sends for a float32 tensor value."""
    value: float = _F32.unpack(_F32.pack(x))[0]
    return value


def loss_curve(n: int, seed: int, *, float32: bool) -> list[float]:
    """A noisy decaying random walk, like a training loss."""
    rng = random.Random(seed)
    x = 2.5
    out = []
    for i in range(n):
        x = abs(x * (1 - 2e-6) + rng.gauss(0, 0.01))
        v = x + 0.05 * rng.random() + 1e-3 * (i % 7)
        out.append(to_float32(v) if float32 else v)
    return out


def timestamps(n: int, seed: int) -> list[float]:
    """Wall-clock times at ~10 steps/s with a few ms of jitter, as ``time.time()`` gives them."""
    rng = random.Random(seed)
    t = 1_760_000_000.123456
    out = []
    for _ in range(n):
        t += 0.1 + rng.gauss(0, 0.004)
        out.append(t)
    return out


def build(n: int, values: list[float], *, with_ts: bool, with_epochs: bool) -> list[EncodedBlock]:
    """Encode a series of ``n`` regular steps into blocks of the default size."""
    ts = timestamps(n, 7) if with_ts else [None] * n
    epochs = [i // 10_000 for i in range(n)] if with_epochs else [None] * n
    block = Block(ValueKind.FLOAT, range(n), values, epochs, ts)
    return split_block(block)


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    """Wall-clock milliseconds of ``runs`` calls."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main(argv: list[str]) -> None:
    """Run the benchmark and print the figures."""
    n = int(argv[1]) if len(argv) > 1 else 1_000_000
    print(f"series codec benchmark, {n:,} points, regular steps")
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
    main(sys.argv)
