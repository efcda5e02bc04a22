"""The query language (MatyanQL, AimQL-compatible) and its index planner.

See docs/http-contract.md, Query language.

Typical use in a route::

    query = prepare_query(q, tz_offset_minutes=offset)      # QuerySyntaxError -> 400 before streaming
    plan = engine.read(lambda tr: plan_query(tr, query))      # candidates from the indexes
    run = engine.read(lambda tr: load_run_view(tr, run_id))   # per candidate when not exact
    query.evaluate(run) / query.matches_run(run, sequence_views(run, infos))
"""

from matyan_api.query.errors import QuerySyntaxError
from matyan_api.query.loading import load_run_view, load_trace_infos, sequence_views
from matyan_api.query.planner import (
    PlanResult,
    has_unindexed_sequence_predicate,
    needs_trace_evaluation,
    plan_query,
)
from matyan_api.query.prepare import SEQUENCE_NAMES, PreparedQuery, extract_expression, prepare_query
from matyan_api.query.views import AttrProxy, MetricsView, RunView, SequenceView, TagsView, TraceInfo

__all__ = [
    "SEQUENCE_NAMES",
    "AttrProxy",
    "MetricsView",
    "PlanResult",
    "PreparedQuery",
    "QuerySyntaxError",
    "RunView",
    "SequenceView",
    "TagsView",
    "TraceInfo",
    "extract_expression",
    "has_unindexed_sequence_predicate",
    "load_run_view",
    "load_trace_infos",
    "needs_trace_evaluation",
    "plan_query",
    "prepare_query",
    "sequence_views",
]
