"""A run's own records: meta, attributes, contexts and tag links, read and written as they are stored.

Layout under the ``RUNS`` subspace, per run id:

- ``(run, "m")``: the run's meta as one value (a :class:`RunMeta`), read and written whole;
- ``(run, "a", *path)``: the attribute tree (see :mod:`matyan_store.tree`);
- ``(run, "c", context_id)``: the context dict of each context id;
- ``(run, "t", tag_id)``: the run's tags.

This module keeps no index, count or catalogue in step. Its writers return what they changed (a
:class:`MetaChange`, :class:`AttrsChange` or :class:`TagLinkChange`); :mod:`matyan_store.runs` hands that
to :func:`matyan_store.upkeep.apply` in the same transaction. Reads are the run API's reads, used by
everything above this module.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from matyan_models import context_to_id
from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.keys import RUNS, Subspace
from matyan_store.tree import tree_get, tree_merge, tree_set
from matyan_store.values import decode_value, encode_value

__all__ = [
    "META_FIELDS",
    "AttrsChange",
    "MetaChange",
    "RunExists",
    "RunMeta",
    "RunNotFound",
    "TagLinkChange",
    "attrs_key",
    "clear_run_records",
    "default_run_name",
    "get_context",
    "get_contexts",
    "get_run",
    "get_run_attrs",
    "get_run_tag_ids",
    "get_runs",
    "iter_run_ids",
    "link_tag",
    "merge_attrs",
    "read_meta",
    "set_attrs",
    "set_context",
    "unlink_tag",
    "write_meta",
]

_META = "m"
_ATTRS = "a"
_CONTEXTS = "c"
_TAGS = "t"


class RunNotFound(KeyError):  # noqa: N818 (reads as a statement, like EntityNotFound)
    """The run does not exist (or is being deleted)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id

    def __str__(self) -> str:
        return f"run {self.run_id!r} not found"


class RunExists(ValueError):  # noqa: N818 (reads as a statement, like EntityExists)
    """A run with this id already exists."""


@dataclass(frozen=True, slots=True)
class RunMeta:
    """What the store knows about a run besides its attributes and sequences."""

    run_id: str
    name: str
    description: str = ""
    experiment_id: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    finalized_at: float | None = None
    active: bool = True
    archived: bool = False
    client_start_ts: float | None = None
    duration: float | None = None
    pending_deletion: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The meta as a plain dict (``run_id`` included)."""
        return dataclasses.asdict(self)


META_FIELDS = frozenset(f.name for f in dataclasses.fields(RunMeta)) - {"run_id"}
"""The meta fields a writer may change (all but ``run_id``)."""


@dataclass(frozen=True, slots=True)
class MetaChange:
    """The run's meta went from ``old`` (``None``: the run had none) to ``new``."""

    old: RunMeta | None
    new: RunMeta


@dataclass(frozen=True, slots=True)
class AttrsChange:
    """Attributes of ``run_id`` under the top-level keys ``top_keys`` were written.

    ``hparams``: the write touched the ``hparams`` subtree (the hparam index follows it).
    """

    run_id: str
    top_keys: tuple[Any, ...]
    hparams: bool


@dataclass(frozen=True, slots=True)
class TagLinkChange:
    """The tag ``tag_id`` was linked to (``linked``) or unlinked from the run."""

    run_id: str
    tag_id: str
    linked: bool


def default_run_name(run_id: str) -> str:
    """The name a run gets when its creator gives none."""
    return f"Run: {run_id}"


# --- meta ----------------------------------------------------------------------------------------------


def _meta_key(run_id: str) -> bytes:
    return RUNS.pack((run_id, _META))


def _meta_value(meta: RunMeta) -> bytes:
    fields = meta.to_dict()
    del fields["run_id"]
    return encode_value(fields)


def read_meta(tr: ReadTransaction, run_id: str) -> RunMeta | None:
    """The run's stored meta, pending deletion or not (``None``: the run has none)."""
    raw = tr.get(_meta_key(run_id))
    if raw is None:
        return None
    fields = decode_value(raw)
    return RunMeta(run_id=run_id, **{k: v for k, v in fields.items() if k in META_FIELDS})


def write_meta(tr: Transaction, old: RunMeta | None, meta: RunMeta) -> MetaChange:
    """Store ``meta`` (``old``: what :func:`read_meta` returned in this transaction)."""
    tr.set(_meta_key(meta.run_id), _meta_value(meta))
    return MetaChange(old, meta)


def get_run(tr: ReadTransaction, run_id: str, *, include_pending: bool = False) -> RunMeta | None:
    """The run's meta; ``None`` if it does not exist or is pending deletion (unless ``include_pending``)."""
    meta = read_meta(tr, run_id)
    if meta is None or (meta.pending_deletion and not include_pending):
        return None
    return meta


def get_runs(tr: ReadTransaction, run_ids: list[str]) -> list[RunMeta | None]:
    """:func:`get_run` for many runs, aligned with ``run_ids``."""
    return [get_run(tr, run_id) for run_id in run_ids]


