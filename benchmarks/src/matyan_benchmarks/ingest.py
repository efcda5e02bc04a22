"""Benchmark of the ingest worker: ``python -m matyan_benchmarks.ingest [--mode apply|kafka|latency|all]``.

Three measurements, printed next to ingest targets (>= 150k points/s per worker for client-batched
points; ingest -> visible through the API <= 2 s p99; docs/architecture.md, Performance targets):

* **apply** (in-process): :class:`~matyan_workers.ingest.batching.BatchRunner` driven as the consumer
  drives it, from Kafka records already in memory to LMDB in a temporary directory: parsing + applying +
  committing, nothing else.
* **kafka** (end to end): a tansu broker (started here with the repo's service starters, or ``--bootstrap``),
  a fresh topic pre-filled with the workload, then one real ``matyan-backend ingest-worker`` process; timed
  from its first committed transaction until the offsets committed in the store reach the end of the topic.
* **latency**: the same worker under a steady produce load (``--latency-rate`` messages/s): each message's
  send time is kept, and the store is polled; a point is readable once its series' summary (what the API's
  reads start from) reaches its step. p50/p99 of send -> readable.

The workloads, each on a fresh store:

* **single points**: ``--runs`` runs x ``--metrics`` metrics, one ``log_metric`` message per point, each
  step logging every metric of the run, the runs interleaved on ``--partitions`` partitions;
* **client batches**: the same series, but each series' points arrive ``--client-batch`` consecutive
  steps at a time (a client flushing its buffer of one metric).

Figures only; nothing is asserted.

The broker, topics and worker processes come from the repository's service starters,
``infra/dev/matyan_dev_services.py``: that directory must be on ``PYTHONPATH`` (``make bench-ingest`` puts
it there; pytest's root conftest.py does too).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from matyan_benchmarks.harness import MATYAN_BACKEND, lmdb_url, percentile
from matyan_models.kafka import IngestionMessage
from matyan_store import offsets, sequences
from matyan_store.engine import Engine, ReadTransaction, open_engine
from matyan_store.sequences import SeriesKey
from matyan_workers.ingest.batching import BatchResult, BatchRunner, Record
from matyan_workers.settings import WorkerSettings

try:
    import matyan_dev_services
except ImportError as exc:
    raise SystemExit("put infra/dev on PYTHONPATH (make bench-ingest does): " + str(exc)) from exc

_TOPIC = "data-ingestion"
_GROUP = "bench-ingest"
_CLIENT_DT = "2026-03-20T12:00:00+00:00"
TARGET_POINTS_PER_S = 150_000
TARGET_VISIBLE_P99_S = 2.0


def _value(run_id: str, type_: str, payload: dict[str, object]) -> bytes:
    msg = IngestionMessage(type=type_, run_id=run_id, timestamp=datetime.now(UTC), payload=payload)
    return msg.model_dump_json().encode()


def _metric(run_id: str, name: str, step: int, value: float, context: dict[str, str] | None = None) -> bytes:
    payload: dict[str, object] = {
        "name": name,
        "value": value,
        "step": step,
        "epoch": step // 1000,
        "context": {"subset": "train"} if context is None else context,
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
    offsets_ = [0] * partitions
    out: list[Record] = []

    def add(run: int, value: bytes) -> None:
        p = run % partitions
        out.append(Record(_TOPIC, p, offsets_[p], run_ids[run].encode(), value))
        offsets_[p] += 1

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


def _workloads(args: argparse.Namespace) -> list[tuple[str, int]]:
    return [("single-point log_metric", 1), (f"client batches of {args.client_batch}", args.client_batch)]


def bench_apply(args: argparse.Namespace) -> list[str]:
    """The in-process apply path: one line per workload and transaction size (printed, and returned)."""
    print(
        f"apply path: {args.runs} runs x {args.metrics} metrics x {args.steps:,} steps, {args.partitions} "
        f"partitions, {args.fetch} records per fetch (at least max-messages), "
        f"max {args.max_bytes:,} bytes/txn; target for one worker: "
        f">= {TARGET_POINTS_PER_S:,} points/s client-batched"
    )
    rows = []
    for label, batch in _workloads(args):
        records, points = build_records(args.runs, args.metrics, args.steps, args.partitions, batch)
        for max_messages in args.max_messages:
            with tempfile.TemporaryDirectory(prefix="matyan-bench-ingest-") as tmp:
                engine = open_engine(lmdb_url(Path(tmp) / "kv", 16 << 30))
                try:
                    runner = BatchRunner(engine, _GROUP, max_messages=max_messages, max_bytes=args.max_bytes)
                    seconds, results = drive(runner, records, max(args.fetch, max_messages))
                finally:
                    engine.close()
            rows.append(_row(f"{label}, <= {max_messages} msg/txn", len(records), points, seconds, results))
            print(rows[-1])
    return rows


# -- Kafka: broker, topics, producing, the worker process ----------------------------------------------


@contextmanager
def broker(bootstrap: str | None) -> Iterator[str]:
    """``bootstrap`` as given, or a tansu broker started for the benchmark (stopped afterwards)."""
    if bootstrap:
        yield bootstrap
        return
    with tempfile.TemporaryDirectory(prefix="matyan-bench-kafka-") as tmp:
        run_dir = matyan_dev_services.RunDir(tmp)
        try:
            kafka = matyan_dev_services.start_on_free_port(
                lambda port: matyan_dev_services.start_kafka(run_dir, port)
            )
            yield str(kafka.bootstrap_servers)
        finally:
            run_dir.stop_all()


def fresh_topics(bootstrap: str, partitions: int) -> tuple[str, str]:
    """A new data topic with ``partitions`` partitions and a new one-partition control topic."""
    tag = uuid.uuid4().hex[:10]
    data, control = f"bench-data-{tag}", f"bench-control-{tag}"
    matyan_dev_services.kafka_ensure_topics(bootstrap, {data: partitions, control: 1})
    return data, control


PRODUCE_BATCH_BYTES = 256 * 1024


async def produce_batched(
    bootstrap: str, topic: str, records: Mapping[int, Sequence[tuple[bytes | None, bytes]]]
) -> dict[int, int]:
    """Send each partition's ``(key, value)`` records in order, packed in record batches; last offsets.

    One partition's batches go one after another (so its order holds), the partitions concurrently: a
    hundred thousand messages take seconds instead of a minute of one ``send`` per message.
    """
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks=1, max_batch_size=PRODUCE_BATCH_BYTES, max_request_size=1 << 20
    )
    await producer.start()
    try:
        sent = await asyncio.gather(
            *(_send_partition(producer, topic, p, rs) for p, rs in records.items() if rs)
        )
    finally:
        await producer.stop()
    return dict(sent)


async def _send_partition(
    producer: AIOKafkaProducer, topic: str, partition: int, records: Sequence[tuple[bytes | None, bytes]]
) -> tuple[int, int]:
    pending: list[tuple[asyncio.Future[Any], int]] = []
    batch = producer.create_batch()
    count = 0
    for key, value in records:
        if batch.append(key=key, value=value, timestamp=None) is None:
            pending.append((await producer.send_batch(batch, topic, partition=partition), count))
            batch, count = producer.create_batch(), 0
            if batch.append(key=key, value=value, timestamp=None) is None:
                raise ValueError(f"a record of {len(value)} bytes does not fit in a record batch")
        count += 1
    if count:
        pending.append((await producer.send_batch(batch, topic, partition=partition), count))
    last = -1
    for future, n in pending:
        metadata = await future
        last = max(last, metadata.offset + n - 1)  # a batch's metadata has its first record's offset
    return partition, last


def worker_env(
    bootstrap: str, data_topic: str, control_topic: str, data_dir: Path, group: str
) -> dict[str, str]:
    """Environment of an ingest worker on these topics with its own group and an LMDB store in ``data_dir``.

    Short group timeouts: a worker started (or restarted) joins its group in a second or two.
    """
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_DATA_INGESTION_TOPIC": data_topic,
        "KAFKA_CONTROL_EVENTS_TOPIC": control_topic,
        "MATYAN_DATA_DIR": str(data_dir),
        "MATYAN_STORE_ENGINE": "lmdb",
        "MATYAN_LMDB_SYNC": "false",
        "MATYAN_INGEST_GROUP_ID": group,
        "MATYAN_CONTROL_GROUP_ID": group,
        "MATYAN_KAFKA_SESSION_TIMEOUT_MS": "2000",
        "MATYAN_KAFKA_HEARTBEAT_INTERVAL_MS": "200",
        "MATYAN_KAFKA_REBALANCE_TIMEOUT_MS": "500",
        "METRICS_PORT": "0",
        "LOG_LEVEL": "INFO",
    }


def store_url(data_dir: Path) -> str:
    """The LMDB store a worker with ``MATYAN_DATA_DIR=data_dir`` writes (see :func:`worker_env`)."""
    return f"lmdb://{data_dir / 'kv'}?sync=false"


def applied_count(engine: Engine, group: str, topic: str) -> int:
    """How many records of ``topic`` the store says are applied (offsets start at 0)."""
    stored = engine.read(lambda tr: offsets.list_offsets(tr, group, topic))
    return sum(o + 1 for o in stored.values())


def _wait(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@dataclass(frozen=True)
class KafkaFigures:
    """One end-to-end run: messages and points applied, and the seconds they took."""

    label: str
    messages: int
    points: int
    seconds: float

    def row(self) -> str:
        """The printed line."""
        if self.messages == 0 or self.seconds <= 0:
            return f"{self.label:<44} | everything went in the first transaction: too small to time"
        pts = self.points / self.seconds
        return (
            f"{self.label:<44} | {self.messages / self.seconds:>9,.0f} msg/s | {pts:>9,.0f} points/s "
            f"(target >= {TARGET_POINTS_PER_S:,}: {'met' if pts >= TARGET_POINTS_PER_S else 'NOT met'})"
        )


@contextmanager
def worker_process(env: Mapping[str, str], log_dir: Path, name: str = "ingest") -> Iterator[Any]:
    """A real ``matyan-backend ingest-worker`` process; stopped (SIGTERM) on exit."""
    runner = matyan_dev_services.ProcessRunner(log_dir)
    proc = runner.start(name, [MATYAN_BACKEND, "ingest-worker"], env=dict(env))
    try:
        yield proc
    finally:
        runner.stop_all()


def kafka_throughput(
    bootstrap: str,
    records: list[Record],
    points: int,
    partitions: int,
    label: str,
    extra_env: Mapping[str, str],
    timeout: float = 600.0,
) -> KafkaFigures:
    """Pre-fill a fresh topic with ``records``, start one worker, time it until every record is applied."""
    data_topic, control_topic = fresh_topics(bootstrap, partitions)
    by_partition: dict[int, list[tuple[bytes | None, bytes]]] = {p: [] for p in range(partitions)}
    for rec in records:
        by_partition[rec.partition].append((rec.key, rec.value))
    asyncio.run(produce_batched(bootstrap, data_topic, by_partition))
    group = f"bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="matyan-bench-worker-") as tmp:
        data_dir = Path(tmp)
        env = {**worker_env(bootstrap, data_topic, control_topic, data_dir, group), **extra_env}
        with worker_process(env, data_dir / "logs") as proc, _store_when_ready(data_dir, proc) as engine:
            total = len(records)
            # From the first committed transaction: process start-up and the group join are not ingest.
            _wait(lambda: applied_count(engine, group, data_topic) > 0, 120, "the first commit")
            t0 = time.perf_counter()
            first = applied_count(engine, group, data_topic)
            _wait(lambda: applied_count(engine, group, data_topic) >= total, timeout, "every record applied")
            seconds = time.perf_counter() - t0
            if not proc.alive():
                raise RuntimeError(f"the worker exited:\n{proc.log_tail()}")
    share = (total - first) / total
    return KafkaFigures(label, total - first, round(points * share), seconds)


@contextmanager
def _store_when_ready(data_dir: Path, proc: Any) -> Iterator[Engine]:
    """The worker's store, opened once the worker has created it."""
    _wait(lambda: (data_dir / "kv").exists() or not proc.alive(), 60, "the worker's store", 0.05)
    if not proc.alive():
        raise RuntimeError(f"the worker exited:\n{proc.log_tail()}")
    with open_engine(store_url(data_dir)) as engine:
        yield engine


