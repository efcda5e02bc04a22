"""Schemathesis over the API's OpenAPI schema: no generated request gets a 5xx, errors use the envelope,
and every successful body conforms to the schema its route declares.

Every route is called with inputs generated from its schema (valid and invalid ones), against a real
LMDB store seeded with a few runs, experiments, tags, notes, dashboards, apps and reports; one run also
holds the values at the edges of JSON (an int beyond int64, NaN, infinities, a lone surrogate) and
custom objects. Path parameters are widened to sometimes name those seeded entities, so handlers get
past their 404s; integer parameters to sometimes be far beyond int64, step ranges to have huge bounds,
and queries to be nested very deeply. Routes that publish to Kafka go to a recording publisher.

The binary streaming routes (run/metric search, active runs, logs, custom objects, blob batches) get a
test of their own: a 200 body must decode into whole pairs and end with the search's closing frame, and
must not carry an internal-error frame. The example count is bounded (40 per JSON operation, 10 per
streaming one, about a minute of CPU in all) and generation derandomized, so the module runs the
same way every time; ``MATYAN_SCHEMATHESIS_EXAMPLES=500`` hunts deeper by hand.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, cast

import pytest
import schemathesis
from api_fixtures import make_settings, open_test_stores
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import ASGIApp, ASGIClient, get_client
from schemathesis.specs.openapi.checks import response_schema_conformance

from matyan_api.app import create_app
from matyan_api.errors import error_code
from matyan_api.kafka_publisher import RecordingPublisher
from matyan_api.streaming import ERROR_KEY, decode_frames, is_progress_key, stream_error
from matyan_benchmarks.api import bench_experiment_id, bench_run_id, bench_tag_id, fill_store
from matyan_models import context_to_id
from matyan_store import entities
from matyan_store.engine import Engine, Transaction
from matyan_store.runs import set_context, set_run_attrs, write_run_series
from matyan_store.sequences import Point, SeriesKey

BASE_URL: Final = "http://testserver"
EXAMPLES_PER_OPERATION: Final = int(os.environ.get("MATYAN_SCHEMATHESIS_EXAMPLES", "40"))
STREAM_EXAMPLES_PER_OPERATION: Final = int(os.environ.get("MATYAN_SCHEMATHESIS_EXAMPLES", "10"))
SEEDED_RUNS: Final = 6

# Binary (octet-stream) routes, run search and custom objects included whatever their sequence name.
_STREAMING: Final = (
    r"^/api/v1/rest/runs/("
    r"search/.*|active/|[^/]+/logs/|[^/]+/log-records/|[^/]+/artifacts/download/"
    r"|[^/]+/(images|texts|distributions|audios|figures)/.*|(images|audios)/get-batch/"
    r")$"
)
# Raw artifact bytes, not the pair codec.
_RAW_BYTES: Final = r"/artifacts/download/$"
# Searches whose stream ends with the (0, 0) progress frame unless report_progress=false.
_CLOSED_SEARCH: Final = re.compile(r"/runs/search/(run|metric|images|texts|distributions|audios|figures)/$")

# Values past what the parameters' types suggest: beyond int64, huge step ranges, very deep queries.
HUGE_INTS: Final = [2**70, -(2**70), 2**63, -(2**63) - 1, 10**30]
HUGE_RANGES: Final = [f"{-(10**30)}:{10**30}", f"{2**64}:", f":{2**70}", f"{10**30}:", f"{-(2**70)}:-1"]
DEEP_QUERIES: Final = [
    "+".join(["1"] * 10000),
    "run" + ".a" * 10000,
    "(lambda: " * 1000,
    "run.hparams.big > 0",
    "run.edge.text == 'a'",
]
_WIDENED: Final[dict[str, list[Any]]] = {
    "record_range": HUGE_RANGES,
    "index_range": HUGE_RANGES,
    "q": DEEP_QUERIES,
    "sort": ["[" * 5000, '[{"field": "hparams.big", "order": "asc"}]'],
}

NOTE_ID: Final = "5c7d0000-0000-4000-8000-000000000001"
EXP_NOTE_ID: Final = "5c7d0000-0000-4000-8000-000000000002"
DASHBOARD_ID: Final = "da5b0000-0000-4000-8000-000000000001"
APP_ID: Final = "a9900000-0000-4000-8000-000000000001"
REPORT_ID: Final = "4e900000-0000-4000-8000-000000000001"


def _seeded_ids() -> dict[str, list[str]]:
    """What each path parameter may name in the seeded store (the generator also invents ids)."""
    return {
        # Two of the seeded runs: the first owns the note, so run + note pairs sometimes match.
        "run_id": [bench_run_id(i) for i in range(2)],
        "exp_id": [bench_experiment_id(i) for i in range(2)],
        "tag_id": [bench_tag_id(i) for i in range(3)],
        "note_id": [NOTE_ID, EXP_NOTE_ID],
        "dashboard_id": [DASHBOARD_ID],
        "app_id": [APP_ID],
        "report_id": [REPORT_ID],
    }


def _seed(engine: Engine) -> None:
    fill_store(engine, SEEDED_RUNS, experiments=2, tags=3, points=5)
    ids = _seeded_ids()

    def write(tr: Transaction) -> None:
        entities.create_note(tr, content="a run note", run_id=ids["run_id"][0], note_id=NOTE_ID)
        entities.create_note(
            tr, content="an experiment note", experiment_id=ids["exp_id"][0], note_id=EXP_NOTE_ID
        )
        entities.create_dashboard_app(tr, "metrics", {"chart": 1}, app_id=APP_ID)
        entities.create_dashboard(tr, "board", "a dashboard", APP_ID, dashboard_id=DASHBOARD_ID)
        entities.create_report(tr, "report", "print(1)", "a report", report_id=REPORT_ID)
        _write_edge_run(tr, ids["run_id"][0])

    engine.transact(write)


def _write_edge_run(tr: Transaction, run_id: str) -> None:
    """Edge values in a seeded run's params, and one custom-object series of each kind."""
    edge = {"big": 2**70, "nan": float("nan"), "inf": float("inf"), "text": "a\ud800", "deep": [[[[[1]]]]]}
    set_run_attrs(tr, run_id, ("edge",), edge)
    set_context(tr, run_id, {})
    objects = {
        "image": [
            {"caption": "c", "format": "png", "width": 1, "height": 1, "s3_key": f"{run_id}/seq/i.png"}
        ],
        "text": {"data": "a\ud800 text"},
        "distribution": {"bin_count": 1, "range": [0, 1], "data": [2.0]},
        "audio": [{"caption": "c", "format": "wav", "s3_key": f"{run_id}/seq/a.wav"}],
        "figure": {"data": "{}"},
        "logs": "a log line",
    }
    for dtype, value in objects.items():
        key = SeriesKey(run_id, context_to_id({}), f"edge-{dtype}")
        write_run_series(tr, key, [Point(step, value) for step in (0, 2**40)], dtype)


