"""The project params catalogue: what ``GET /projects/params/`` answers, kept by :mod:`.upkeep`.

The answer merges the attributes of every live run (created, not pending deletion)
in ``(created_at, run_id)`` order, dicts recursively and the last run winning on leaves, without the
``__system_params``/``__blobs__`` keys; and lists, per sequence kind (``sequence_kind`` of
:mod:`matyan_models.sequence_kinds`) and trace name, the distinct contexts in order of first
appearance. :func:`scan_project_params` computes exactly that by reading every run; it is the verifier.
The catalogue gives the same answer from one range read.

Why per-path summaries are enough. Merging in run order, the value at an attribute path ``p`` depends
only on the latest run with a *leaf* (any non-dict value) at ``p`` and the latest run with a *dict* at
``p``, among the runs after the latest leaf at any ancestor of ``p`` (a leaf replaces a whole
subtree). So for each path the catalogue keeps a summary: the latest leaf run with its value and the
latest dict run. To stay correct when runs go away, every (path, kind) also has one order key per run
holding it, sorted by ``(created_at, run_id)``: removing the run that was the latest re-reads the new
latest with one reverse range read of limit 1. Traces work the same way: per (bucket, name, context id)
the earliest run holding the series, and one order key per run.

Per-run membership keys record what the run put in, so removing a run (pending deletion, a new
``created_at``) needs no read of its attributes or series, and an attribute write diffs the written
top-level keys against them.

Write cost. An attribute write reads the run's catalogue order (one point read), its membership and
attributes under the written top-level keys, then one summary per changed path. A series costs reads
only when it is created or its dtype moves it to another bucket (order, context and summary: three
point reads); appending points costs a comparison. Every meta write reads the run's catalogue order;
one that changes whether or where the run is ordered (creation, ``created_at``, pending deletion)
takes the run out and puts it back from its attributes and series. Hidden top-level keys
(``__system_params``, ``__blobs__``) cost nothing. Summaries are read, then written: on FoundationDB
two concurrent transactions writing the same param path for their newest runs conflict, and one retries.

Verification: :func:`check_run`, :func:`check_catalogued_runs_page` and :func:`check_summaries_page`
are called by :func:`matyan_store.reindex.check_indexes`, whose ``fix`` builds the catalogue of a store
written before it existed (or restored by an older tool).

Layout under ``SYSTEM / "params_catalogue"`` (docs/storage.md, Params catalogue):

- ``("ps", path) -> {"v": [created_at, run_id, value] | None, "d": [created_at, run_id] | None}``;
- ``("po", path, kind, created_at, run_id) -> b""`` with kind ``"v"`` or ``"d"``;
- ``("ts", bucket, name, context_id) -> {"o": [created_at, run_id], "c": context}``;
- ``("to", bucket, name, context_id, created_at, run_id) -> b""``;
- ``("ro", run_id) -> created_at``: the run is in the catalogue under this order;
- ``("rp", run_id, *path, kind) -> value`` (``b""`` for dicts) and ``("rt", run_id, bucket, name,
  context_id) -> b""``: the run's membership.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final

from matyan_models.sequence_kinds import RESERVED_ATTRS, SEQUENCE_KINDS, sequence_kind
from matyan_store import indexes, run_records, sequences
from matyan_store.engine.base import Engine, ReadTransaction, Transaction
from matyan_store.keys import SYSTEM
from matyan_store.run_records import RunMeta
from matyan_store.sequences import SeriesKey
from matyan_store.values import decode_value, encode_value

__all__ = [
    "ProjectParams",
    "add_run",
    "attrs_changed",
    "check_catalogued_runs_page",
    "check_run",
    "check_summaries_page",
    "clear_catalogue",
    "merge_params",
    "read_project_params",
    "remove_run",
    "run_catalogued",
    "run_meta_changed",
    "scan_project_params",
    "series_written",
]

CATALOGUE = SYSTEM[("params_catalogue",)]
SCAN_RUNS_PER_READ: Final = 200
_LEAF, _DICT = "v", "d"

Order = tuple[float, str]
Path = tuple[Any, ...]


def merge_params(into: dict[str, Any], params: Mapping[str, Any]) -> None:
    """Merge ``params`` into ``into``: dicts recursively, anything else replaced (last one wins)."""
    for key, value in params.items():
        current = into.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            merge_params(current, value)
        elif isinstance(value, Mapping):
            fresh: dict[str, Any] = {}
            merge_params(fresh, value)
            into[key] = fresh
        else:
            into[key] = value


@dataclass
class ProjectParams:
    """The merged params and, per bucket, trace name -> distinct contexts in first-appearance order."""

    params: dict[str, Any] = field(default_factory=dict)
    traces: dict[str, dict[str, list[dict[str, Any]]]] = field(
        default_factory=lambda: {kind: {} for kind in SEQUENCE_KINDS}
    )

    def add_trace(self, bucket: str, name: str, context: dict[str, Any]) -> None:
        """Add ``context`` to the trace's contexts unless an equal one is there."""
        contexts = self.traces[bucket].setdefault(name, [])
        if context not in contexts:
            contexts.append(context)


