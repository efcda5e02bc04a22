"""Nested values (run attributes) stored one key per node, so a subtree reads, replaces or merges alone.

Every node of the tree has its own key ``sub.pack(path)``: a container node holds a one-byte marker
(dict or list) and a leaf holds ``b"v"`` followed by the encoded scalar. Children extend their parent's
path by the dict key or the list index. Because the container says what it is, a dict whose keys are
ints reads back as a dict and a list as a list (the reference lost that distinction).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.keys import Subspace
from matyan_store.values import decode_value, encode_value

__all__ = ["TreeValueError", "tree_delete", "tree_get", "tree_keys", "tree_merge", "tree_set"]

_DICT = b"d"
_LIST = b"l"
_LEAF = b"v"

PathT = tuple[Any, ...]
_KEY_TYPES = (str, int, float, bool, type(None))


class TreeValueError(ValueError):
    """A value that cannot be stored as a tree (unsupported dict key type, ...)."""


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _write(tr: Transaction, sub: Subspace, path: PathT, value: Any) -> None:
    if isinstance(value, Mapping):
        tr.set(sub.pack(path), _DICT)
        for key, child in value.items():
            if not isinstance(key, _KEY_TYPES):
                raise TreeValueError(
                    f"attribute keys must be str, int, float, bool or None, not {type(key).__name__}"
                )
            _write(tr, sub, (*path, key), child)
    elif _is_list(value):
        tr.set(sub.pack(path), _LIST)
        for index, child in enumerate(value):
            _write(tr, sub, (*path, index), child)
    else:
        tr.set(sub.pack(path), _LEAF + encode_value(value))


def tree_set(tr: Transaction, sub: Subspace, path: PathT, value: Any) -> None:
    """Replace the node at ``path`` (and everything below it) with ``value``.

    Parents that do not exist yet are created as dicts, so ``tree_set(("a", "b"), 1)`` on an empty
    tree gives ``{"a": {"b": 1}}``.
    """
    _ensure_parents(tr, sub, path)
    tree_delete(tr, sub, path)
    _write(tr, sub, path, value)


def tree_merge(tr: Transaction, sub: Subspace, path: PathT, value: Mapping[str, Any]) -> None:
    """Deep-merge the dict ``value`` into the node at ``path``: dicts merge by key, the rest replaces."""
    marker = tr.get(sub.pack(path))
    if marker != _DICT:
        tree_set(tr, sub, path, value)
        return
    for key, child in value.items():
        if isinstance(child, Mapping):
            tree_merge(tr, sub, (*path, key), child)
        else:
            tree_set(tr, sub, (*path, key), child)


def _ensure_parents(tr: Transaction, sub: Subspace, path: PathT) -> None:
    for depth in range(len(path)):
        parent = path[:depth]
        marker = tr.get(sub.pack(parent))
        if marker in (_DICT, _LIST):
            continue
        # A missing or scalar parent becomes a dict holding only the new child.
        tree_delete(tr, sub, parent)
        tr.set(sub.pack(parent), _DICT)


def tree_delete(tr: Transaction, sub: Subspace, path: PathT) -> None:
    """Remove the node at ``path`` and its subtree (nothing happens if it is absent)."""
    tr.clear(sub.pack(path))
    begin, end = sub.range(path)
    tr.clear_range(begin, end)


def tree_get(tr: ReadTransaction, sub: Subspace, path: PathT = ()) -> Any:
    """The value at ``path``, rebuilt from its nodes; ``None`` if there is no node there."""
    root = tr.get(sub.pack(path))
    if root is None:
        return None
    if root.startswith(_LEAF):
        return decode_value(root[1:])
    base = len(path)
    top: dict[Any, Any] | list[Any] = {} if root == _DICT else []
    # Nodes come in key order, so a parent always precedes its children; track the open containers.
    stack: list[tuple[PathT, dict[Any, Any] | list[Any]]] = [((), top)]
    begin, end = sub.range(path)
    for key, raw in tr.get_range(begin, end):
        rel = sub.unpack(key)[base:]
        while stack[-1][0] != rel[:-1]:
            stack.pop()
        container = stack[-1][1]
        node: Any
        if raw == _DICT:
            node = {}
        elif raw == _LIST:
            node = []
        else:
            node = decode_value(raw[1:])
        if isinstance(container, dict):
            container[rel[-1]] = node
        else:
            index = rel[-1]
            container.extend([None] * (index + 1 - len(container)))
            container[index] = node
        if isinstance(node, dict | list):
            stack.append((rel, node))
    return top


def tree_keys(tr: ReadTransaction, sub: Subspace, path: PathT = ()) -> list[Any]:
    """The child keys of the container at ``path`` (dict keys or list indexes), in key order."""
    keys: list[Any] = []
    begin, end = sub.range(path)
    depth = len(path)
    while True:
        rows = list(tr.get_range(begin, end, limit=1))
        if not rows:
            return keys
        child = sub.unpack(rows[0][0])[depth]
        keys.append(child)
        # Skip the child's whole subtree: everything after its own key and below it.
        begin = sub.range((*path, child))[1]
