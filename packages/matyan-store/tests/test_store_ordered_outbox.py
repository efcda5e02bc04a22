"""The ordered outbox: per-subject queues appended with the caller's writes, cleared conditionally."""

from __future__ import annotations

import pytest
from store_bookkeeping_fixtures import Boom, kv

from matyan_store import ordered_outbox as ob
from matyan_store.engine import Engine, Transaction

__all__ = ["kv"]


def test_append_numbers_each_subjects_queue(kv: Engine) -> None:
    def record(tr: Transaction) -> list[ob.OrderedEntry]:
        return [
            ob.append(tr, "ev", "run/a", {"n": 1}, at=1.0),
            ob.append(tr, "ev", "run/b", {"n": 2}, at=2.0),
            ob.append(tr, "ev", "run/a", {"n": 3}, at=3.0),
        ]

    a0, b0, a1 = kv.transact(record)
    assert (a0.seq, b0.seq, a1.seq) == (0, 0, 1)
    listed = kv.read(lambda tr: ob.list_entries(tr, "ev"))
    assert [(e.subject, e.seq, e.payload["n"]) for e in listed] == [
        ("run/a", 0, 1),
        ("run/a", 1, 3),
        ("run/b", 0, 2),
    ]
    assert kv.read(lambda tr: ob.head(tr, "ev", "run/a")) == a0
    assert kv.read(lambda tr: ob.head(tr, "ev", "run/ab")) is None  # no prefix confusion
    assert kv.read(lambda tr: ob.list_entries(tr, "other")) == []
    assert len(kv.read(lambda tr: ob.list_entries(tr, "ev", limit=2))) == 2


def test_clear_only_the_entry_as_recorded(kv: Engine) -> None:
    first = kv.transact(lambda tr: ob.append(tr, "ev", "s", {}, at=1.0))
    assert kv.transact(lambda tr: ob.clear(tr, first)) is True
    assert kv.transact(lambda tr: ob.clear(tr, first)) is False
    # The queue emptied, so the sequence number is reused; a stale listing must not clear the new entry.
    again = kv.transact(lambda tr: ob.append(tr, "ev", "s", {"again": True}, at=2.0))
    assert again.seq == first.seq
    assert kv.transact(lambda tr: ob.clear(tr, first)) is False
    assert kv.read(lambda tr: ob.head(tr, "ev", "s")) == again


def test_seq_follows_the_last_pending_entry(kv: Engine) -> None:
    entries = kv.transact(lambda tr: [ob.append(tr, "ev", "s", {"i": i}) for i in range(3)])
    kv.transact(lambda tr: ob.clear(tr, entries[0]))
    later = kv.transact(lambda tr: ob.append(tr, "ev", "s", {"i": 3}))
    assert later.seq == 3
    assert [e.payload["i"] for e in kv.read(lambda tr: ob.list_entries(tr, "ev"))] == [1, 2, 3]


def test_an_aborted_transaction_records_nothing(kv: Engine) -> None:
    def fail(tr: Transaction) -> None:
        ob.append(tr, "ev", "s", {})
        raise Boom

    with pytest.raises(Boom):
        kv.transact(fail)
    assert kv.read(lambda tr: ob.list_entries(tr, "ev")) == []


def test_empty_subject_is_refused(kv: Engine) -> None:
    with pytest.raises(ValueError, match="subject"):
        kv.transact(lambda tr: ob.append(tr, "ev", "", {}))