# --- the verifier: a scan of every run ----------------------------------------------------------------


def _scan_page(tr: ReadTransaction, *, after: Order | None, result: ProjectParams) -> Order | None:
    last: Order | None = None
    for created_at, run_id in indexes.iter_created_at(tr, after=after, limit=SCAN_RUNS_PER_READ):
        last = (created_at, run_id)
        if run_records.get_run(tr, run_id) is None:
            continue
        attrs = run_records.get_run_attrs(tr, run_id)
        if isinstance(attrs, Mapping):
            merge_params(result.params, {k: v for k, v in attrs.items() if k not in RESERVED_ATTRS})
        series = sequences.list_run_series(tr, run_id)
        if not series:
            continue
        contexts = run_records.get_contexts(tr, run_id)
        for key, summary in series:
            bucket = sequence_kind(summary.dtype)
            if bucket is not None:
                result.add_trace(bucket, key.name, dict(contexts.get(key.context_id) or {}))
    return last


def scan_project_params(engine: Engine) -> ProjectParams:
    """The answer computed from every run, a page of runs per read transaction (the verifier)."""
    result = ProjectParams()
    after: Order | None = None
    while True:
        after = engine.read(partial(_scan_page, after=after, result=result))
        if after is None:
            return result


# --- reading the catalogue ----------------------------------------------------------------------------


def _after(a: Order | None, b: Order | None) -> bool:
    """Whether order ``a`` is later than ``b`` (``None``: before everything)."""
    return a is not None and (b is None or a > b)


def read_project_params(tr: ReadTransaction) -> ProjectParams:
    """The answer from the catalogue: one range read over the summaries (params, then traces)."""
    result = ProjectParams()
    leaves: dict[Path, tuple[Order, Any]] = {}
    dicts: dict[Path, Order] = {}
    children: dict[Path, list[Path]] = {}
    begin, end = CATALOGUE.range(("ps",))
    for key, raw in tr.get_range(begin, end):
        path = CATALOGUE.unpack(key)[1]
        summary = decode_value(raw)
        if summary.get("v") is not None:
            ca, rid, value = summary["v"]
            leaves[path] = ((float(ca), str(rid)), value)
        if summary.get("d") is not None:
            ca, rid = summary["d"]
            dicts[path] = (float(ca), str(rid))
        children.setdefault(path[:-1], []).append(path)
    result.params = _resolve_children((), None, leaves, dicts, children)
    begin, end = CATALOGUE.range(("ts",))
    firsts: list[tuple[Order, int, str, str, dict[str, Any]]] = []
    for key, raw in tr.get_range(begin, end):
        _, bucket, name, context_id = CATALOGUE.unpack(key)
        summary = decode_value(raw)
        ca, rid = summary["o"]
        firsts.append(((float(ca), str(rid)), context_id, bucket, name, dict(summary["c"] or {})))
    for _, _, bucket, name, context in sorted(firsts, key=lambda f: (f[0], f[1])):
        result.add_trace(bucket, name, context)
    return result


def _resolve_children(
    parent: Path,
    cutoff: Order | None,
    leaves: dict[Path, tuple[Order, Any]],
    dicts: dict[Path, Order],
    children: dict[Path, list[Path]],
) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for path in children.get(parent, []):
        leaf = leaves.get(path)
        leaf_order = leaf[0] if leaf is not None and _after(leaf[0], cutoff) else None
        dict_order = dicts.get(path)
        if not _after(dict_order, cutoff):
            dict_order = None
        if dict_order is not None and _after(dict_order, leaf_order):
            # Only runs after the latest leaf here (or above) contribute to the dict.
            inner = leaf_order if _after(leaf_order, cutoff) else cutoff
            out[path[-1]] = _resolve_children(path, inner, leaves, dicts, children)
        elif leaf_order is not None:
            assert leaf is not None
            out[path[-1]] = leaf[1]
    return out


