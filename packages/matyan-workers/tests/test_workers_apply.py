"""The apply layer: every message type, as the frontier produces it, applied to an LMDB store."""

from __future__ import annotations

import math
import secrets
from pathlib import Path
from typing import Any

from workers_fixtures import CLIENT_DT, Feed, delete_value, engine, frontier_value, lmdb_url, metric

from matyan_models.sequence_kinds import LOG_RECORDS_SEQUENCE, LOGS_SEQUENCE
from matyan_store import deadletters, entities, indexes, offsets, runs, sequences, tombstones
from matyan_store.engine import Engine, EngineLimits, ReadTransaction, open_engine
from matyan_store.sequences import SeriesKey
from matyan_workers.ingest.apply import metric_value
from matyan_workers.ingest.batching import BatchResult, BatchRunner
from matyan_workers.ingest.deletions import get_pending

__all__ = ["engine"]

GROUP = "ingestion-workers"


def _run(engine: Engine, feed: Feed, run_id: str, items: list[dict[str, Any] | bytes]) -> BatchResult:
    values = [i if isinstance(i, bytes) else frontier_value(run_id, i) for i in items]
    runner = BatchRunner(engine, GROUP, max_messages=100, max_bytes=8 << 20)
    return runner.run(feed.records(values, key=run_id))


def _points(tr: ReadTransaction, run_id: str, ctx_id: int, name: str) -> list[tuple[int, Any]]:
    block = sequences.read_range(tr, SeriesKey(run_id, ctx_id, name))
    return list(zip(block.steps, block.values, strict=True))


def test_create_metrics_with_and_without_steps_and_dtypes(engine: Engine) -> None:
    feed = Feed()
    ctx = {"subset": "train"}
    result = _run(
        engine,
        feed,
        "r1",
        [
            {"type": "create_run", "client_datetime": CLIENT_DT},
            metric("loss", 0.5, 0, context=ctx),
            metric("loss", 0.25, None, context=ctx),
            metric("loss", 0.125, None, context=ctx),
            metric("count", 3, 7, dtype="int"),
            metric("count", 4, None, dtype="int"),
            metric("acc", 0.9, 2, epoch=1),
        ],
    )
    assert result.processed == {"create_run": 1, "log_metric": 6}
    ctx_id = __import__("matyan_models").context_to_id(ctx)

    def check(tr: ReadTransaction) -> None:
        meta = runs.get_run(tr, "r1")
        assert meta is not None
        assert meta.active
        assert meta.name == "Run: r1"
        assert meta.client_start_ts is not None
        assert _points(tr, "r1", ctx_id, "loss") == [(0, 0.5), (1, 0.25), (2, 0.125)]
        count = _points(tr, "r1", 0, "count")
        assert count == [(7, 3), (8, 4)]
        assert all(type(v) is int for _, v in count)
        assert runs.get_context(tr, "r1", ctx_id) == ctx
        acc = sequences.read_range(tr, SeriesKey("r1", 0, "acc"))
        assert list(acc.epochs) == [1]
        summary = sequences.get_summary(tr, SeriesKey("r1", ctx_id, "loss"))
        assert summary is not None
        assert summary.last_value == 0.125
        assert summary.min == 0.125
        assert "r1" in indexes.lookup(tr, "trace", "loss")
        assert offsets.get_offset(tr, GROUP, "t", 0) == 6

    engine.read(check)


def test_metric_value_keeps_json_numbers_and_maps_null_to_nan() -> None:
    assert type(metric_value(3, 3.0, "int")) is int
    assert type(metric_value(3.0, 3.0, "int")) is int
    assert metric_value(2.5, 2.5, "int") == 2.5
    assert math.isnan(metric_value(None, None, "float"))
    assert metric_value(1.0, 1.0, "bool") is True


