"""Consumer offsets: per (group, topic, partition), never moving backwards, committed with the data."""

from __future__ import annotations

import pytest
from store_bookkeeping_fixtures import Boom, all_keys, kv

from matyan_store.engine import Engine, Transaction
from matyan_store.keys import Subspace
from matyan_store.offsets import (
    PartitionHalt,
    get_halt,
    get_offset,
    halt_partition,
    list_halts,
    list_offsets,
    reset_offsets,
    set_offset,
)

__all__ = ["kv"]

G, T = "ingest", "data-ingestion"


def test_missing_offset_is_none(kv: Engine) -> None:
    assert kv.read(lambda tr: get_offset(tr, G, T, 0)) is None
    assert kv.read(lambda tr: list_offsets(tr, G, T)) == {}


def test_offsets_only_move_forward(kv: Engine) -> None:
    kv.transact(lambda tr: set_offset(tr, G, T, 0, 10))
    assert kv.read(lambda tr: get_offset(tr, G, T, 0)) == 10
    kv.transact(lambda tr: set_offset(tr, G, T, 0, 7))  # a zombie's or a replay's older batch
    assert kv.read(lambda tr: get_offset(tr, G, T, 0)) == 10
    kv.transact(lambda tr: set_offset(tr, G, T, 0, 10))
    kv.transact(lambda tr: set_offset(tr, G, T, 0, 11))
    assert kv.read(lambda tr: get_offset(tr, G, T, 0)) == 11
    kv.transact(lambda tr: set_offset(tr, G, T, 0, 0))
    assert kv.read(lambda tr: get_offset(tr, G, T, 0)) == 11


def test_offset_zero_and_large_offsets(kv: Engine) -> None:
    kv.transact(lambda tr: set_offset(tr, G, T, 1, 0))
    assert kv.read(lambda tr: get_offset(tr, G, T, 1)) == 0  # "offset 0 applied", not "nothing applied"
    big = 2**63 - 1
    kv.transact(lambda tr: set_offset(tr, G, T, 2, 2**40))
    kv.transact(lambda tr: set_offset(tr, G, T, 2, big))
    kv.transact(lambda tr: set_offset(tr, G, T, 2, 2**40 + 1))
    assert kv.read(lambda tr: get_offset(tr, G, T, 2)) == big


def test_read_your_write_in_one_transaction(kv: Engine) -> None:
    def apply(tr: Transaction) -> tuple[int | None, int | None]:
        before = get_offset(tr, G, T, 0)
        set_offset(tr, G, T, 0, 5)
        set_offset(tr, G, T, 0, 3)
        return before, get_offset(tr, G, T, 0)

    assert kv.transact(apply) == (None, 5)


def test_list_by_group_and_topic(kv: Engine) -> None:
    def setup(tr: Transaction) -> None:
        set_offset(tr, G, T, 0, 5)
        set_offset(tr, G, T, 3, 9)
        set_offset(tr, G, T, 12, 1)
        set_offset(tr, G, "control-events", 0, 100)
        set_offset(tr, "other-group", T, 0, 200)
        set_offset(tr, G + "x", T, 0, 300)  # a group whose name extends G stays separate

    kv.transact(setup)
    assert kv.read(lambda tr: list_offsets(tr, G, T)) == {0: 5, 3: 9, 12: 1}
    assert kv.read(lambda tr: list_offsets(tr, G, "control-events")) == {0: 100}
    assert kv.read(lambda tr: list_offsets(tr, "other-group", T)) == {0: 200}
    assert kv.read(lambda tr: get_offset(tr, G + "x", T, 0)) == 300


def test_offset_rolls_back_with_the_data(kv: Engine) -> None:
    data = Subspace(("offsets-test-data",))
    kv.transact(lambda tr: set_offset(tr, G, T, 0, 4))

    def batch(tr: Transaction) -> None:
        tr.set(data.pack(("point", 5)), b"x")
        set_offset(tr, G, T, 0, 5)
        raise Boom  # the batch fails after writing both

    with pytest.raises(Boom):
        kv.transact(batch)
    assert kv.read(lambda tr: get_offset(tr, G, T, 0)) == 4
    assert kv.read(lambda tr: tr.get(data.pack(("point", 5)))) is None


def test_reset_is_the_only_way_back(kv: Engine) -> None:
    def setup(tr: Transaction) -> None:
        set_offset(tr, G, T, 0, 50)
        set_offset(tr, G, T, 1, 60)
        set_offset(tr, G, "other", 0, 70)

    kv.transact(setup)
    kv.transact(lambda tr: reset_offsets(tr, G, T, 1))
    assert kv.read(lambda tr: list_offsets(tr, G, T)) == {0: 50}
    kv.transact(lambda tr: set_offset(tr, G, T, 1, 3))
    assert kv.read(lambda tr: get_offset(tr, G, T, 1)) == 3
    kv.transact(lambda tr: reset_offsets(tr, G, T))
    assert kv.read(lambda tr: list_offsets(tr, G, T)) == {}
    assert kv.read(lambda tr: get_offset(tr, G, "other", 0)) == 70


@pytest.mark.parametrize(("partition", "offset"), [(0, -1), (-1, 0), (0, 2**63), (True, 1), (0, 1.5)])
def test_bad_partition_or_offset_is_refused(kv: Engine, partition: int, offset: int) -> None:
    with pytest.raises(ValueError, match=r"partition|offset"):
        kv.transact(lambda tr: set_offset(tr, G, T, partition, offset))
    assert all_keys(kv) == []


def test_reset_to_a_next_offset_moves_back_and_lifts_the_halt(kv: Engine) -> None:
    def setup(tr: Transaction) -> None:
        set_offset(tr, G, T, 0, 500)
        set_offset(tr, G, T, 1, 70)
        halt_partition(tr, G, T, 0, applied=500, log_offset=12, reason="log end below", at=1.5)

    kv.transact(setup)
    assert kv.read(lambda tr: get_halt(tr, G, T, 0)) == PartitionHalt(500, 12, "log end below", 1.5)
    assert kv.read(lambda tr: list_halts(tr, G, T)) == {0: PartitionHalt(500, 12, "log end below", 1.5)}
    # A halt is not an offset.
    assert kv.read(lambda tr: list_offsets(tr, G, T)) == {0: 500, 1: 70}

    kv.transact(lambda tr: reset_offsets(tr, G, T, 0, next_offset=3))
    assert kv.read(lambda tr: get_offset(tr, G, T, 0)) == 2
    assert kv.read(lambda tr: get_halt(tr, G, T, 0)) is None
    assert kv.read(lambda tr: get_offset(tr, G, T, 1)) == 70

    kv.transact(lambda tr: halt_partition(tr, G, T, 1, applied=70, log_offset=0, reason="r", at=2.0))
    kv.transact(lambda tr: reset_offsets(tr, G, T, 1))
    assert kv.read(lambda tr: (get_offset(tr, G, T, 1), list_halts(tr, G, T))) == (None, {})


def test_reset_to_a_next_offset_needs_a_partition(kv: Engine) -> None:
    with pytest.raises(ValueError, match="partition"):
        kv.transact(lambda tr: reset_offsets(tr, G, T, next_offset=5))
    with pytest.raises(ValueError, match="next_offset"):
        kv.transact(lambda tr: reset_offsets(tr, G, T, 0, next_offset=-1))
