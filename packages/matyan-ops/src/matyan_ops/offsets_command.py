"""``matyan-backend offsets show|reset``: the ingest workers' stored offsets against the Kafka log.

The ingest worker stores, with the data, the offset of the last message it applied per partition, and
halts a partition whose log went back below that offset (topic recreated, log truncated, broker storage
lost) instead of skipping the new records as applied. ``show`` puts the stored offsets, the halts and the
log's first and end offsets side by side; ``reset`` moves a partition's stored offset (a dry run unless
``--yes``), which also lifts its halt: the workers resume from there. See docs/runbook.md, Offset resets.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Annotated, Any

import cyclopts

from matyan_models.kafka_settings import KafkaSettings
from matyan_ops.ops_commands import JsonFlag, _guarded
from matyan_ops.runtime import EXIT_FAILURE, EXIT_OK, Output, UsageError, open_store_engine
from matyan_ops.settings import OpsSettings
from matyan_store import offsets
from matyan_store.engine import ReadTransaction

__all__ = ["LogBounds", "PartitionOffsets", "offsets_app", "partition_offsets"]


@dataclass(frozen=True, slots=True)
class LogBounds:
    """A partition's log: its first offset and the offset the next record will get."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class PartitionOffsets:
    """One partition as the store and the log see it."""

    partition: int
    applied: int | None
    """The store's last applied offset (``None``: nothing applied yet)."""
    log_start: int | None
    log_end: int | None
    halted: bool
    halt_reason: str | None

    @property
    def status(self) -> str:
        """``halted``, ``ahead-of-log`` (the log ends at or below the stored offset), or ``ok``."""
        if self.halted:
            return "halted"
        if self.applied is not None and self.log_end is not None and self.log_end <= self.applied:
            return "ahead-of-log"
        return "ok"