def test_hparams_unwrap_and_root_writes_keep_blobs(engine: Engine) -> None:
    feed = Feed()
    _run(
        engine,
        feed,
        "r2",
        [
            {"type": "create_run", "client_datetime": CLIENT_DT},
            {"type": "blob_ref", "s3_key": "r2/model.pt", "artifact_path": "model.pt"},
            {"type": "log_hparams", "value": {"hparams": {"lr": 0.01, "bs": 32}}},
            {"type": "log_hparams", "value": {"seed": 7}},
            {"type": "log_hparams", "value": {"learning_rate": 0.1, "batch_size": 8}},
            {"type": "log_hparams", "value": {}},
        ],
    )

    def check(tr: ReadTransaction) -> None:
        attrs = runs.get_run_attrs(tr, "r2")
        assert attrs["hparams"] == {"lr": 0.01, "bs": 32}
        assert attrs["seed"] == 7
        assert attrs["learning_rate"] == 0.1
        assert attrs["batch_size"] == 8
        assert attrs["__blobs__"] == {
            "model.pt": {"s3_key": "r2/model.pt", "content_type": "application/octet-stream"}
        }
        assert indexes.lookup_hparam_eq(tr, "lr", 0.01) == ["r2"]

    engine.read(check)


def test_messages_for_unknown_run_create_a_proper_run(engine: Engine) -> None:
    _run(engine, Feed(), "ghost", [metric("m", 1.0, 0), {"type": "add_tag", "tag_name": "x"}])

    def check(tr: ReadTransaction) -> None:
        meta = runs.get_run(tr, "ghost")
        assert meta is not None
        assert meta.created_at > 0
        assert meta.name == "Run: ghost"
        tag = entities.get_tag_by_name(tr, "x")
        assert tag is not None
        assert runs.get_run_tag_ids(tr, "ghost") == [tag.id]

    engine.read(check)


def test_finish_run_duration_from_client_timestamps(engine: Engine) -> None:
    feed = Feed()
    _run(engine, feed, "r3", [{"type": "create_run", "client_datetime": "2026-03-20T12:00:00+00:00"}])
    # The frontier sends finish_run with {}; other producers may carry client_datetime.
    finish = (
        b'{"type":"finish_run","run_id":"r3","timestamp":"2026-03-20T12:01:00Z",'
        b'"payload":{"client_datetime":"2026-03-20T12:00:42+00:00"}}'
    )
    _run(engine, feed, "r3", [finish])
    meta = engine.read(lambda tr: runs.get_run(tr, "r3"))
    assert meta is not None
    assert not meta.active
    assert meta.duration == 42.0
    assert meta.finalized_at == meta.created_at + 42.0
    _run(engine, feed, "r3", [{"type": "create_run", "client_datetime": CLIENT_DT, "force_resume": True}])
    resumed = engine.read(lambda tr: runs.get_run(tr, "r3"))
    assert resumed is not None
    assert resumed.active
    assert resumed.finalized_at is None
    assert resumed.created_at == meta.created_at


def test_properties_tags_experiment(engine: Engine) -> None:
    feed = Feed()
    _run(
        engine,
        feed,
        "r4",
        [
            {"type": "create_run", "client_datetime": CLIENT_DT},
            {"type": "set_run_property", "experiment": "baseline"},
            {"type": "set_run_property", "name": "nice", "description": "d", "archived": True},
            {"type": "add_tag", "tag_name": "a"},
            {"type": "add_tag", "tag_name": "a"},
            {"type": "add_tag", "tag_name": "b"},
            {"type": "remove_tag", "tag_name": "b"},
            {"type": "remove_tag", "tag_name": "never-made"},
        ],
    )

    def check(tr: ReadTransaction) -> None:
        meta = runs.get_run(tr, "r4")
        exp = entities.get_experiment_by_name(tr, "baseline")
        assert meta is not None
        assert exp is not None
        assert (meta.name, meta.description, meta.archived, meta.experiment_id) == ("nice", "d", True, exp.id)
        a, b = entities.get_tag_by_name(tr, "a"), entities.get_tag_by_name(tr, "b")
        assert a is not None
        assert b is not None
        assert runs.get_run_tag_ids(tr, "r4") == [a.id]
        assert a.run_count == 1
        assert b.run_count == 0

    engine.read(check)