def _openapi_document() -> dict[str, Any]:
    """The app's schema, each parameter widened: ids to ``seeded id | any``, the rest as listed above."""
    app = create_app(make_settings(otel_exporter_otlp_endpoint=""), publisher=RecordingPublisher())
    document = copy.deepcopy(app.openapi())
    known = _seeded_ids()
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                name, where = parameter["name"], parameter["in"]
                extra = known.get(name) if where == "path" else _WIDENED.get(name)
                if extra is None and where == "query" and parameter["schema"].get("type") == "integer":
                    extra = HUGE_INTS
                if extra:
                    parameter["schema"] = {"anyOf": [{"enum": extra}, parameter["schema"]]}
    return document


_document = _openapi_document()
schema = schemathesis.openapi.from_dict(_document).exclude(path_regex=_STREAMING)
stream_schema = (
    schemathesis.openapi.from_dict(_document).include(path_regex=_STREAMING).exclude(path_regex=_RAW_BYTES)
)


@contextmanager
def _seeded_app_client(directory: Path) -> Iterator[ASGIClient]:
    """A requests session wired to an app over a freshly seeded store in ``directory``.

    The lifespan is not run: with the stores given it would open nothing.
    """
    engine, blobs = open_test_stores(directory)
    _seed(engine)
    settings = make_settings(otel_exporter_otlp_endpoint="")
    app = create_app(settings, engine=engine, blobs=blobs, publisher=RecordingPublisher())
    # FastAPI is an ASGI app; its signature spells the scope types more loosely than schemathesis does.
    client = get_client(cast("ASGIApp", app))
    yield client
    client.close()
    engine.close()


@pytest.fixture
def seeded_client(tmp_path: Path) -> Iterator[ASGIClient]:
    """A fresh seeded app per operation: the mutating routes delete seeded entities.

    The examples of one operation share it.
    """
    with _seeded_app_client(tmp_path) as client:
        yield client


@pytest.fixture(scope="module")
def stream_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ASGIClient]:
    """One seeded app for every streaming operation: they only read (seeding is most of their cost)."""
    with _seeded_app_client(tmp_path_factory.mktemp("streams")) as client:
        yield client


def _assert_envelope(case: schemathesis.Case[Any], status: int, body: Any) -> None:
    where = case.as_curl_command(base_url=BASE_URL)
    assert isinstance(body, dict), f"{status} without the JSON envelope: {body!r}\n{where}"
    error = body.get("error")
    assert isinstance(error, dict), f"{status} without the JSON envelope: {body!r}\n{where}"
    assert error.get("code") == error_code(status), where
    assert isinstance(error.get("message"), str), where
    assert error["message"], where
    assert body.get("detail") == error["message"], where


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_errors_use_the_envelope(
    case: schemathesis.Case[Any], seeded_client: ASGIClient
) -> None:
    response = case.call(base_url=BASE_URL, session=seeded_client)
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code < 300:
        case.validate_response(response, checks=[response_schema_conformance])
    if response.status_code >= 400:
        _assert_envelope(case, response.status_code, response.json())


def _check_stream(case: schemathesis.Case[Any], body: bytes) -> None:
    """A 200 stream is whole pairs, carries no internal error, and a search ends with its closing frame."""
    where = case.as_curl_command(base_url=BASE_URL)
    items = decode_frames(body)  # raises CorruptStream on a cut pair
    for key, value in items:
        if key == ERROR_KEY:
            error = stream_error(value)
            assert error is not None, where
            assert error["code"] != "internal_error", f"{error}\n{where}"
    closes = case.method == "GET" and _CLOSED_SEARCH.search(case.path) is not None
    progress = str((case.query or {}).get("report_progress", "true")).lower()
    if closes and progress in ("true", "1", "yes", "on"):
        assert items, where
        last_key, last = items[-1]
        assert is_progress_key(last_key), where
        assert last == [0, 0], where


@stream_schema.parametrize()
@settings(
    max_examples=STREAM_EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_streams_decode_whole_and_errors_use_the_envelope(
    case: schemathesis.Case[Any], stream_client: ASGIClient
) -> None:
    response = case.call(base_url=BASE_URL, session=stream_client)
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        _assert_envelope(case, response.status_code, response.json())
    elif response.status_code == 200:
        assert response.headers["content-type"] == ["application/octet-stream"]
        _check_stream(case, response.content)
