"""Run search over the store's search records (docs/storage.md, Search records).

The records come in creation order from one range per read transaction, so run search

- walks them oldest or newest first and, for a page sorted by date, stops once the page is complete:
  the first page costs the same whatever the number of matches;
- checks a run against the plan's candidates from the record key alone, and evaluates the query on a
  :class:`RunView` built from the record (no meta, attribute or tag reads);
- encodes a run's frame from its record, its series summaries and entity pairs cached per search.

What this module answers equals what the per-run reads of :mod:`matyan_api.query.loading` answer: the
record is kept in step with the run's primary data by the store (and verified by ``reindex``). The
walk runs in a search process (:mod:`matyan_api.search_pool`), which calls the engine directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from matyan_api.query import paging
from matyan_api.query.frame_parts import metric_trace_summaries
from matyan_api.query.loading import load_trace_infos, sequence_views
from matyan_api.query.prepare import PreparedQuery
from matyan_api.query.timing import QueryTimer
from matyan_api.query.views import RunView
from matyan_api.streaming.pairs import encode_key_part, encode_pair, encode_value
from matyan_api.streaming.tree import encode_pairs
from matyan_models.sequence_kinds import BLOBS_ATTR, SYSTEM_PARAMS_ATTR
from matyan_store import entities, search_records
from matyan_store.engine import Engine, ReadTransaction
from matyan_store.search_records import SearchRecord

__all__ = [
    "EntityCache",
    "FrameOptions",
    "Match",
    "WalkResult",
    "encode_run_frame",
    "load_frames",
    "record_view",
    "walk_matches",
]


@dataclass(slots=True)
class EntityCache:
    """Experiments and tags read once per search: names for queries, encoded props pairs for frames."""

    experiments: dict[str, entities.Experiment | None] = field(default_factory=dict)
    tags: dict[str, entities.Tag | None] = field(default_factory=dict)
    experiment_pairs: dict[str | None, list[tuple[bytes, bytes]]] = field(default_factory=dict)
    tag_pairs: dict[tuple[str, ...], list[tuple[bytes, bytes]]] = field(default_factory=dict)

    def experiment(self, tr: ReadTransaction, experiment_id: str | None) -> entities.Experiment | None:
        if experiment_id is None:
            return None
        if experiment_id not in self.experiments:
            self.experiments[experiment_id] = entities.get_experiment(tr, experiment_id)
        return self.experiments[experiment_id]

    def tag(self, tr: ReadTransaction, tag_id: str) -> entities.Tag | None:
        if tag_id not in self.tags:
            self.tags[tag_id] = entities.get_tag(tr, tag_id)
        return self.tags[tag_id]

    def experiment_name(self, tr: ReadTransaction, experiment_id: str | None) -> str | None:
        exp = self.experiment(tr, experiment_id)
        return None if exp is None else exp.name

    def tag_names(self, tr: ReadTransaction, tag_ids: tuple[str, ...]) -> list[str]:
        return [tag.name for tag in (self.tag(tr, t) for t in tag_ids) if tag is not None]

    def props_experiment(self, tr: ReadTransaction, experiment_id: str | None) -> list[tuple[bytes, bytes]]:
        """``props.experiment`` as (relative key, value) pairs (``run_props``'s shape)."""
        if experiment_id not in self.experiment_pairs:
            exp = self.experiment(tr, experiment_id)
            tree = (
                {"id": None, "name": None, "description": None}
                if exp is None
                else {"id": exp.id, "name": exp.name, "description": exp.description}
            )
            self.experiment_pairs[experiment_id] = _relative_pairs(("props", "experiment"), tree)
        return self.experiment_pairs[experiment_id]

    def props_tags(self, tr: ReadTransaction, tag_ids: tuple[str, ...]) -> list[tuple[bytes, bytes]]:
        """``props.tags`` as (relative key, value) pairs (the tags that still exist, by id)."""
        if tag_ids not in self.tag_pairs:
            found = [tag for tag in (self.tag(tr, t) for t in tag_ids) if tag is not None]
            tree = [
                {"id": t.id, "name": t.name, "color": t.color, "description": t.description} for t in found
            ]
            self.tag_pairs[tag_ids] = _relative_pairs(("props", "tags"), tree)
        return self.tag_pairs[tag_ids]


def _relative_pairs(path: tuple[str, ...], tree: Any) -> list[tuple[bytes, bytes]]:
    """The pairs of ``tree`` at ``path`` as (key without the frame's run prefix, encoded value)."""
    out = []
    for pair in encode_pairs(path, tree):
        key_len = int.from_bytes(pair[:4], "little")
        out.append((pair[4 : 4 + key_len], pair[8 + key_len :]))
    return out


def record_view(record: SearchRecord, tr: ReadTransaction, cache: EntityCache) -> RunView:
    """``run`` of a query, as :func:`matyan_api.query.loading.load_run_view` builds it (no traces)."""
    return RunView(
        record.run_id,
        record.meta_fields(),
        record.attrs,
        cache.tag_names(tr, record.tag_ids),
        cache.experiment_name(tr, record.experiment_id),
    )


@dataclass(frozen=True, slots=True)
class Match:
    """A matching run: where its record is, and the record when the walk decoded it."""

    created_at: float
    run_id: str
    record: SearchRecord | None


@dataclass(slots=True)
class WalkResult:
    """Matches in walk order; ``complete``: the walk reached the end of the records."""

    matches: list[Match]
    complete: bool
    checked: int = 0


type StopAt = Callable[[list[Match]], bool]
"""Asked between groups of equal ``created_at``: whether the matches found so far are enough."""


def walk_matches(
    engine: Engine,
    query: PreparedQuery,
    candidates: set[str] | None,
    evaluate: bool,
    *,
    newest_first: bool,
    decode: bool,
    stop: StopAt | None = None,
    max_checked: int = 0,
    timer: QueryTimer | None = None,
) -> WalkResult:
    """Runs the query matches, walking the records in creation order (newest first: reversed).

    ``candidates``: only these runs can match (``None``: any); ``evaluate``: run the query on each of
    them. ``decode``: keep each match's record (for sorting by other fields). Runs of equal
    ``created_at`` come out by run id, in either direction, as the creation order of the planner does.
    ``stop`` ends the walk early; ``max_checked`` (0: no limit) ends it after that many evaluations,
    leaving ``complete`` False. ``timer`` logs each evaluation's steps. Each read transaction visits at
    most :data:`paging.PAGE_RUNS` records or about :data:`paging.PAGE_SECONDS` (read at call time).
    """
    page_runs, page_seconds = max(1, paging.PAGE_RUNS), paging.PAGE_SECONDS
    with_seqs = "metric" in query.sequence_names
    cache = EntityCache()
    out = WalkResult([], False)
    group: list[Match] = []
    cursor: tuple[float, str] | None = None

    def matched(tr: ReadTransaction, run_id: str, record: SearchRecord | None, fetch_s: float) -> bool:
        if candidates is not None and run_id not in candidates:
            return False
        if record is None:  # nothing to evaluate: the record was not decoded
            return True
        index = out.checked
        out.checked += 1
        if timer is not None:
            timer.log("fetch_meta", fetch_s, run_index=index, run_hash=run_id)
        with _step(timer, "build_run_view", index, run_id):
            view = record_view(record, tr, cache)
            seqs = sequence_views(view, load_trace_infos(tr, run_id)) if with_seqs else []
        with _step(timer, "check", index, run_id):
            return query.matches_run(view, seqs)

    def page(tr: ReadTransaction) -> bool:
        """One transaction of the walk; True when the walk is over."""
        nonlocal cursor, group
        seen = 0
        items = _walk_page(tr, newest_first, cursor, page_runs, evaluate or decode)
        while True:
            t0 = time.perf_counter()
            item = next(items, None)
            if item is None:
                break
            fetch_s = time.perf_counter() - t0
            created_at, run_id, record = item
            seen += 1
            cursor = (created_at, run_id)
            if group and group[0].created_at != created_at:
                _flush(group, out, newest_first)
                group = []
                if stop is not None and stop(out.matches):
                    return True
            if evaluate and max_checked and out.checked >= max_checked:
                return True
            if matched(tr, run_id, record, fetch_s):
                group.append(Match(created_at, run_id, record if decode else None))
            if tr.age_s >= page_seconds:
                return False
        if seen < page_runs:
            _flush(group, out, newest_first)
            group = []
            out.complete = True
            return True
        return False

    while not engine.read(page):
        pass
    if not out.complete:
        # Stopped early: the last group is whole only if the walk ended on a group boundary.
        _flush(group, out, newest_first)
    return out


def _walk_page(
    tr: ReadTransaction, newest_first: bool, after: tuple[float, str] | None, limit: int, decode: bool
) -> Iterator[tuple[float, str, SearchRecord | None]]:
    if decode:
        for record in search_records.iter_records(tr, newest_first=newest_first, after=after, limit=limit):
            yield record.created_at, record.run_id, record
    else:
        for created_at, run_id in search_records.iter_record_keys(
            tr, newest_first=newest_first, after=after, limit=limit
        ):
            yield created_at, run_id, None


def _step(timer: QueryTimer | None, name: str, index: int, run_id: str) -> AbstractContextManager[None]:
    return nullcontext() if timer is None else timer.step(name, run_index=index, run_hash=run_id)


def _flush(group: list[Match], out: WalkResult, newest_first: bool) -> None:
    out.matches.extend(reversed(group) if newest_first else group)


@dataclass(frozen=True, slots=True)
class FrameOptions:
    """The run-search switches that shape a frame."""

    skip_system: bool = True
    exclude_params: bool = False
    exclude_traces: bool = False


def encode_run_frame(
    tr: ReadTransaction, record: SearchRecord, cache: EntityCache, options: FrameOptions
) -> bytes:
    """``{run_id: {params, traces: {metric: [...]}, props}}`` encoded, from the record.

    Byte for byte what ``encode_tree_bytes((run_id,), frame)`` gives for the frame built from the run's
    reads: params are the attribute tree minus ``__blobs__`` (and ``__system_params`` with
    ``skip_system``), in the tree's order; the props' experiment and tags pairs are encoded once per search.
    """
    run_id = record.run_id
    params: dict[Any, Any] = {}
    if not options.exclude_params:
        params = dict(record.attrs)
        params.pop(BLOBS_ATTR, None)
        if options.skip_system:
            params.pop(SYSTEM_PARAMS_ATTR, None)
    traces = [] if options.exclude_traces else metric_trace_summaries(tr, run_id, full=True)
    prefix = encode_key_part(run_id)
    parts = list(encode_pairs((run_id,), {"params": params, "traces": {"metric": traces}}))
    props = prefix + b"props\xfe"
    parts.append(encode_pair(props + b"name\xfe", encode_value(record.name)))
    parts.append(encode_pair(props + b"description\xfe", encode_value(record.description)))
    parts.extend(encode_pair(prefix + k, v) for k, v in cache.props_experiment(tr, record.experiment_id))
    parts.extend(encode_pair(prefix + k, v) for k, v in cache.props_tags(tr, record.tag_ids))
    if record.duration is not None:
        end: float | None = float(record.created_at) + float(record.duration)
    else:
        end = None if record.finalized_at is None else float(record.finalized_at)
    parts.append(encode_pair(props + b"creation_time\xfe", encode_value(float(record.created_at))))
    parts.append(encode_pair(props + b"end_time\xfe", encode_value(end)))
    parts.append(encode_pair(props + b"archived\xfe", encode_value(bool(record.archived))))
    parts.append(encode_pair(props + b"active\xfe", encode_value(bool(record.active))))
    return b"".join(parts)


def load_frames(
    tr: ReadTransaction, items: list[tuple[int, Match]], cache: EntityCache, options: FrameOptions
) -> Iterator[tuple[bytes, int]]:
    """Each ``(position, match)`` as its encoded frame, read fresh; ``(b"", -1)`` for a run gone since."""
    for position, match in items:
        record = search_records.get_record(tr, match.run_id, match.created_at)
        if record is None:
            yield b"", -1
            continue
        yield encode_run_frame(tr, record, cache, options), position