def test_custom_objects_terminal_lines_and_log_records(engine: Engine) -> None:
    feed = Feed()
    image = {"type": "image", "s3_key": "r5/seq/img/0.png", "format": "png", "width": 2, "height": 2}
    _run(
        engine,
        feed,
        "r5",
        [
            {"type": "log_custom_object", "name": "img", "value": image, "step": 0, "dtype": "image"},
            {"type": "log_custom_object", "name": "txt", "value": {"type": "text", "data": "hi"}},
            {"type": "log_custom_object", "name": "txt", "value": {"type": "text", "data": "ho"}},
            {"type": "log_terminal_line", "line": "epoch 1", "step": 0},
            {"type": "log_terminal_line", "line": "epoch 2", "step": 1},
            {"type": "log_record", "message": "hello", "level": 20, "timestamp": 1.5},
            {"type": "log_record", "message": "bye", "level": 40, "timestamp": 2.5, "extra_args": {"a": 1}},
        ],
    )

    def check(tr: ReadTransaction) -> None:
        assert _points(tr, "r5", 0, "img") == [(0, image)]
        assert [v["data"] for _, v in _points(tr, "r5", 0, "txt")] == ["hi", "ho"]
        assert _points(tr, "r5", 0, LOGS_SEQUENCE) == [(0, "epoch 1"), (1, "epoch 2")]
        recs = _points(tr, "r5", 0, LOG_RECORDS_SEQUENCE)
        assert [s for s, _ in recs] == [0, 1]
        assert recs[1][1] == {
            "message": "bye",
            "log_level": 40,
            "timestamp": 2.5,
            "args": {"a": 1},
            "logger_info": None,
        }
        summary = sequences.get_summary(tr, SeriesKey("r5", 0, "img"))
        assert summary is not None
        assert summary.dtype == "image"

    engine.read(check)


def test_blob_key_alias_of_newer_shape(engine: Engine) -> None:
    value = (
        b'{"type":"blob_ref","run_id":"01J0000000000000000000000A","project_id":"00000000",'
        b'"timestamp":"2026-01-01T00:00:00Z","payload":{"blob_key":"x/y.bin","artifact_path":"y.bin"}}'
    )
    _run(engine, Feed(), "01J0000000000000000000000A", [value])
    blobs = engine.read(lambda tr: runs.get_run_attrs(tr, "01J0000000000000000000000A", ("__blobs__",)))
    assert blobs == {"y.bin": {"s3_key": "x/y.bin", "content_type": "application/octet-stream"}}


def test_delete_run_tombstones_drops_later_messages_and_records_event(engine: Engine) -> None:
    feed = Feed()
    image = {"type": "image", "s3_key": "elsewhere/img.png"}
    result = _run(
        engine,
        feed,
        "r6",
        [
            {"type": "create_run", "client_datetime": CLIENT_DT},
            metric("m", 1.0, 0),
            {"type": "blob_ref", "s3_key": "artifacts/r6/model.pt", "artifact_path": "model.pt"},
            {"type": "blob_ref", "s3_key": "r6/weights.bin", "artifact_path": "weights.bin"},
            {"type": "blob_ref", "s3_key": "r60/other.bin", "artifact_path": "other.bin"},
            {"type": "log_custom_object", "name": "img", "value": image, "step": 0, "dtype": "image"},
            delete_value("r6"),
            metric("m", 2.0, 1),
            {"type": "create_run", "client_datetime": CLIENT_DT},
        ],
    )
    assert result.started_deletions == ["r6"]

    def check(tr: ReadTransaction) -> None:
        assert runs.get_run(tr, "r6", include_pending=True) is None
        assert tombstones.is_deleted(tr, "r6")
        assert sequences.list_run_series(tr, "r6") == []
        assert indexes.lookup(tr, "trace", "m") == []
        entry = get_pending(tr, "r6")
        assert entry is not None
        assert entry.data_deleted
        # The run's own keys (legacy artifacts/<run>/ included); another run's are never deleted with it.
        assert entry.blob_keys == ["artifacts/r6/model.pt", "r6/weights.bin"]

    engine.read(check)


