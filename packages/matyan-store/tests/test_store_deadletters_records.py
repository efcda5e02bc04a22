"""Dead letters: arbitrary bytes round trip, order by failure time, paging, removal, count, truncation."""

from __future__ import annotations

import os
from functools import partial

import pytest
from store_bookkeeping_fixtures import Boom, all_keys, kv

from matyan_store.deadletters import (
    MAX_KEY_BYTES,
    MAX_REASON_CHARS,
    DeadLetter,
    add_dead_letter,
    count_dead_letters,
    get_dead_letter,
    list_dead_letters,
    remove_dead_letter,
    replay_requested,
    request_replay,
)
from matyan_store.engine import Engine, Transaction
from matyan_store.values import encode_value

__all__ = ["kv"]

TOPIC = "data-ingestion"


def add(kv: Engine, offset: int, at: float, value: bytes = b"v", key: bytes | None = b"run-1") -> str:
    return kv.transact(
        lambda tr: add_dead_letter(
            tr,
            topic=TOPIC,
            partition=0,
            offset=offset,
            key=key,
            value=value,
            reason="bad payload",
            error_type="ValidationError",
            at=at,
        )
    )


def test_arbitrary_bytes_round_trip(kv: Engine) -> None:
    raw = bytes(range(256)) * 3 + os.urandom(1000) + b"\x00\xff"
    dl_id = kv.transact(
        lambda tr: add_dead_letter(
            tr,
            topic=TOPIC,
            partition=3,
            offset=42,
            key=b"\x00\xffkey",
            value=raw,
            reason="json: unexpected byte 0xff ✗",
            error_type="JSONDecodeError",
            at=1700000000.25,
        )
    )
    got = kv.read(lambda tr: get_dead_letter(tr, dl_id))
    assert got == DeadLetter(
        id=dl_id,
        topic=TOPIC,
        partition=3,
        offset=42,
        key=b"\x00\xffkey",
        value=raw,
        reason="json: unexpected byte 0xff ✗",
        error_type="JSONDecodeError",
        at=1700000000.25,
        truncated=False,
        key_size=5,
        value_size=len(raw),
    )
    assert got.to_dict()["value"] == raw
    none_key = add(kv, 43, 1700000001.0, key=None, value=b"")
    got_none = kv.read(lambda tr: get_dead_letter(tr, none_key))
    assert got_none is not None
    assert got_none.key is None
    assert got_none.value == b""


def test_listed_oldest_first_with_paging(kv: Engine) -> None:
    # Added out of time order: listing follows the failure time, not the insertion order.
    ids = {at: add(kv, offset, at) for offset, at in [(5, 30.0), (1, 10.0), (9, 20.0), (2, 40.0)]}
    listed = kv.read(lambda tr: list_dead_letters(tr, 10))
    assert [d.at for d in listed] == [10.0, 20.0, 30.0, 40.0]
    assert [d.id for d in listed] == [ids[10.0], ids[20.0], ids[30.0], ids[40.0]]
    first = kv.read(lambda tr: list_dead_letters(tr, 2))
    assert [d.offset for d in first] == [1, 9]
    rest = kv.read(lambda tr: list_dead_letters(tr, 2, after=first[-1].id))
    assert [d.offset for d in rest] == [5, 2]
    assert kv.read(lambda tr: list_dead_letters(tr, 2, after=rest[-1].id)) == []
    assert len(kv.read(lambda tr: list_dead_letters(tr, 0))) == 4
    with pytest.raises(ValueError, match="not a dead letter id"):
        kv.read(lambda tr: list_dead_letters(tr, 2, after="zz"))


def test_same_time_orders_by_partition_and_offset(kv: Engine) -> None:
    def batch(tr: Transaction) -> None:
        for partition, offset in [(1, 7), (0, 9), (0, 3)]:
            add_dead_letter(
                tr,
                topic=TOPIC,
                partition=partition,
                offset=offset,
                key=None,
                value=b"x",
                reason="r",
                error_type="E",
                at=50.0,
            )

    kv.transact(batch)
    listed = kv.read(lambda tr: list_dead_letters(tr, 10))
    assert [(d.partition, d.offset) for d in listed] == [(0, 3), (0, 9), (1, 7)]
    assert kv.read(count_dead_letters) == 3