# -- latency: send -> readable under a steady load ---------------------------------------------------------


@dataclass(frozen=True)
class LatencyFigures:
    """Send -> readable seconds of every message of a latency run."""

    rate: float
    latencies: list[float]

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (nearest rank) of the latencies."""
        return percentile(self.latencies, q)

    def row(self) -> str:
        """The printed line."""
        p50, p99 = self.quantile(0.5), self.quantile(0.99)
        ok = "met" if p99 <= TARGET_VISIBLE_P99_S else "NOT met"
        return (
            f"{'send -> readable, ' + f'{self.rate:,.0f} msg/s load':<44} | p50 {p50 * 1000:>7.1f} ms | "
            f"p99 {p99 * 1000:>7.1f} ms | max {max(self.latencies) * 1000:>7.1f} ms | "
            f"{len(self.latencies):,} messages (target p99 <= {TARGET_VISIBLE_P99_S:.0f} s: {ok})"
        )


async def _send_each(bootstrap: str, topic: str, items: Sequence[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1)
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(topic, v, key=k.encode()) for k, v in items])
    finally:
        await producer.stop()


async def _steady_load(
    bootstrap: str,
    topic: str,
    series: Sequence[tuple[str, str]],
    rate: float,
    seconds: float,
    sent: dict[tuple[str, str, int], float],
) -> None:
    """Send ``rate`` ``log_metric`` messages/s for ``seconds``, the series in turn; record each send time."""
    # As the frontier sends (one message at a time, no linger), keyed by run like it.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0)
    await producer.start()
    try:
        start = time.perf_counter()
        total = int(rate * seconds)
        n = 0
        futures = []
        while n < total:
            due = min(total, int((time.perf_counter() - start) * rate) + 1)
            while n < due:
                run_id, name = series[n % len(series)]
                step = n // len(series)
                value = _metric(run_id, name, step, float(n), context={})
                sent[(run_id, name, step)] = time.time()
                futures.append(await producer.send(topic, value, key=run_id.encode()))
                n += 1
            await asyncio.sleep(0.005)
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def _poll_visible(
    engine: Engine,
    series: Sequence[tuple[str, str]],
    sent: Mapping[tuple[str, str, int], float],
    seen: dict[tuple[str, str, int], float],
    finished: threading.Event,
    timeout: float,
) -> None:
    """Poll the series' summaries until every sent point is seen; the time each was first readable."""
    last = dict.fromkeys(series, -1)
    keys = {s: SeriesKey(s[0], 0, s[1]) for s in series}

    def last_steps(tr: ReadTransaction) -> dict[tuple[str, str], int]:
        out = {}
        for s, key in keys.items():
            summary = sequences.get_summary(tr, key)
            out[s] = -1 if summary is None else summary.last_step
        return out

    deadline: float | None = None
    while not (finished.is_set() and len(seen) >= len(sent)):
        steps = engine.read(last_steps)
        now = time.time()
        for s, step in steps.items():
            for k in range(last[s] + 1, step + 1):
                seen[(s[0], s[1], k)] = now
            last[s] = max(last[s], step)
        if finished.is_set():
            deadline = deadline or time.monotonic() + timeout
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(sent) - len(seen)} points never became readable")
        time.sleep(0.002)