# --- keeping it: params -------------------------------------------------------------------------------


def _flatten(prefix: Path, value: Any, out: dict[tuple[Path, str], Any]) -> None:
    if isinstance(value, Mapping):
        out[(prefix, _DICT)] = b""
        for key, child in value.items():
            _flatten((*prefix, key), child, out)
    else:
        out[(prefix, _LEAF)] = value


def _param_entries(attrs: Any) -> dict[tuple[Path, str], Any]:
    out: dict[tuple[Path, str], Any] = {}
    if isinstance(attrs, Mapping):
        for key, value in attrs.items():
            if key not in RESERVED_ATTRS:
                _flatten((key,), value, out)
    return out


def _summary(tr: ReadTransaction, path: Path) -> dict[str, Any]:
    raw = tr.get(CATALOGUE.pack(("ps", path)))
    return {"v": None, "d": None} if raw is None else dict(decode_value(raw))


def _put_summary(tr: Transaction, path: Path, summary: dict[str, Any]) -> None:
    key = CATALOGUE.pack(("ps", path))
    if summary.get("v") is None and summary.get("d") is None:
        tr.clear(key)
    else:
        tr.set(key, encode_value(summary))


def _add_param(tr: Transaction, order: Order, path: Path, kind: str, value: Any) -> None:
    ca, rid = order
    tr.set(CATALOGUE.pack(("rp", rid, *path, kind)), encode_value(value) if kind == _LEAF else b"")
    tr.set(CATALOGUE.pack(("po", path, kind, ca, rid)), b"")
    summary = _summary(tr, path)
    current = summary.get(kind)
    if current is None or (float(current[0]), str(current[1])) <= order:
        summary[kind] = [ca, rid, value] if kind == _LEAF else [ca, rid]
        _put_summary(tr, path, summary)


def _remove_param(tr: Transaction, order: Order, path: Path, kind: str) -> None:
    ca, rid = order
    tr.clear(CATALOGUE.pack(("rp", rid, *path, kind)))
    tr.clear(CATALOGUE.pack(("po", path, kind, ca, rid)))
    summary = _summary(tr, path)
    current = summary.get(kind)
    if current is None or (float(current[0]), str(current[1])) != order:
        return
    begin, end = CATALOGUE.range(("po", path, kind))
    latest = list(tr.get_range(begin, end, limit=1, reverse=True))
    if not latest:
        summary[kind] = None
    else:
        *_, new_ca, new_rid = CATALOGUE.unpack(latest[0][0])
        if kind == _LEAF:
            raw = tr.get(CATALOGUE.pack(("rp", new_rid, *path, kind)))
            summary[kind] = [new_ca, new_rid, None if raw is None else decode_value(raw)]
        else:
            summary[kind] = [new_ca, new_rid]
    _put_summary(tr, path, summary)


def _membership(tr: ReadTransaction, run_id: str, top: tuple[Any, ...] = ()) -> dict[tuple[Path, str], Any]:
    begin, end = CATALOGUE.range(("rp", run_id, *top))
    out: dict[tuple[Path, str], Any] = {}
    for key, raw in tr.get_range(begin, end):
        *path, kind = CATALOGUE.unpack(key)[2:]
        out[(tuple(path), kind)] = decode_value(raw) if kind == _LEAF else b""
    return out


def _apply_diff(
    tr: Transaction, order: Order, old: dict[tuple[Path, str], Any], new: dict[tuple[Path, str], Any]
) -> None:
    for entry in old.keys() - new.keys():
        _remove_param(tr, order, entry[0], entry[1])
    for entry, value in new.items():
        if entry not in old or not _same(old[entry], value):
            _add_param(tr, order, entry[0], entry[1], value)


def _same(a: Any, b: Any) -> bool:
    # 1 == 1.0 == True in Python, but the answer shows the stored type.
    return type(a) is type(b) and bool(a == b)


def _catalogued_order(tr: ReadTransaction, run_id: str) -> Order | None:
    raw = tr.get(CATALOGUE.pack(("ro", run_id)))
    return None if raw is None else (float(decode_value(raw)), run_id)


