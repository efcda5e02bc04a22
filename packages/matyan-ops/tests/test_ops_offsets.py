"""`matyan-backend offsets reset --to-offset` as a real process against an LMDB store (no broker needed).

`offsets show` and `reset --to-start` read the Kafka log: they are tested with a real broker and worker in
matyan-workers' test_workers_offset_reset.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from test_ops_cli_jobs import run_cli, store_env

from matyan_ops.offsets_command import LogBounds, partition_offsets
from matyan_store import offsets
from matyan_store.engine import Transaction, open_engine

G, T = "ingest-group", "data-x"


def _url(kv: Path) -> str:
    return f"lmdb://{kv}?sync=false"


def test_reset_to_offset_is_a_dry_run_unless_yes(tmp_path: Path) -> None:
    kv = tmp_path / "kv"

    def setup(tr: Transaction) -> None:
        offsets.set_offset(tr, G, T, 2, 500)
        offsets.halt_partition(tr, G, T, 2, applied=500, log_offset=7, reason="the log ends", at=1.0)

    with open_engine(_url(kv)) as engine:
        engine.transact(setup)
    env = store_env(kv, tmp_path / "blobs")
    args = ["offsets", "reset", "--partition", "2", "--to-offset", "7", "--group", G, "--topic", T, "--json"]

    dry = run_cli(env, *args)
    assert dry.returncode == 0, dry.stderr
    summary = json.loads(dry.stdout)
    assert (summary["dry_run"], summary["applied_before"], summary["halted_before"]) == (True, 500, True)
    with open_engine(_url(kv)) as engine:
        assert engine.read(
            lambda tr: (offsets.get_offset(tr, G, T, 2), set(offsets.list_halts(tr, G, T)))
        ) == (
            500,
            {2},
        )

    done = run_cli(env, *args, "--yes")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["dry_run"] is False
    with open_engine(_url(kv)) as engine:
        assert engine.read(lambda tr: (offsets.get_offset(tr, G, T, 2), offsets.list_halts(tr, G, T))) == (
            6,
            {},
        )


def test_reset_needs_exactly_one_target(tmp_path: Path) -> None:
    env = store_env(tmp_path / "kv", tmp_path / "blobs")
    result = run_cli(env, "offsets", "reset", "--partition", "0", "--json")
    assert result.returncode == 2
    assert "exactly one of" in json.loads(result.stdout)["error"]


def test_status_of_each_partition() -> None:
    halt = offsets.PartitionHalt(90, 3, "the log ends before offset 3", 1.0)
    rows = partition_offsets(
        {0: 10, 1: 90, 2: 40},
        {1: halt},
        {0: LogBounds(0, 11), 1: LogBounds(0, 3), 2: LogBounds(0, 40), 3: LogBounds(0, 0)},
    )
    assert [(r.partition, r.applied, r.status) for r in rows] == [
        (0, 10, "ok"),
        (1, 90, "halted"),
        (2, 40, "ahead-of-log"),
        (3, None, "ok"),
    ]
