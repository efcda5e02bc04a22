"""`matyan-backend dead-letters list|show|replay|purge` as a real process against an LMDB store on disk."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from ops_store_fixtures import Place, make_place, open_at
from test_ops_cli_jobs import run_cli, store_env

from matyan_store import deadletters
from matyan_store.engine import Engine, Transaction

TOPIC = "data-ingestion"
T0 = datetime(2026, 3, 1, tzinfo=UTC).timestamp()


def _add(engine: Engine, partition: int, offset: int, reason: str, at: float, value: bytes = b"{}") -> str:
    return engine.transact(
        partial(
            deadletters.add_dead_letter,
            topic=TOPIC,
            partition=partition,
            offset=offset,
            key=b"run-1",
            value=value,
            reason=reason,
            error_type="validation",
            at=at,
        )
    )


def _letters(place: Place) -> tuple[str, str, str]:
    with open_at(place) as engine:
        return (
            _add(engine, 0, 5, "unknown type 'teleport'", T0, b'{"type": "teleport"}'),
            _add(engine, 1, 9, "apply failed: boom", T0 + 3600, b"\xff\xfe raw"),
            _add(engine, 1, 10, "unknown type 'warp'", T0 + 7200),
        )


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    summary: dict[str, object] = json.loads(result.stdout)
    return summary


def _ids(summary: dict[str, object]) -> list[str]:
    letters = summary["dead_letters"]
    assert isinstance(letters, list)
    return [d["id"] for d in letters]


def test_list_filters_by_reason_partition_and_time(tmp_path: Path) -> None:
    place = make_place(tmp_path, "s")
    a, b, c = _letters(place)
    env = store_env(place.kv, place.blobs)
    everything = _json(run_cli(env, "dead-letters", "list", "--json"))
    assert _ids(everything) == [a, b, c]
    assert everything["total"] == 3
    assert _ids(_json(run_cli(env, "dead-letters", "list", "--json", "--reason", "UNKNOWN TYPE"))) == [a, c]
    assert _ids(_json(run_cli(env, "dead-letters", "list", "--json", "--partition", "1"))) == [b, c]
    window = ["--since", "2026-03-01T00:30:00+00:00", "--until", "2026-03-01T02:00:00+00:00"]
    assert _ids(_json(run_cli(env, "dead-letters", "list", "--json", *window))) == [b]
    assert _ids(_json(run_cli(env, "dead-letters", "list", "--json", "--limit", "1"))) == [a]
    human = run_cli(env, "dead-letters", "list", "--partition", "0")
    assert human.returncode == 0
    assert a in human.stdout
    assert b not in human.stdout
    assert run_cli(env, "dead-letters", "list", "--since", "yesterday").returncode == 2


def test_show_prints_one_letter_raw(tmp_path: Path) -> None:
    place = make_place(tmp_path, "s")
    a, b, _ = _letters(place)
    env = store_env(place.kv, place.blobs)
    shown = _json(run_cli(env, "dead-letters", "show", b, "--json"))["dead_letter"]
    assert isinstance(shown, dict)
    assert (shown["topic"], shown["partition"], shown["offset"], shown["key"]) == (TOPIC, 1, 9, "run-1")
    assert shown["reason"] == "apply failed: boom"
    assert shown["value"] is None  # not UTF-8: only the base64 form
    assert base64.b64decode(shown["value_base64"]) == b"\xff\xfe raw"
    human = run_cli(env, "dead-letters", "show", a)
    assert human.returncode == 0
    assert '{"type": "teleport"}' in human.stdout
    assert "data-ingestion" in human.stdout
    assert run_cli(env, "dead-letters", "show", "00ff").returncode == 1


def test_purge_is_a_dry_run_until_yes(tmp_path: Path) -> None:
    place = make_place(tmp_path, "s")
    a, b, c = _letters(place)
    env = store_env(place.kv, place.blobs)
    dry = _json(run_cli(env, "dead-letters", "purge", "--partition", "1", "--json"))
    assert (dry["dry_run"], dry["matched"], dry["deleted"]) == (True, 2, 0)
    assert _ids(_json(run_cli(env, "dead-letters", "list", "--json"))) == [a, b, c]
    done = _json(
        run_cli(env, "dead-letters", "purge", "--partition", "1", "--reason", "warp", "--yes", "--json")
    )
    assert (done["dry_run"], done["deleted"], done["ids"]) == (False, 1, [c])
    assert _json(run_cli(env, "dead-letters", "purge", a, "--yes", "--json"))["deleted"] == 1
    assert _ids(_json(run_cli(env, "dead-letters", "list", "--json"))) == [b]


def test_replay_requests_and_waits_for_the_worker(tmp_path: Path) -> None:
    place = make_place(tmp_path, "s")
    a, b, c = _letters(place)
    env = store_env(place.kv, place.blobs)
    assert run_cli(env, "dead-letters", "replay").returncode == 2  # neither ids nor filters
    requested = _json(run_cli(env, "dead-letters", "replay", "--reason", "unknown type", "--json"))
    assert requested["requested"] == [a, c]
    with open_at(place) as engine:
        assert [d.id for d in engine.read(lambda tr: deadletters.replay_requested(tr, TOPIC, 0))] == [a]
        assert [d.id for d in engine.read(lambda tr: deadletters.replay_requested(tr, TOPIC, 1))] == [c]

    # Waiting: the ingest worker's side is played here by hand, in the store the command polls.
    waiting = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from matyan_ops.cli import main; main()",
            "dead-letters",
            "replay",
            a,
            b,
            "--wait",
            "60",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    try:
        with open_at(place) as engine:
            for _ in range(600):  # until the command recorded its requests
                if len(engine.read(lambda tr: deadletters.replay_requested(tr, TOPIC, 1))) == 2:
                    break
                time.sleep(0.05)

            def worker(tr: Transaction) -> None:
                deadletters.remove_dead_letter(tr, a)  # applied
                deadletters.remove_dead_letter(tr, b)  # failed again: a new letter, same place
                deadletters.add_dead_letter(
                    tr,
                    topic=TOPIC,
                    partition=1,
                    offset=9,
                    key=b"run-1",
                    value=b"\xff\xfe raw",
                    reason="apply failed: still boom",
                    error_type="unknown",
                    at=T0 + 9000,
                )

            engine.transact(worker)
        out, err = waiting.communicate(timeout=120)
    finally:
        waiting.kill()
    assert waiting.returncode == 1, err
    summary = json.loads(out)
    assert summary["requested"] == [a, b]
    assert summary["applied"] == 1
    assert summary["pending"] == []
    [again] = summary["failed_again"]
    assert (again["partition"], again["offset"], again["reason"]) == (1, 9, "apply failed: still boom")
