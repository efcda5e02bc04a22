"""A mixed training stream for many runs, and the exact store contents it must produce."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from workers_fixtures import CLIENT_DT, frontier_value, metric

from matyan_models import context_to_id
from matyan_store import deadletters, entities, runs, sequences
from matyan_store.engine import ReadTransaction
from matyan_store.sequences import SeriesKey
from matyan_workers.ingest.apply import LOG_RECORDS_SEQUENCE, LOGS_SEQUENCE

VAL = {"subset": "val"}


@dataclass
class Expected:
    """What each run must hold once the stream is applied."""

    loss: dict[str, list[tuple[int, float]]] = field(default_factory=lambda: defaultdict(list))
    auto: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    acc: dict[str, list[tuple[int, float]]] = field(default_factory=lambda: defaultdict(list))
    records: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lines: dict[str, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))
    tags: dict[str, set[str]] = field(default_factory=dict)
    hparams: dict[str, dict[str, Any]] = field(default_factory=dict)
    poison: int = 0


POISON = [
    b"{not json",
    b'{"type":"warp","run_id":"x","timestamp":"2026-01-01T00:00:00Z","payload":{}}',
    b'{"type":"log_metric","run_id":"x","timestamp":"2026-01-01T00:00:00Z","payload":{"value":1.0}}',
    b'{"type":"log_metric","run_id":"x","timestamp":"2026-01-01T00:00:00Z",'
    b'"payload":{"name":"m","value":1.0,"step":-5}}',
]


def build_stream(
    n_runs: int, per_run: int, seed: int, poison: int = 0, prefix: str = "run"
) -> tuple[list[tuple[str, bytes]], Expected]:
    """``n_runs`` runs of ``per_run`` messages (a third of the metric points without a step), interleaved."""
    rng = random.Random(seed)
    exp = Expected()
    per: dict[str, list[bytes]] = {}
    for r in range(n_runs):
        run_id = f"{prefix}-{seed}-{r:02d}"
        tags = {f"t-{r % 2}", "all"}
        msgs = [
            frontier_value(run_id, {"type": "create_run", "client_datetime": CLIENT_DT}),
            frontier_value(run_id, {"type": "set_run_property", "experiment": f"exp-{r % 3}"}),
            frontier_value(run_id, {"type": "add_tag", "tag_name": f"t-{r % 2}"}),
            frontier_value(run_id, {"type": "add_tag", "tag_name": "all"}),
            frontier_value(run_id, {"type": "log_hparams", "value": {"hparams": {"lr": r / 10, "seed": r}}}),
        ]
        exp.hparams[run_id] = {"lr": r / 10, "seed": r}
        step = 0
        for i in range(per_run - len(msgs) - 1):
            value = float(i)
            match i % 6:
                case 0 | 3:
                    msgs.append(frontier_value(run_id, metric("loss", value, step)))
                    exp.loss[run_id].append((step, value))
                    step += 1
                case 1 | 4:
                    msgs.append(frontier_value(run_id, metric("auto", value, None)))
                    exp.auto[run_id].append(value)
                case 2:
                    text = f"record {i}"
                    msgs.append(
                        frontier_value(
                            run_id, {"type": "log_record", "message": text, "level": 20, "timestamp": 1.0}
                        )
                    )
                    exp.records[run_id].append(text)
                case _:
                    msgs.append(frontier_value(run_id, metric("acc", value, i, context=VAL)))
                    exp.acc[run_id].append((i, value))
        if r % 2 == 0:
            msgs.append(frontier_value(run_id, {"type": "remove_tag", "tag_name": "t-0"}))
            tags.discard("t-0")
        else:
            msgs.append(frontier_value(run_id, {"type": "log_terminal_line", "line": "done", "step": 0}))
            exp.lines[run_id].append((0, "done"))
        exp.tags[run_id] = tags
        per[run_id] = msgs
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
    tag_names = {t.id: t.name for t in entities.list_tags(tr)}
    for run_id, hparams in exp.hparams.items():
        meta = runs.get_run(tr, run_id)
        assert meta is not None, run_id
        assert runs.get_run_attrs(tr, run_id, ("hparams",)) == hparams
        assert {tag_names[t] for t in runs.get_run_tag_ids(tr, run_id)} == exp.tags[run_id]
        loss = sequences.read_range(tr, SeriesKey(run_id, 0, "loss"))
        assert list(zip(loss.steps, loss.values, strict=True)) == exp.loss[run_id], run_id
        auto = sequences.read_range(tr, SeriesKey(run_id, 0, "auto"))
        assert list(auto.steps) == list(range(len(exp.auto[run_id]))), run_id
        assert list(auto.values) == exp.auto[run_id], run_id
        acc = sequences.read_range(tr, SeriesKey(run_id, val_ctx, "acc"))
        assert list(zip(acc.steps, acc.values, strict=True)) == exp.acc[run_id], run_id
        recs = sequences.read_range(tr, SeriesKey(run_id, 0, LOG_RECORDS_SEQUENCE))
        assert list(recs.steps) == list(range(len(exp.records[run_id])))
        assert [v["message"] for v in recs.values] == exp.records[run_id], run_id
        lines = sequences.read_range(tr, SeriesKey(run_id, 0, LOGS_SEQUENCE))
        assert list(zip(lines.steps, lines.values, strict=True)) == exp.lines[run_id]
    assert deadletters.count_dead_letters(tr) == exp.poison