def latency_under_load(
    bootstrap: str, runs: int, metrics: int, rate: float, seconds: float, extra_env: Mapping[str, str]
) -> LatencyFigures:
    """Start a worker, then send at ``rate`` for ``seconds`` while polling the store for each point."""
    data_topic, control_topic = fresh_topics(bootstrap, 4)
    group = f"bench-{uuid.uuid4().hex[:8]}"
    rng = random.Random(7)
    run_ids = [f"{rng.getrandbits(128):032x}" for _ in range(runs)]
    series = [(run_id, f"metric-{m}") for run_id in run_ids for m in range(metrics)]
    with tempfile.TemporaryDirectory(prefix="matyan-bench-latency-") as tmp:
        data_dir = Path(tmp)
        env = {**worker_env(bootstrap, data_topic, control_topic, data_dir, group), **extra_env}
        with worker_process(env, data_dir / "logs") as proc:
            # Warm-up: the worker has joined its group and created every run before the load starts.
            warm = [(r, _value(r, "create_run", {"client_datetime": _CLIENT_DT})) for r in run_ids]
            asyncio.run(_send_each(bootstrap, data_topic, warm))
            with _store_when_ready(data_dir, proc) as engine:
                _wait(lambda: applied_count(engine, group, data_topic) >= len(warm), 120, "the warm-up")
                sent: dict[tuple[str, str, int], float] = {}
                seen: dict[tuple[str, str, int], float] = {}
                finished = threading.Event()
                errors: list[BaseException] = []

                def poll() -> None:
                    try:
                        _poll_visible(engine, series, sent, seen, finished, timeout=60.0)
                    except BaseException as exc:
                        errors.append(exc)

                poller = threading.Thread(target=poll, name="bench-latency-poller")
                poller.start()
                try:
                    asyncio.run(_steady_load(bootstrap, data_topic, series, rate, seconds, sent))
                finally:
                    finished.set()
                    poller.join()
                if errors:
                    raise errors[0]
                if not proc.alive():
                    raise RuntimeError(f"the worker exited:\n{proc.log_tail()}")
    return LatencyFigures(rate, [seen[k] - t for k, t in sent.items()])