async def _log_bounds(topic: str, timeout_s: float = 15.0) -> dict[int, LogBounds]:
    """Each partition's first offset and log end.

    The end is the one a fetch reports: some brokers (tansu) answer the offsets request for a log's end
    with the last record batch's first offset plus one.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        enable_auto_commit=False,
        max_partition_fetch_bytes=1024,
        fetch_max_wait_ms=100,
        **KafkaSettings().connection_kwargs(),
    )
    await consumer.start()
    try:
        await (
            consumer.topics()
        )  # a metadata fetch of every topic; a consumer that subscribes to none has none
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not tps:
            return {}
        starts = await consumer.beginning_offsets(tps)
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, starts[tp])
        async with asyncio.timeout(timeout_s):
            while pending := [tp for tp in tps if consumer.highwater(tp) is None]:
                await consumer.getmany(*pending, timeout_ms=200, max_records=1)
        return {tp.partition: LogBounds(starts[tp], consumer.highwater(tp)) for tp in tps}
    finally:
        await consumer.stop()


def partition_offsets(
    stored: dict[int, int], halts: dict[int, offsets.PartitionHalt], bounds: dict[int, LogBounds]
) -> list[PartitionOffsets]:
    """Every partition known to the store or the log, by number."""
    rows = []
    for p in sorted(set(stored) | set(halts) | set(bounds)):
        b = bounds.get(p)
        halt = halts.get(p)
        rows.append(
            PartitionOffsets(
                partition=p,
                applied=stored.get(p),
                log_start=None if b is None else b.start,
                log_end=None if b is None else b.end,
                halted=halt is not None,
                halt_reason=None if halt is None else halt.reason,
            )
        )
    return rows


def _read(group: str, topic: str) -> tuple[dict[int, int], dict[int, offsets.PartitionHalt]]:
    def read(tr: ReadTransaction) -> tuple[dict[int, int], dict[int, offsets.PartitionHalt]]:
        return offsets.list_offsets(tr, group, topic), offsets.list_halts(tr, group, topic)

    with open_store_engine() as engine:
        return engine.read(read)


def _row_json(row: PartitionOffsets) -> dict[str, Any]:
    return {**asdict(row), "status": row.status}


def _row_text(row: PartitionOffsets) -> str:
    def show(value: int | None) -> str:
        return "-" if value is None else str(value)

    text = (
        f"{row.partition:>9}  {show(row.applied):>12}  {show(row.log_start):>9}  {show(row.log_end):>9}"
        f"  {row.status}"
    )
    return text + (f": {row.halt_reason}" if row.halt_reason else "")


Group = Annotated[
    str | None,
    cyclopts.Parameter(help="Consumer group (default: MATYAN_INGEST_GROUP_ID, else ingestion-workers)."),
]
Topic = Annotated[str | None, cyclopts.Parameter(help="Topic (default: KAFKA_DATA_INGESTION_TOPIC).")]


def _group_topic(group: str | None, topic: str | None) -> tuple[str, str]:
    return (
        group or OpsSettings().matyan_ingest_group_id,
        topic or KafkaSettings().kafka_data_ingestion_topic,
    )


offsets_app = cyclopts.App(
    name="offsets", help="The ingest workers' stored offsets against the Kafka log; move them back."
)


@offsets_app.command(name="show")
def show_command(*, group: Group = None, topic: Topic = None, json_output: JsonFlag = False) -> int:
    """Print each partition's last applied offset, its log's first and end offsets, and whether it is halted.

    Exit code 1 when a partition is halted or its log ends at or below its stored offset.

    Parameters
    ----------
    json_output
        Print a JSON summary on stdout.
    """
    out = Output(json_output)

    def job() -> int:
        g, t = _group_topic(group, topic)
        stored, halts = _read(g, t)
        rows = partition_offsets(stored, halts, asyncio.run(_log_bounds(t)))
        out.say(f"group {g}, topic {t}")
        out.say(f"{'partition':>9}  {'last applied':>12}  {'log start':>9}  {'log end':>9}  status")
        for row in rows:
            out.say(_row_text(row))
        bad = [r.partition for r in rows if r.status != "ok"]
        out.summary({"ok": not bad, "group": g, "topic": t, "partitions": [_row_json(r) for r in rows]})
        return EXIT_FAILURE if bad else EXIT_OK

    return _guarded(out, job)


@offsets_app.command(name="reset")
def reset_command(
    *,
    partition: int,
    to_offset: int | None = None,
    to_start: Annotated[bool, cyclopts.Parameter(negative="")] = False,
    group: Group = None,
    topic: Topic = None,
    yes: Annotated[bool, cyclopts.Parameter(negative="")] = False,
    json_output: JsonFlag = False,
) -> int:
    """Set where the ingest workers resume a partition, and lift its halt; a dry run unless --yes.

    Records from the new position on are applied, including any whose effect is already stored (after a
    topic was recreated, its new records are new messages).

    Parameters
    ----------
    partition
        The partition to move.
    to_offset
        The first offset to apply from now on.
    to_start
        Resume at the log's current first offset.
    yes
        Really move the offset (default: only report what would change).
    json_output
        Print a JSON summary on stdout.
    """
    out = Output(json_output)

    def job() -> int:
        if (to_offset is None) == (not to_start):
            raise UsageError("give exactly one of --to-offset N and --to-start")
        if to_offset is not None and to_offset < 0:
            raise UsageError("--to-offset must be >= 0")
        g, t = _group_topic(group, topic)
        stored, halts = _read(g, t)
        if to_start:
            bounds = asyncio.run(_log_bounds(t))
            if partition not in bounds:
                raise UsageError(f"topic {t} has no partition {partition} on the broker")
            next_offset = bounds[partition].start
        else:
            assert to_offset is not None
            next_offset = to_offset
        before = stored.get(partition)
        where = f"{g} {t}:{partition}"
        summary: dict[str, Any] = {
            "ok": True,
            "dry_run": not yes,
            "group": g,
            "topic": t,
            "partition": partition,
            "applied_before": before,
            "next_offset": next_offset,
            "halted_before": partition in halts,
        }
        if yes:
            with open_store_engine() as engine:
                engine.transact(
                    lambda tr: offsets.reset_offsets(tr, g, t, partition, next_offset=next_offset)
                )
            out.say(f"{where}: the workers resume at offset {next_offset} (last applied was {before}).")
        else:
            out.say(
                f"{where}: would resume at offset {next_offset} (last applied is {before}"
                f"{', halted' if partition in halts else ''}); run again with --yes to move it."
            )
        out.summary(summary)
        return EXIT_OK

    return _guarded(out, job)