def run_catalogued(tr: ReadTransaction, run_id: str) -> bool:
    """Whether the run's attributes and traces are in the catalogue (one point read)."""
    return tr.get(CATALOGUE.pack(("ro", run_id))) is not None


def attrs_changed(tr: Transaction, run_id: str, top_keys: Sequence[Any]) -> None:
    """Bring the catalogue in step with the run's attributes under ``top_keys`` (after they were written).

    A run not in the catalogue (not created yet, pending deletion) is skipped: :func:`add_run` reads
    all of its attributes when it enters.
    """
    keys = [k for k in top_keys if k not in RESERVED_ATTRS]
    if not keys:
        return
    order = _catalogued_order(tr, run_id)
    if order is None:
        return
    for key in keys:
        old = _membership(tr, run_id, (key,))
        # The node's own key says whether the attribute exists (a stored None reads back as None too).
        exists = tr.get(run_records.attrs_key(run_id, (key,))) is not None
        new = _param_entries({key: run_records.get_run_attrs(tr, run_id, (key,))}) if exists else {}
        _apply_diff(tr, order, old, new)


# --- keeping it: traces -------------------------------------------------------------------------------


def _add_trace(
    tr: Transaction, order: Order, bucket: str, name: str, context_id: int, context: dict[str, Any]
) -> None:
    ca, rid = order
    tr.set(CATALOGUE.pack(("rt", rid, bucket, name, context_id)), b"")
    tr.set(CATALOGUE.pack(("to", bucket, name, context_id, ca, rid)), b"")
    key = CATALOGUE.pack(("ts", bucket, name, context_id))
    raw = tr.get(key)
    if raw is not None:
        ca0, rid0 = decode_value(raw)["o"]
        if (float(ca0), str(rid0)) <= order:
            return
    tr.set(key, encode_value({"o": [ca, rid], "c": context}))


def _remove_trace(tr: Transaction, order: Order, bucket: str, name: str, context_id: int) -> None:
    ca, rid = order
    tr.clear(CATALOGUE.pack(("rt", rid, bucket, name, context_id)))
    tr.clear(CATALOGUE.pack(("to", bucket, name, context_id, ca, rid)))
    key = CATALOGUE.pack(("ts", bucket, name, context_id))
    raw = tr.get(key)
    if raw is None:
        return
    summary = decode_value(raw)
    if (float(summary["o"][0]), str(summary["o"][1])) != order:
        return
    begin, end = CATALOGUE.range(("to", bucket, name, context_id))
    first = list(tr.get_range(begin, end, limit=1))
    if not first:
        tr.clear(key)
        return
    *_, new_ca, new_rid = CATALOGUE.unpack(first[0][0])
    tr.set(key, encode_value({"o": [new_ca, new_rid], "c": summary["c"]}))


def series_written(tr: Transaction, key: SeriesKey, old_dtype: str | None, dtype: str) -> None:
    """Points were written to series ``key``, whose dtype was ``old_dtype`` and is now ``dtype``.

    ``old_dtype`` is the series' stored dtype (``None``: a new series). Only a new series, or one whose
    dtype moves it to another bucket, costs reads; plain appends return at once.
    """
    old_bucket = None if old_dtype is None else sequence_kind(old_dtype)
    new_bucket = sequence_kind(dtype)
    if old_dtype is not None and old_bucket == new_bucket:
        return
    order = _catalogued_order(tr, key.run_id)
    if order is None:
        return
    if old_bucket is not None:
        _remove_trace(tr, order, old_bucket, key.name, key.context_id)
    if new_bucket is not None:
        context = dict(run_records.get_context(tr, key.run_id, key.context_id) or {})
        _add_trace(tr, order, new_bucket, key.name, key.context_id, context)


# --- whole runs ---------------------------------------------------------------------------------------


def add_run(tr: Transaction, run_id: str) -> bool:
    """Put a live run (its attributes and traces) in the catalogue; returns whether it is live."""
    meta = run_records.get_run(tr, run_id)
    if meta is None:
        return False
    order: Order = (float(meta.created_at), run_id)
    tr.set(CATALOGUE.pack(("ro", run_id)), encode_value(order[0]))
    for (path, kind), value in _param_entries(run_records.get_run_attrs(tr, run_id)).items():
        _add_param(tr, order, path, kind, value)
    series = sequences.list_run_series(tr, run_id)
    contexts = run_records.get_contexts(tr, run_id) if series else {}
    for key, summary in series:
        bucket = sequence_kind(summary.dtype)
        if bucket is not None:
            context = dict(contexts.get(key.context_id) or {})
            _add_trace(tr, order, bucket, key.name, key.context_id, context)
    return True


