"""Random write sequences over a few runs, shared by the tests of data derived from runs.

Attribute writes (set and merge, at the root or deeper, hidden keys included), series of every bucket,
``created_at`` changes, meta updates, tag links, pending deletions and full deletions.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from matyan_store import runs
from matyan_store.engine import Transaction
from matyan_store.sequences import Point, SeriesKey

__all__ = ["OPS", "apply_op"]

RUN_IDS = ["r0", "r1", "r2", "r3"]
KEYS = st.sampled_from(["hp", "lr", "opt", "__system_params", "__blobs__", "x"])
INNER_KEYS = st.sampled_from(["a", "b", "c"])
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["s", "t"]),
    st.lists(st.integers(0, 2), max_size=2),
)
VALUES = st.recursive(LEAVES, lambda inner: st.dictionaries(INNER_KEYS, inner, max_size=3), max_leaves=6)
PATHS = st.tuples(KEYS).map(tuple) | st.tuples(KEYS, INNER_KEYS).map(tuple)
DTYPES = st.sampled_from(["float", "int", "image", "text", "distribution", "audio", "figure", "logs"])
NAMES = st.sampled_from(["loss", "acc", "samples", "logs"])
CONTEXTS = st.sampled_from([{}, {"subset": "train"}, {"subset": "val"}, {"k": 1}])
CREATED = st.sampled_from([1.0, 2.0, 3.0])  # few values, so ties between runs happen

OPS = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(RUN_IDS), CREATED),
    st.tuples(st.just("set"), st.sampled_from(RUN_IDS), PATHS, VALUES),
    st.tuples(st.just("set_root"), st.sampled_from(RUN_IDS), st.dictionaries(KEYS, VALUES, max_size=3)),
    st.tuples(st.just("merge"), st.sampled_from(RUN_IDS), st.dictionaries(KEYS, VALUES, max_size=3)),
    st.tuples(st.just("series"), st.sampled_from(RUN_IDS), NAMES, CONTEXTS, DTYPES),
    st.tuples(st.just("move"), st.sampled_from(RUN_IDS), CREATED),
    st.tuples(st.just("pending"), st.sampled_from(RUN_IDS)),
    st.tuples(st.just("update"), st.sampled_from(RUN_IDS), st.booleans(), st.sampled_from([None, 5.0])),
    st.tuples(st.just("tag"), st.sampled_from(RUN_IDS), st.sampled_from(["t1", "t2"]), st.booleans()),
    st.tuples(st.just("delete"), st.sampled_from(RUN_IDS)),
)


def apply_op(tr: Transaction, *, op: tuple[Any, ...]) -> None:
    """Apply one op of :data:`OPS` (ops on runs that are not live are skipped)."""
    kind, run_id = op[0], op[1]
    live = runs.get_run(tr, run_id) is not None
    if kind == "create":
        runs.create_run(tr, run_id, created_at=op[2])
    elif kind == "set" and live:
        runs.set_run_attrs(tr, run_id, op[2], op[3])
    elif kind == "set_root" and live:
        runs.set_run_attrs(tr, run_id, (), op[2])
    elif kind == "merge" and live:
        runs.merge_run_attrs(tr, run_id, (), op[2])
    elif kind == "series" and live:
        context_id = runs.set_context(tr, run_id, op[3])
        value: Any = 0.5 if op[4] in ("float", "int") else "v"
        step = 0 if op[4] == "logs" else len(runs.get_contexts(tr, run_id))
        runs.write_run_series(tr, SeriesKey(run_id, context_id, op[2]), [Point(step, value)], op[4])
    elif kind == "move" and live:
        runs.update_run(tr, run_id, created_at=op[2])
    elif kind == "update" and live:
        runs.update_run(tr, run_id, archived=op[2], finalized_at=op[3], name=f"{run_id}-{op[2]}")
    elif kind == "tag" and live:
        if op[3]:
            runs.add_run_tag(tr, run_id, op[2])
        else:
            runs.remove_run_tag(tr, run_id, op[2])
    elif kind == "pending" and live:
        runs.mark_pending_deletion(tr, run_id)
    elif kind == "delete":
        runs.delete_run_data(tr, run_id, max_bytes=1 << 20)