def iter_run_ids(tr: ReadTransaction, *, after: str | None = None, limit: int = 0) -> Iterator[str]:
    """Every run id that has any data in the runs subspace, in id order, resuming after ``after``."""
    begin, end = RUNS.range(())
    if after is not None:
        begin = RUNS.range((after,))[1]
    count = 0
    while begin < end:
        rows = list(tr.get_range(begin, end, limit=1))
        if not rows:
            return
        run_id = RUNS.unpack(rows[0][0])[0]
        yield run_id
        count += 1
        if count == limit:
            return
        begin = RUNS.range((run_id,))[1]


def clear_run_records(tr: Transaction, run_id: str) -> None:
    """Remove every record of the run (meta, attributes, contexts, tag links) at once."""
    begin, end = RUNS.range((run_id,))
    tr.clear_range(begin, end)


# --- attributes ----------------------------------------------------------------------------------------


def _attrs(run_id: str) -> Subspace:
    return RUNS[(run_id, _ATTRS)]


def attrs_key(run_id: str, path: tuple[Any, ...]) -> bytes:
    """The key of the run's attribute node at ``path`` (present iff the attribute exists)."""
    return bytes(_attrs(run_id).pack(path))


def get_run_attrs(tr: ReadTransaction, run_id: str, path: tuple[Any, ...] = ()) -> Any:
    """The run's attributes at ``path`` (``{}`` for a run without attributes at the root)."""
    value = tree_get(tr, _attrs(run_id), path)
    if value is None and not path:
        return {}
    return value


def _attrs_written(tr: Transaction, run_id: str, path: tuple[Any, ...], value: Any) -> AttrsChange:
    top_keys = (path[0],) if path else tuple(value) if isinstance(value, Mapping) else ()
    hparams = bool(path[0] == "hparams") if path else isinstance(value, Mapping) and "hparams" in value
    meta = read_meta(tr, run_id)
    if meta is not None:
        # Only updated_at moves: nothing derived from the meta changes, so this is no MetaChange.
        tr.set(_meta_key(run_id), _meta_value(dataclasses.replace(meta, updated_at=time.time())))
    return AttrsChange(run_id, top_keys, hparams)


def set_attrs(tr: Transaction, run_id: str, path: tuple[Any, ...], value: Any) -> AttrsChange:
    """Replace the attribute subtree at ``path`` with ``value`` (at the root: only the keys it carries)."""
    if not path:
        if not isinstance(value, Mapping):
            raise TypeError("attributes at the root must be a dict")
        if tr.get(_attrs(run_id).pack(())) is None:
            tree_set(tr, _attrs(run_id), (), {})
        for key, child in value.items():
            tree_set(tr, _attrs(run_id), (key,), child)
    else:
        tree_set(tr, _attrs(run_id), path, value)
    return _attrs_written(tr, run_id, path, value)


def merge_attrs(tr: Transaction, run_id: str, path: tuple[Any, ...], value: Mapping[str, Any]) -> AttrsChange:
    """Deep-merge the dict ``value`` into the attributes at ``path``."""
    tree_merge(tr, _attrs(run_id), path, value)
    return _attrs_written(tr, run_id, path, value)


# --- contexts ------------------------------------------------------------------------------------------


def set_context(tr: Transaction, run_id: str, context: Mapping[str, Any] | None) -> int:
    """Store the context dict of the run under its id (``context_to_id``) and return the id."""
    ctx = dict(context or {})
    context_id = context_to_id(ctx)
    key = RUNS.pack((run_id, _CONTEXTS, context_id))
    if tr.get(key) is None:
        tr.set(key, encode_value(ctx))
    return context_id


def get_context(tr: ReadTransaction, run_id: str, context_id: int) -> dict[str, Any] | None:
    """The context dict stored under ``context_id`` for the run."""
    raw = tr.get(RUNS.pack((run_id, _CONTEXTS, context_id)))
    if raw is None:
        return {} if context_id == 0 else None
    value: dict[str, Any] = decode_value(raw)
    return value


def get_contexts(tr: ReadTransaction, run_id: str) -> dict[int, dict[str, Any]]:
    """Every context of the run by id."""
    begin, end = RUNS.range((run_id, _CONTEXTS))
    return {RUNS.unpack(key)[-1]: decode_value(raw) for key, raw in tr.get_range(begin, end)}


# --- tag links -----------------------------------------------------------------------------------------


def get_run_tag_ids(tr: ReadTransaction, run_id: str) -> list[str]:
    """Ids of the run's tags, sorted."""
    begin, end = RUNS.range((run_id, _TAGS))
    return [RUNS.unpack(key)[-1] for key, _ in tr.get_range(begin, end)]


def link_tag(tr: Transaction, run_id: str, tag_id: str) -> TagLinkChange | None:
    """Link a tag to the run; ``None`` if it was already linked."""
    key = RUNS.pack((run_id, _TAGS, tag_id))
    if tr.get(key) is not None:
        return None
    tr.set(key, b"")
    return TagLinkChange(run_id, tag_id, linked=True)


def unlink_tag(tr: Transaction, run_id: str, tag_id: str) -> TagLinkChange | None:
    """Unlink a tag from the run; ``None`` if it was not linked."""
    key = RUNS.pack((run_id, _TAGS, tag_id))
    if tr.get(key) is None:
        return None
    tr.clear(key)
    return TagLinkChange(run_id, tag_id, linked=False)