# -- the command -----------------------------------------------------------------------------------------


def _env_pairs(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--worker-env wants KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def bench_kafka(args: argparse.Namespace, bootstrap: str) -> list[KafkaFigures]:
    """The end-to-end runs, one per workload; printed as they finish."""
    extra = _env_pairs(args.worker_env)
    print(
        f"kafka -> store, one worker process: {args.runs} runs x {args.metrics} metrics x "
        f"{args.steps:,} steps, "
        f"{args.partitions} partitions, worker settings {extra or 'as configured (spec defaults)'}"
    )
    figures = []
    for label, batch in _workloads(args):
        records, points = build_records(args.runs, args.metrics, args.steps, args.partitions, batch)
        figures.append(kafka_throughput(bootstrap, records, points, args.partitions, label, extra))
        print(figures[-1].row())
    return figures


def bench_latency(args: argparse.Namespace, bootstrap: str) -> LatencyFigures:
    """The latency run; printed."""
    extra = _env_pairs(args.worker_env)
    print(
        f"latency: {args.latency_runs} runs x {args.metrics} metrics, {args.latency_rate:,.0f} single-point "
        f"messages/s for {args.latency_seconds:.0f} s; readable = in the series summary the API reads"
    )
    figures = latency_under_load(
        bootstrap, args.latency_runs, args.metrics, args.latency_rate, args.latency_seconds, extra
    )
    print(figures.row())
    return figures


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (defaults from the settings the worker uses)."""
    settings = WorkerSettings()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["apply", "kafka", "latency", "all"], default="all")
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
    ap.add_argument("--bootstrap", default="", help="use this Kafka broker instead of starting tansu")
    ap.add_argument(
        "--worker-env", action="append", default=[], metavar="KEY=VALUE", help="worker setting (repeatable)"
    )
    ap.add_argument("--latency-runs", type=int, default=10)
    ap.add_argument("--latency-rate", type=float, default=2_000.0, help="messages/s sent during the run")
    ap.add_argument("--latency-seconds", type=float, default=10.0)
    return ap.parse_args(argv)


@dataclass
class Report:
    """Everything one invocation measured."""

    apply_rows: list[str] = field(default_factory=list)
    kafka: list[KafkaFigures] = field(default_factory=list)
    latency: LatencyFigures | None = None


def main(argv: list[str] | None = None) -> Report:
    """Run the chosen benchmarks and print their figures against the design targets."""
    args = parse_args(argv)
    report = Report()
    if args.mode in ("apply", "all"):
        report.apply_rows = bench_apply(args)
    if args.mode in ("kafka", "latency", "all"):
        with broker(args.bootstrap) as bootstrap:
            if args.mode in ("kafka", "all"):
                report.kafka = bench_kafka(args, bootstrap)
            if args.mode in ("latency", "all"):
                report.latency = bench_latency(args, bootstrap)
    return report


if __name__ == "__main__":
    main()
