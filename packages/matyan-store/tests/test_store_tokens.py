"""API tokens: stored as digests, verified by exact match, listed, revoked; the shared session key."""

from __future__ import annotations

from functools import partial

import pytest
from store_lmdb_fixture import lmdb_engine

from matyan_store import tokens
from matyan_store.engine import Engine

__all__ = ["lmdb_engine"]


def test_created_token_verifies_and_nothing_else_does(lmdb_engine: Engine) -> None:
    token = tokens.new_token()
    info = lmdb_engine.transact(lambda tr: tokens.create_token(tr, token, name="ci", scope="write", at=5.0))
    assert info == tokens.TokenInfo(tokens.token_id_of(token) or "", "ci", "write", 5.0)
    assert lmdb_engine.read(lambda tr: tokens.verify_token(tr, token)) == info
    # Same id, one secret digit changed: the digest differs.
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    for wrong in (forged, "", "mty_nothex", token + "0", tokens.new_token()):
        assert lmdb_engine.read(partial(tokens.verify_token, token=wrong)) is None


def test_store_holds_only_the_digest(lmdb_engine: Engine) -> None:
    token = tokens.new_token()
    lmdb_engine.transact(lambda tr: tokens.create_token(tr, token, name="n", scope="read"))
    secret = token.rsplit("_", 1)[1].encode()
    everything = lmdb_engine.read(lambda tr: list(tr.get_range(b"", b"\xff")))
    assert everything
    assert all(secret not in key and secret not in value for key, value in everything)


def test_list_and_revoke(lmdb_engine: Engine) -> None:
    made = [tokens.new_token() for _ in range(3)]
    for i, token in enumerate(made):
        lmdb_engine.transact(partial(tokens.create_token, token=token, name=f"t{i}", scope="admin"))
    listed = lmdb_engine.read(tokens.list_tokens)
    assert sorted(t.name for t in listed) == ["t0", "t1", "t2"]
    victim = tokens.token_id_of(made[1]) or ""
    assert lmdb_engine.transact(lambda tr: tokens.revoke_token(tr, victim)) is True
    assert lmdb_engine.transact(lambda tr: tokens.revoke_token(tr, victim)) is False
    assert lmdb_engine.read(lambda tr: tokens.verify_token(tr, made[1])) is None
    assert lmdb_engine.read(lambda tr: tokens.verify_token(tr, made[0])) is not None
    assert sorted(t.name for t in lmdb_engine.read(tokens.list_tokens)) == ["t0", "t2"]


def test_bad_input_is_refused(lmdb_engine: Engine) -> None:
    token = tokens.new_token()
    with pytest.raises(ValueError, match="scope"):
        lmdb_engine.transact(lambda tr: tokens.create_token(tr, token, name="x", scope="root"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="new_token"):
        lmdb_engine.transact(lambda tr: tokens.create_token(tr, "secret", name="x", scope="read"))
    lmdb_engine.transact(lambda tr: tokens.create_token(tr, token, name="x", scope="read"))
    with pytest.raises(ValueError, match="in use"):
        lmdb_engine.transact(lambda tr: tokens.create_token(tr, token, name="y", scope="read"))


@pytest.mark.parametrize(
    ("granted", "required", "allowed"),
    [
        ("read", "read", True),
        ("read", "write", False),
        ("write", "read", True),
        ("write", "admin", False),
        ("admin", "write", True),
    ],
)
def test_scopes_are_levels(granted: tokens.Scope, required: tokens.Scope, allowed: bool) -> None:
    assert tokens.scope_allows(granted, required) is allowed


def test_session_key_is_created_once(lmdb_engine: Engine) -> None:
    first = lmdb_engine.transact(tokens.get_or_create_session_key)
    assert len(first) == 32
    assert lmdb_engine.transact(tokens.get_or_create_session_key) == first


def test_get_token_by_id(lmdb_engine: Engine) -> None:
    token = tokens.new_token()
    info = lmdb_engine.transact(lambda tr: tokens.create_token(tr, token, name="ui", scope="read"))
    assert lmdb_engine.read(lambda tr: tokens.get_token(tr, info.token_id)) == info
    assert lmdb_engine.read(lambda tr: tokens.get_token(tr, "000000000000")) is None
