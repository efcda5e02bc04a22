"""Tuple encoding and the Subspace helper (matyan_store.keys)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from matyan_store import keys
from matyan_store.keys import Subspace, pack, prefix_range, strinc, unpack


def test_pack_round_trips_every_supported_type() -> None:
    item = (None, b"\x00\xff", "é", -(2**70), 0, 2**70, -1.5, True, (1, ("x", None)))
    assert unpack(pack(item)) == item


def test_subspace_pack_unpack_and_contains() -> None:
    runs = Subspace(("runs",))
    key = runs.pack(("abc", 3))

    assert key.startswith(runs.key)
    assert runs.contains(key)
    assert runs.unpack(key) == ("abc", 3)
    assert runs["abc"].unpack(key) == (3,)
    assert runs.subspace(("abc",)) == runs["abc"]
    with pytest.raises(ValueError, match="not in subspace"):
        Subspace(("other",)).unpack(key)


def test_subspace_range_holds_children_but_not_the_prefix_itself() -> None:
    sub = Subspace(("s",))
    begin, end = sub.range(("a",))

    assert begin <= sub.pack(("a", None)) < end
    assert begin <= sub.pack(("a", 2**80, "z")) < end
    assert not begin <= sub.pack(("a",)) < end
    assert not begin <= sub.pack(("b",)) < end
    whole_begin, whole_end = sub.prefix_range()
    assert whole_begin == sub.key
    assert whole_begin <= sub.pack(("a",)) < whole_end


def test_raw_prefix_goes_before_the_tuple_part() -> None:
    assert Subspace(("x",), raw_prefix=b"dep").pack((1,)) == b"dep" + pack(("x", 1))


def test_strinc_and_prefix_range() -> None:
    assert strinc(b"ab") == b"ac"
    assert strinc(b"a\xff\xff") == b"b"
    with pytest.raises(ValueError, match="no key follows"):
        strinc(b"\xff")
    assert prefix_range(b"") == (b"", b"\xff")
    assert prefix_range(b"p") == (b"p", b"q")


def test_top_level_subspaces_are_distinct_and_disjoint() -> None:
    tops = [
        keys.RUNS,
        keys.SERIES,
        keys.ENTITIES,
        keys.INDEXES,
        keys.SYSTEM,
        keys.OFFSETS,
        keys.LOCKS,
        keys.DEADLETTERS,
        keys.TOMBSTONES,
    ]
    prefixes = [t.key for t in tops]
    assert len(set(prefixes)) == len(prefixes)
    for a in prefixes:
        for b in prefixes:
            assert a == b or not b.startswith(a)


def test_key_encoding_needs_no_fdb_client_library() -> None:
    code = (
        "import sys; import matyan_store, matyan_store.keys, matyan_store.engine; "
        "assert matyan_store.keys.pack((1,)) == b'\\x15\\x01'; "
        "assert 'fdb.impl' not in sys.modules, 'fdb.impl loaded'; "
        "import fdb; assert not fdb.is_api_version_selected()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