def test_remove_and_count(kv: Engine) -> None:
    a, b = add(kv, 1, 1.0), add(kv, 2, 2.0)
    assert kv.read(count_dead_letters) == 2
    assert kv.transact(lambda tr: remove_dead_letter(tr, a))
    assert kv.read(lambda tr: get_dead_letter(tr, a)) is None
    assert [d.id for d in kv.read(lambda tr: list_dead_letters(tr, 10))] == [b]
    assert kv.read(count_dead_letters) == 1
    assert not kv.transact(lambda tr: remove_dead_letter(tr, a))
    assert not kv.transact(lambda tr: remove_dead_letter(tr, "not-hex"))
    assert kv.read(count_dead_letters) == 1
    assert kv.transact(lambda tr: remove_dead_letter(tr, b))
    assert kv.read(count_dead_letters) == 0


def test_same_message_added_twice_is_one_record(kv: Engine) -> None:
    # A retried transaction passes the same arguments: it must not count the message twice.
    first = add(kv, 8, 5.0)
    again = add(kv, 8, 5.0)
    assert first == again
    assert kv.read(count_dead_letters) == 1
    assert len(kv.read(lambda tr: list_dead_letters(tr, 10))) == 1


def test_malformed_ids_read_as_missing(kv: Engine) -> None:
    bad_ids = ["", "zz", "00", "0102ff", "not an id at all"]
    assert kv.read(lambda tr: [get_dead_letter(tr, bad) for bad in bad_ids]) == [None] * len(bad_ids)


def test_oversized_message_is_truncated_with_a_flag(kv: Engine) -> None:
    big = os.urandom(300_000)
    long_key = b"k" * (MAX_KEY_BYTES + 10)
    dl_id = kv.transact(
        lambda tr: add_dead_letter(
            tr,
            topic=TOPIC,
            partition=0,
            offset=1,
            key=long_key,
            value=big,
            reason="x" * (MAX_REASON_CHARS + 5),
            error_type="TooBig",
            at=1.0,
        )
    )
    got = kv.read(lambda tr: get_dead_letter(tr, dl_id))
    assert got is not None
    assert got.truncated
    assert got.value_size == len(big)
    assert got.key_size == len(long_key)
    assert 0 < len(got.value) < 100_000
    assert big.startswith(got.value)
    assert got.key == long_key[:MAX_KEY_BYTES]
    assert len(got.reason) == MAX_REASON_CHARS
    # The stored record (every field but the id, which is the key) fits one engine value.
    stored = got.to_dict()
    del stored["id"]
    assert len(encode_value(stored)) <= 100_000


def test_value_just_under_the_limit_is_kept_whole_or_flagged(kv: Engine) -> None:
    for size in (90_000, 99_000, 100_000):
        value = b"\x01" * size
        dl_id = add(kv, size, float(size), value=value)
        got = kv.read(partial(get_dead_letter, dead_letter_id=dl_id))
        assert got is not None
        assert got.truncated == (got.value != value)
        assert value.startswith(got.value)
        assert got.value_size == size
        if size == 90_000:
            assert not got.truncated  # the record's own fields take a few hundred bytes at most
        if size == 100_000:
            assert got.truncated
            assert len(got.value) > 99_000
    assert kv.read(count_dead_letters) == 3


def test_dead_letter_rolls_back_with_its_transaction(kv: Engine) -> None:
    def fails(tr: Transaction) -> None:
        add_dead_letter(
            tr, topic=TOPIC, partition=0, offset=1, key=None, value=b"x", reason="r", error_type="E", at=1.0
        )
        raise Boom

    with pytest.raises(Boom):
        kv.transact(fails)
    assert all_keys(kv) == []
    assert kv.read(count_dead_letters) == 0


def test_replay_requests_per_partition_cleared_with_the_letter(kv: Engine) -> None:
    first, second = add(kv, 1, 10.0), add(kv, 2, 11.0)
    other = kv.transact(
        partial(
            add_dead_letter,
            topic=TOPIC,
            partition=3,
            offset=1,
            key=None,
            value=b"x",
            reason="r",
            error_type="validation",
            at=12.0,
        )
    )
    assert kv.read(lambda tr: replay_requested(tr, TOPIC, 0)) == []
    assert kv.transact(lambda tr: [request_replay(tr, i) for i in (second, first, other)]) == [True] * 3
    assert kv.transact(lambda tr: request_replay(tr, "zz")) is False
    assert [d.id for d in kv.read(lambda tr: replay_requested(tr, TOPIC, 0))] == [first, second]
    assert [d.id for d in kv.read(lambda tr: replay_requested(tr, TOPIC, 3))] == [other]
    assert kv.transact(lambda tr: remove_dead_letter(tr, first)) is True
    assert [d.id for d in kv.read(lambda tr: replay_requested(tr, TOPIC, 0))] == [second]
    assert kv.transact(lambda tr: request_replay(tr, first)) is False  # gone: nothing to replay
