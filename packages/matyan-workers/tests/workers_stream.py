"""A mixed training stream for many runs, and the exact store contents it must produce.

Every run logs float and int metrics (one in a ``val`` context), a metric that never has a step, log
records, terminal lines, custom objects, hparams (set, then replaced) and tags (added, one removed). A third
of the runs log nothing with a step (except terminal lines, whose step the frame requires), so their series
are numbered by the worker: auto-assigned steps must come out ``0..n-1`` even across SIGKILLs.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from workers_fixtures import CLIENT_DT, frontier_value, metric

from matyan_models import context_to_id
from matyan_models.sequence_kinds import LOG_RECORDS_SEQUENCE, LOGS_SEQUENCE
from matyan_store import deadletters, entities, runs, sequences
from matyan_store.engine import ReadTransaction
from matyan_store.sequences import SeriesKey

VAL = {"subset": "val"}
SERIES = ("loss", "auto", "count", "samples")
"""Series in the default context; ``acc`` is in ``VAL``."""


@dataclass
class Expected:
    """What each run must hold once the stream is applied: ``(step, value)`` per series."""

    series: dict[tuple[str, str], list[tuple[int, Any]]] = field(default_factory=lambda: defaultdict(list))
    """``(run_id, name)`` → points; ``name`` is one of :data:`SERIES` or ``"acc"``."""
    records: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lines: dict[str, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))
    tags: dict[str, set[str]] = field(default_factory=dict)
    hparams: dict[str, dict[str, Any]] = field(default_factory=dict)
    poison: int = 0

    @property
    def all_tags(self) -> set[str]:
        """Every tag name the stream adds (each must exist once)."""
        return {"all", "t-0", "t-1", *(f"late-{r % 4}" for r in range(len(self.hparams)))}


POISON = [
    b"{not json",
    b'{"type":"warp","run_id":"x","timestamp":"2026-01-01T00:00:00Z","payload":{}}',
    b'{"type":"log_metric","run_id":"x","timestamp":"2026-01-01T00:00:00Z","payload":{"value":1.0}}',
    b'{"type":"log_metric","run_id":"x","timestamp":"2026-01-01T00:00:00Z",'
    b'"payload":{"name":"m","value":1.0,"step":-5}}',
]


def _run_messages(run_id: str, r: int, per_run: int, exp: Expected, stepless: bool) -> list[bytes]:
    """``per_run`` messages of one run, with what they must leave in the store recorded in ``exp``."""
    msgs = [
        frontier_value(run_id, {"type": "create_run", "client_datetime": CLIENT_DT}),
        frontier_value(run_id, {"type": "set_run_property", "experiment": f"exp-{r % 3}"}),
        frontier_value(run_id, {"type": "add_tag", "tag_name": f"t-{r % 2}"}),
        frontier_value(run_id, {"type": "add_tag", "tag_name": "all"}),
        frontier_value(run_id, {"type": "log_hparams", "value": {"hparams": {"lr": r / 10, "seed": r}}}),
    ]
    tags = {f"t-{r % 2}", "all", f"late-{r % 4}"}
    steps: dict[str, int] = defaultdict(int)

    def point(name: str, step: int | None, value: Any) -> int | None:
        """Record the point; the step it is sent with (``None`` in a stepless run, or for ``auto``)."""
        key = (run_id, name)
        if stepless or step is None:
            exp.series[key].append((len(exp.series[key]), value))
            return None
        exp.series[key].append((step, value))
        return step

    body = per_run - len(msgs) - 3  # the late tag and hparams, and the last message
    for i in range(body):
        match i % 10:
            case 0 | 5:
                value = float(i) / 7
                msgs.append(
                    frontier_value(run_id, metric("loss", value, point("loss", steps["loss"], value)))
                )
                steps["loss"] += 1
            case 1 | 6:
                msgs.append(frontier_value(run_id, metric("auto", float(i), point("auto", None, float(i)))))
            case 2:
                sent = metric("acc", i / 3, point("acc", i, i / 3), context=VAL)
                msgs.append(frontier_value(run_id, sent))
            case 3:
                # The frontier's float field sends 3.0; the int dtype must bring the int back.
                msgs.append(frontier_value(run_id, metric("count", i, point("count", 2 * i, i), dtype="int")))
            case 4 | 8:
                text = f"record {i}"
                record = {"type": "log_record", "message": text, "level": 20, "timestamp": 1.0}
                msgs.append(frontier_value(run_id, record))
                exp.records[run_id].append(text)
            case 7:
                obj = {"text": f"sample {i}", "format": "text"}
                sent = {"type": "log_custom_object", "name": "samples", "value": obj, "dtype": "text"}
                sent["step"] = point("samples", i + 1, obj)
                msgs.append(frontier_value(run_id, sent))
            case _:
                line = f"line {i}"
                msgs.append(frontier_value(run_id, {"type": "log_terminal_line", "line": line, "step": i}))
                exp.lines[run_id].append((i, line))
        if i == body // 2:
            late = {"type": "add_tag", "tag_name": f"late-{r % 4}"}
            msgs.append(frontier_value(run_id, late))
            hparams = {"lr": r / 100, "seed": r, "warmup": i}
            msgs.append(frontier_value(run_id, {"type": "log_hparams", "value": {"hparams": hparams}}))
            exp.hparams[run_id] = hparams
    if r % 2 == 0:
        msgs.append(frontier_value(run_id, {"type": "remove_tag", "tag_name": "t-0"}))
        tags.discard("t-0")
    else:
        msgs.append(frontier_value(run_id, {"type": "finish_run", "client_datetime": CLIENT_DT}))
    exp.tags[run_id] = tags
    return msgs


def build_stream(
    n_runs: int, per_run: int, seed: int, poison: int = 0, prefix: str = "run"
) -> tuple[list[tuple[str, bytes]], Expected]:
    """``n_runs`` runs of ``per_run`` messages (every third run without steps), randomly interleaved."""
    rng = random.Random(seed)
    exp = Expected()
    per: dict[str, list[bytes]] = {}
    for r in range(n_runs):
        run_id = f"{prefix}-{seed}-{r:02d}"
        per[run_id] = _run_messages(run_id, r, per_run, exp, stepless=r % 3 == 2)
    stream: list[tuple[str, bytes]] = []
    cursors = {run_id: 0 for run_id in per}
    while cursors:
        run_id = rng.choice(list(cursors))
        stream.append((run_id, per[run_id][cursors[run_id]]))
        cursors[run_id] += 1
        if cursors[run_id] == len(per[run_id]):
            del cursors[run_id]
    for k in range(poison):
        stream.insert(rng.randrange(len(stream)), (f"poison-{k}", POISON[k % len(POISON)]))
    exp.poison = poison
    return stream, exp


def check_store(tr: ReadTransaction, exp: Expected) -> None:
    """Assert the store holds exactly what ``exp`` says: no duplicates, no gaps, nothing extra."""
    val_ctx = context_to_id(VAL)
    tags = entities.list_tags(tr)
    tag_names = {t.id: t.name for t in tags}
    assert sorted(t.name for t in tags) == sorted(exp.all_tags)  # each tag created once
    for run_id, hparams in exp.hparams.items():
        meta = runs.get_run(tr, run_id)
        assert meta is not None, run_id
        assert runs.get_run_attrs(tr, run_id, ("hparams",)) == hparams, run_id
        assert {tag_names[t] for t in runs.get_run_tag_ids(tr, run_id)} == exp.tags[run_id], run_id
        stored = {(name, ctx) for name, ctx in _series_names(tr, run_id)}
        wanted = {(name, 0) for name in SERIES} | {("acc", val_ctx)}
        if exp.lines[run_id]:
            wanted.add((LOGS_SEQUENCE, 0))
        if exp.records[run_id]:
            wanted.add((LOG_RECORDS_SEQUENCE, 0))
        assert stored == wanted, run_id
        for name in (*SERIES, "acc"):
            block = sequences.read_range(tr, SeriesKey(run_id, val_ctx if name == "acc" else 0, name))
            got = list(zip(block.steps, block.values, strict=True))
            assert got == exp.series[(run_id, name)], (run_id, name)
            if name == "count":
                assert all(type(v) is int for v in block.values), run_id
        recs = sequences.read_range(tr, SeriesKey(run_id, 0, LOG_RECORDS_SEQUENCE))
        assert list(recs.steps) == list(range(len(exp.records[run_id]))), run_id
        assert [v["message"] for v in recs.values] == exp.records[run_id], run_id
        lines = sequences.read_range(tr, SeriesKey(run_id, 0, LOGS_SEQUENCE))
        assert list(zip(lines.steps, lines.values, strict=True)) == exp.lines[run_id], run_id
    assert deadletters.count_dead_letters(tr) == exp.poison


def _series_names(tr: ReadTransaction, run_id: str) -> list[tuple[str, int]]:
    return [(key.name, key.context_id) for key, _ in sequences.list_run_series(tr, run_id)]