def test_clearing_a_tombstone_takes_effect_at_once(engine: Engine) -> None:
    feed = Feed()
    _run(engine, feed, "r7", [delete_value("r7"), metric("m", 1.0, 0)])
    assert engine.read(lambda tr: runs.get_run(tr, "r7")) is None
    engine.transact(lambda tr: tombstones.clear_tombstone(tr, "r7"))
    _run(engine, feed, "r7", [{"type": "create_run", "client_datetime": CLIENT_DT, "force_resume": True}])
    assert engine.read(lambda tr: runs.get_run(tr, "r7")) is not None


def test_pending_deletion_run_drops_messages(engine: Engine) -> None:
    feed = Feed()
    _run(engine, feed, "r8", [metric("m", 1.0, 0)])
    engine.transact(lambda tr: runs.mark_pending_deletion(tr, "r8"))
    result = _run(engine, feed, "r8", [metric("m", 2.0, 1), {"type": "set_run_property", "name": "x"}])
    assert result.dead_letters == 0
    assert engine.read(lambda tr: _points(tr, "r8", 0, "m")) == [(0, 1.0)]


def test_poison_messages_are_dead_lettered_and_batch_goes_on(engine: Engine) -> None:
    feed = Feed()
    bad = [
        b"not json",
        b'{"type":"teleport","run_id":"p","timestamp":"2026-01-01T00:00:00Z","payload":{}}',
        b'{"type":"log_metric","run_id":"p","timestamp":"2026-01-01T00:00:00Z","payload":{"value":1}}',
        b'{"type":"log_metric","run_id":"p","timestamp":"2026-01-01T00:00:00Z",'
        b'"payload":{"name":"m","value":1,"step":-5}}',
        b'{"type":"add_tag","run_id":"p","timestamp":"2026-01-01T00:00:00Z","payload":{"tag_name":""}}',
    ]
    good = [frontier_value("p", metric("m", float(i), i)) for i in range(3)]
    values = [good[0], *bad[:3], good[1], *bad[3:], good[2]]
    runner = BatchRunner(engine, GROUP, max_messages=3, max_bytes=8 << 20)
    result = runner.run(feed.records(values, key="p"))
    assert result.dead_letters == 5
    assert result.errors["validation"] == 3
    assert result.errors["unknown"] + result.errors["fdb"] == 2
    assert result.processed == {"log_metric": 3}

    def check(tr: ReadTransaction) -> None:
        assert _points(tr, "p", 0, "m") == [(0, 0.0), (1, 1.0), (2, 2.0)]
        letters = deadletters.list_dead_letters(tr, limit=0)
        assert sorted(d.offset for d in letters) == [1, 2, 3, 5, 6]
        assert {d.value for d in letters} == set(bad)
        assert offsets.get_offset(tr, GROUP, "t", 0) == len(values) - 1

    engine.read(check)