def remove_run(tr: Transaction, run_id: str) -> bool:
    """Take the run out of the catalogue (from its membership keys); returns whether it was in."""
    order = _catalogued_order(tr, run_id)
    if order is None:
        return False
    for path, kind in _membership(tr, run_id):
        _remove_param(tr, order, path, kind)
    begin, end = CATALOGUE.range(("rt", run_id))
    for key, _ in list(tr.get_range(begin, end)):
        _, _, bucket, name, context_id = CATALOGUE.unpack(key)
        _remove_trace(tr, order, bucket, name, context_id)
    tr.clear(CATALOGUE.pack(("ro", run_id)))
    return True


def _order_of(meta: RunMeta | None) -> Order | None:
    return None if meta is None or meta.pending_deletion else (float(meta.created_at), meta.run_id)


def run_meta_changed(tr: Transaction, old: RunMeta | None, new: RunMeta) -> None:
    """The run's meta went from ``old`` to ``new``: it may have entered, left or moved in the catalogue.

    Only creation, a new ``created_at`` and pending deletion move it (``(created_at, run_id)`` order).
    """
    run_id = new.run_id
    old_order, new_order = _order_of(old), _order_of(new)
    if old_order == new_order and (new_order is None or run_catalogued(tr, run_id)):
        return
    remove_run(tr, run_id)
    if new_order is not None:
        add_run(tr, run_id)


def clear_catalogue(tr: Transaction) -> None:
    """Drop the whole catalogue (before a rebuild)."""
    begin, end = CATALOGUE.prefix_range()
    tr.clear_range(begin, end)


# --- verifying it ---------------------------------------------------------------------------------------


def _expected_run(tr: ReadTransaction, run_id: str) -> tuple[Order | None, set[tuple[Any, ...]]]:
    """The run's order and catalogue entries as its primary data calls for (``None``: not live)."""
    meta = run_records.get_run(tr, run_id)
    if meta is None:
        return None, set()
    entries: set[tuple[Any, ...]] = set()
    for (path, kind), value in _param_entries(run_records.get_run_attrs(tr, run_id)).items():
        entries.add(("p", path, kind, _hashable(value)))
    for key, summary in sequences.list_run_series(tr, run_id):
        bucket = sequence_kind(summary.dtype)
        if bucket is not None:
            entries.add(("t", bucket, key.name, key.context_id))
    return (float(meta.created_at), run_id), entries


def _actual_run(tr: ReadTransaction, run_id: str) -> tuple[Order | None, set[tuple[Any, ...]]]:
    order = _catalogued_order(tr, run_id)
    entries: set[tuple[Any, ...]] = set()
    for (path, kind), value in _membership(tr, run_id).items():
        if order is not None and (
            tr.get(CATALOGUE.pack(("po", path, kind, *order))) is None
            or tr.get(CATALOGUE.pack(("ps", path))) is None
        ):
            continue  # an entry without its order key or summary is as good as missing
        entries.add(("p", path, kind, _hashable(value)))
    begin, end = CATALOGUE.range(("rt", run_id))
    for key, _ in tr.get_range(begin, end):
        _, _, bucket, name, context_id = CATALOGUE.unpack(key)
        if order is not None and (
            tr.get(CATALOGUE.pack(("to", bucket, name, context_id, *order))) is None
            or tr.get(CATALOGUE.pack(("ts", bucket, name, context_id))) is None
        ):
            continue
        entries.add(("t", bucket, name, context_id))
    return order, entries


def _hashable(value: Any) -> Any:
    return (type(value).__name__, bytes(encode_value(value)))


