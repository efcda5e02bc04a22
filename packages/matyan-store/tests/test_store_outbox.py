"""The keyed outbox: entries recorded with the caller's writes, listed per kind, cleared conditionally."""

from __future__ import annotations

from functools import partial

import pytest
from store_bookkeeping_fixtures import Boom, kv

from matyan_store import outbox
from matyan_store.engine import Engine, Transaction

__all__ = ["kv"]


def test_record_get_replace_and_clear(kv: Engine) -> None:
    assert kv.read(lambda tr: outbox.get(tr, "delete_run", "r1")) is None
    kv.transact(lambda tr: outbox.record(tr, "delete_run", "r1", {"n": 1, "keys": ["a"]}, at=10.0))
    entry = kv.read(lambda tr: outbox.get(tr, "delete_run", "r1"))
    assert entry == outbox.OutboxEntry("delete_run", "r1", {"n": 1, "keys": ["a"]}, 10.0)
    kv.transact(lambda tr: outbox.record(tr, "delete_run", "r1", {"n": 2}, at=11.0))
    assert kv.read(lambda tr: outbox.get(tr, "delete_run", "r1")) == outbox.OutboxEntry(
        "delete_run", "r1", {"n": 2}, 11.0
    )
    assert kv.transact(lambda tr: outbox.clear(tr, "delete_run", "r1")) is True
    assert kv.transact(lambda tr: outbox.clear(tr, "delete_run", "r1")) is False
    assert kv.read(lambda tr: outbox.get(tr, "delete_run", "r1")) is None


def test_record_without_time_stamps_now(kv: Engine) -> None:
    entry = kv.transact(lambda tr: outbox.record(tr, "k", "x"))
    assert entry.recorded_at > 1_600_000_000
    assert kv.read(lambda tr: outbox.get(tr, "k", "x")) == entry


def test_kinds_are_separate_and_listed_in_key_order(kv: Engine) -> None:
    def fill(tr: Transaction) -> None:
        for key in ["b", "a", "c"]:
            outbox.record(tr, "delete_run", key, {"k": key}, at=1.0)
        outbox.record(tr, "run_deleted", "a", {}, at=2.0)

    kv.transact(fill)
    listed = kv.read(lambda tr: outbox.list_entries(tr, "delete_run"))
    assert [e.key for e in listed] == ["a", "b", "c"]
    assert [e.payload for e in listed] == [{"k": "a"}, {"k": "b"}, {"k": "c"}]
    assert [e.key for e in kv.read(lambda tr: outbox.list_entries(tr, "run_deleted"))] == ["a"]
    assert kv.read(lambda tr: outbox.list_entries(tr, "other")) == []


def test_list_pages_with_limit_and_after(kv: Engine) -> None:
    keys = [f"r{i:02d}" for i in range(7)]
    kv.transact(lambda tr: [outbox.record(tr, "delete_run", k, at=1.0) for k in keys])
    seen: list[str] = []
    after: str | None = None
    while True:
        page = kv.read(partial(outbox.list_entries, kind="delete_run", limit=3, after=after))
        if not page:
            break
        assert len(page) <= 3
        seen.extend(e.key for e in page)
        after = page[-1].key
    assert seen == keys


def test_conditional_clear_keeps_a_newer_entry(kv: Engine) -> None:
    kv.transact(lambda tr: outbox.record(tr, "delete_run", "r1", at=5.0))
    # Recorded again (a second delete) while a drainer was publishing the first one.
    kv.transact(lambda tr: outbox.record(tr, "delete_run", "r1", at=6.0))
    assert kv.transact(lambda tr: outbox.clear(tr, "delete_run", "r1", recorded_at=5.0)) is False
    assert kv.read(lambda tr: outbox.get(tr, "delete_run", "r1")) is not None
    assert kv.transact(lambda tr: outbox.clear(tr, "delete_run", "r1", recorded_at=6.0)) is True
    assert kv.read(lambda tr: outbox.get(tr, "delete_run", "r1")) is None


def test_entry_is_written_only_with_the_callers_transaction(kv: Engine) -> None:
    def fail(tr: Transaction) -> None:
        outbox.record(tr, "delete_run", "r1", at=1.0)
        raise Boom

    with pytest.raises(Boom):
        kv.transact(fail)
    assert kv.read(lambda tr: outbox.list_entries(tr, "delete_run")) == []
