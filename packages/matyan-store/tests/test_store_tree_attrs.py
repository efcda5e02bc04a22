"""The attribute tree: values read back exactly as written; subtrees replace, merge and list alone."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from store_lmdb_fixture import lmdb_engine

from matyan_store.engine import Engine, Transaction
from matyan_store.keys import Subspace
from matyan_store.tree import tree_delete, tree_get, tree_keys, tree_merge, tree_set

__all__ = ["lmdb_engine"]

SUB = Subspace(("tree-test",))

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=20)
)
keys = st.text(max_size=8) | st.integers(min_value=-5, max_value=5)
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)


def _set(engine: Engine, path: tuple[Any, ...], value: Any) -> None:
    def write(tr: Transaction) -> None:
        tree_set(tr, SUB, path, value)

    engine.transact(write)


def _sort_dicts(value: Any) -> Any:
    # Dict keys come back in key order; compare contents, not insertion order.
    if isinstance(value, dict):
        return {k: _sort_dicts(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sort_dicts(v) for v in value]
    return value


@settings(max_examples=60, deadline=None)
@given(value=values)
def test_round_trip_any_value(tmp_path_factory: Any, value: Any) -> None:
    from matyan_store.engine import open_engine

    engine = open_engine(f"lmdb://{tmp_path_factory.mktemp('kv')}?sync=false&map_size={1 << 26}")
    try:
        _set(engine, ("root",), value)
        assert engine.read(lambda tr: tree_get(tr, SUB, ("root",))) == _sort_dicts(value)
    finally:
        engine.close()


def test_int_keyed_dict_stays_a_dict(lmdb_engine: Engine) -> None:
    _set(lmdb_engine, ("x",), {0: "a", 1: "b"})
    _set(lmdb_engine, ("y",), ["a", "b"])
    assert lmdb_engine.read(lambda tr: tree_get(tr, SUB, ("x",))) == {0: "a", 1: "b"}
    assert lmdb_engine.read(lambda tr: tree_get(tr, SUB, ("y",))) == ["a", "b"]


def test_subtree_replace_leaves_siblings(lmdb_engine: Engine) -> None:
    _set(lmdb_engine, (), {"hparams": {"lr": 0.1, "bs": 32}, "ab": 1, "a": {"deep": [1, 2]}})
    _set(lmdb_engine, ("hparams",), {"lr": 0.2})
    _set(lmdb_engine, ("a", "deep", 1), "two")
    assert lmdb_engine.read(lambda tr: tree_get(tr, SUB)) == {
        "a": {"deep": [1, "two"]},
        "ab": 1,
        "hparams": {"lr": 0.2},
    }


def test_set_below_missing_or_scalar_parent_creates_dicts(lmdb_engine: Engine) -> None:
    _set(lmdb_engine, ("p",), 5)
    _set(lmdb_engine, ("p", "q", "r"), 1)
    assert lmdb_engine.read(lambda tr: tree_get(tr, SUB, ("p",))) == {"q": {"r": 1}}


def test_merge_and_delete_and_keys(lmdb_engine: Engine) -> None:
    _set(lmdb_engine, ("cfg",), {"a": 1, "b": {"c": 2, "d": 3}})

    def merge(tr: Transaction) -> None:
        tree_merge(tr, SUB, ("cfg",), {"b": {"d": 4, "e": 5}, "f": 6})

    lmdb_engine.transact(merge)
    assert lmdb_engine.read(lambda tr: tree_get(tr, SUB, ("cfg",))) == {
        "a": 1,
        "b": {"c": 2, "d": 4, "e": 5},
        "f": 6,
    }
    assert lmdb_engine.read(lambda tr: tree_keys(tr, SUB, ("cfg",))) == ["a", "b", "f"]

    def delete(tr: Transaction) -> None:
        tree_delete(tr, SUB, ("cfg", "b"))

    lmdb_engine.transact(delete)
    assert lmdb_engine.read(lambda tr: tree_get(tr, SUB, ("cfg",))) == {"a": 1, "f": 6}
    assert lmdb_engine.read(lambda tr: tree_get(tr, SUB, ("missing",))) is None


def test_empty_containers_round_trip(lmdb_engine: Engine) -> None:
    _set(lmdb_engine, ("e",), {"d": {}, "l": [], "n": None})
    assert lmdb_engine.read(lambda tr: tree_get(tr, SUB, ("e",))) == {"d": {}, "l": [], "n": None}