def check_run(tr: Transaction | ReadTransaction, run_id: str, fix: bool) -> list[str]:
    """Differences between the run's catalogue entries and its primary data; ``fix`` re-adds the run."""
    expected_order, expected = _expected_run(tr, run_id)
    actual_order, actual = _actual_run(tr, run_id)
    notes: list[str] = []
    if expected_order != actual_order:
        notes.append(f"run {run_id}: catalogued under {actual_order!r}, expected {expected_order!r}")
    notes.extend(f"run {run_id}: catalogue misses {e[:3]!r}" for e in sorted(expected - actual, key=repr))
    notes.extend(
        f"run {run_id}: stale catalogue entry {e[:3]!r}" for e in sorted(actual - expected, key=repr)
    )
    if notes and fix:
        assert isinstance(tr, Transaction)
        _clear_run(tr, run_id, actual_order)
        add_run(tr, run_id)
    return notes


def _clear_run(tr: Transaction, run_id: str, order: Order | None) -> None:
    """Remove the run's entries even when its membership and order keys disagree."""
    if order is not None:
        remove_run(tr, run_id)
    for prefix in ("rp", "rt"):
        begin, end = CATALOGUE.range((prefix, run_id))
        tr.clear_range(begin, end)
    tr.clear(CATALOGUE.pack(("ro", run_id)))


def check_catalogued_runs_page(
    tr: Transaction | ReadTransaction, after: str | None, page: int, fix: bool
) -> tuple[str | None, list[str]]:
    """Catalogued runs that are no longer live (one page); returns where the next page starts."""
    begin, end = CATALOGUE.range(("ro",))
    if after is not None:
        begin = CATALOGUE.pack(("ro", after)) + b"\x00"
    rows = list(tr.get_range(begin, end, limit=page))
    notes: list[str] = []
    for key, _ in rows:
        run_id = CATALOGUE.unpack(key)[1]
        if run_records.get_run(tr, run_id) is None:
            notes.append(f"run {run_id}: in the params catalogue but not live")
            if fix:
                assert isinstance(tr, Transaction)
                _clear_run(tr, run_id, _catalogued_order(tr, run_id))
    last = CATALOGUE.unpack(rows[-1][0])[1] if len(rows) == page else None
    return last, notes


def check_summaries_page(
    tr: Transaction | ReadTransaction, begin: bytes | None, page: int, fix: bool
) -> tuple[bytes | None, list[str]]:
    """Summaries that disagree with their order keys (one page of params, then traces summaries)."""
    ps_begin, ps_end = CATALOGUE.range(("ps",))
    ts_begin, ts_end = CATALOGUE.range(("ts",))
    start = ps_begin if begin is None else begin
    # Params summaries first, then trace summaries; the keys between them are not summaries.
    end = ps_end if start < ps_end else ts_end
    rows = list(tr.get_range(start, end, limit=page))
    notes: list[str] = []
    for key, raw in rows:
        items = CATALOGUE.unpack(key)
        if items[0] == "ps":
            path = items[1]
            expected = {"v": _latest_param(tr, path, _LEAF), "d": _latest_param(tr, path, _DICT)}
            if decode_value(raw) != expected:
                notes.append(f"params catalogue summary {path!r} is stale")
                if fix:
                    assert isinstance(tr, Transaction)
                    _put_summary(tr, path, expected)
        elif items[0] == "ts":
            _, bucket, name, context_id = items
            begin_o, end_o = CATALOGUE.range(("to", bucket, name, context_id))
            first = list(tr.get_range(begin_o, end_o, limit=1))
            summary = decode_value(raw)
            want = None if not first else list(CATALOGUE.unpack(first[0][0])[-2:])
            if want is None or summary["o"] != want:
                notes.append(f"trace catalogue summary {(bucket, name, context_id)!r} is stale")
                if fix:
                    assert isinstance(tr, Transaction)
                    if want is None:
                        tr.clear(key)
                    else:
                        tr.set(key, encode_value({"o": want, "c": summary["c"]}))
    if len(rows) == page:
        return rows[-1][0] + b"\x00", notes
    return (ts_begin if end == ps_end else None), notes


def _latest_param(tr: ReadTransaction, path: Path, kind: str) -> list[Any] | None:
    begin, end = CATALOGUE.range(("po", path, kind))
    latest = list(tr.get_range(begin, end, limit=1, reverse=True))
    if not latest:
        return None
    *_, ca, rid = CATALOGUE.unpack(latest[0][0])
    if kind == _DICT:
        return [ca, rid]
    raw = tr.get(CATALOGUE.pack(("rp", rid, *path, kind)))
    return [ca, rid, None if raw is None else decode_value(raw)]
