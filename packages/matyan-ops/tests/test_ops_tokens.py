"""``matyan-backend tokens create|list|revoke`` through the real command line, against an LMDB store."""

from __future__ import annotations

import json
from pathlib import Path

from test_ops_cli_jobs import run_cli, store_env

from matyan_store import tokens
from matyan_store.engine import open_engine


def test_create_list_revoke(tmp_path: Path) -> None:
    env = store_env(tmp_path / "kv", tmp_path / "blobs")
    created = run_cli(env, "tokens", "create", "--name", "ci", "--scope", "write")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    token_id = tokens.token_id_of(token)
    assert token_id is not None
    with open_engine(f"lmdb://{tmp_path / 'kv'}?sync=false") as engine:
        info = engine.read(lambda tr: tokens.verify_token(tr, token))
    assert info is not None
    assert (info.name, info.scope) == ("ci", "write")

    listed = run_cli(env, "tokens", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(t["token_id"], t["name"], t["scope"]) for t in json.loads(listed.stdout)] == [
        (token_id, "ci", "write")
    ]
    assert token not in listed.stdout

    assert run_cli(env, "tokens", "create", "--name", "x", "--scope", "root").returncode != 0
    assert run_cli(env, "tokens", "revoke", token_id).returncode == 0
    again = run_cli(env, "tokens", "revoke", token_id)
    assert again.returncode == 2
    assert "no token" in again.stderr
    assert json.loads(run_cli(env, "tokens", "list", "--json").stdout) == []