def test_numbers_sent_as_strings_are_dead_letters_not_converted(engine: Engine) -> None:
    def value(payload: str) -> bytes:
        return (
            b'{"type":"log_metric","run_id":"s","timestamp":"2026-01-01T00:00:00Z","payload":'
            + payload.encode()
            + b"}"
        )

    good = frontier_value("s", metric("m", 2.5, 0))
    strings = [
        value('{"name":"m","value":"1.5","step":1}'),
        value('{"name":"m","value":1.5,"step":"2"}'),
        value('{"name":"m","value":1.5,"step":3,"epoch":"1"}'),
        value('{"name":"m","value":"nan","step":4}'),
    ]
    result = _run(engine, Feed(), "s", [good, *strings])
    assert (result.dead_letters, result.errors["validation"], result.processed) == (4, 4, {"log_metric": 1})

    def check(tr: ReadTransaction) -> None:
        assert _points(tr, "s", 0, "m") == [(0, 2.5)]
        summary = sequences.get_summary(tr, SeriesKey("s", 0, "m"))
        assert summary is not None
        assert summary.count == 1
        letters = deadletters.list_dead_letters(tr, limit=0)
        assert [d.value for d in letters] == strings
        assert all("not a string" in d.reason for d in letters)

    engine.read(check)


def test_a_metric_for_a_run_never_created_creates_it_through_the_fast_path(engine: Engine) -> None:
    # The rule of docs/architecture.md, Ingestion messages: the run gets complete default meta, indexed.
    result = _run(engine, Feed(), "never-created", [metric("loss", 0.5, 0), metric("loss", 0.25, 1)])
    assert result.processed == {"log_metric": 2}
    assert result.dead_letters == 0

    def check(tr: ReadTransaction) -> None:
        meta = runs.get_run(tr, "never-created")
        assert meta is not None
        assert (meta.name, meta.active, meta.created_at > 0) == ("Run: never-created", True, True)
        assert _points(tr, "never-created", 0, "loss") == [(0, 0.5), (1, 0.25)]

    engine.read(check)


def test_replayed_records_are_skipped(engine: Engine) -> None:
    feed = Feed()
    values = [frontier_value("q", metric("m", 1.0, None)) for _ in range(5)]
    records = feed.records(values, key="q")
    runner = BatchRunner(engine, GROUP, max_messages=2, max_bytes=8 << 20)
    runner.run(records[:3])
    again = runner.run(records)  # a redelivery overlapping the applied part
    assert again.already_applied == 3
    assert engine.read(lambda tr: [s for s, _ in _points(tr, "q", 0, "m")]) == [0, 1, 2, 3, 4]


def test_too_large_transaction_is_split_and_a_lone_too_large_message_dead_lettered(tmp_path: Path) -> None:
    limits = EngineLimits(max_transaction_bytes=200_000)
    with open_engine(lmdb_url(tmp_path / "small"), limits=limits) as small:
        feed = Feed()
        values = [
            frontier_value(
                "big",
                {"type": "log_custom_object", "name": "o", "value": {"data": secrets.token_hex(30_000)}},
            )
            for _ in range(8)
        ]
        huge = frontier_value(
            "big", {"type": "log_custom_object", "name": "h", "value": {"data": secrets.token_hex(250_000)}}
        )
        runner = BatchRunner(small, GROUP, max_messages=100, max_bytes=100 << 20)
        result = runner.run(feed.records([*values, huge, values[0]], key="big"))
        assert result.errors["txn_too_large_split"] >= 1
        assert result.processed == {"log_custom_object": 9}
        assert result.dead_letters == 1
        assert result.errors["fdb"] == 1
        assert small.read(lambda tr: [s for s, _ in _points(tr, "big", 0, "o")]) == list(range(9))
        letters = small.read(lambda tr: deadletters.list_dead_letters(tr, limit=0))
        assert [d.offset for d in letters] == [8]


def test_transactions_are_sized_by_what_they_write(engine: Engine) -> None:
    feed = Feed()
    values = [
        frontier_value("b2", {"type": "log_custom_object", "name": "o", "value": {"data": "x" * 30_000}})
        for _ in range(6)
    ]
    runner = BatchRunner(engine, GROUP, max_messages=100, max_bytes=70_000)
    result = runner.run(feed.records(values, key="b2"))
    assert result.processed == {"log_custom_object": 6}
    assert result.transactions >= 3
    assert engine.read(lambda tr: [s for s, _ in _points(tr, "b2", 0, "o")]) == list(range(6))
