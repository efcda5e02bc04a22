"""Schemathesis over the API's OpenAPI schema: no generated request gets a 5xx, errors use the envelope,
and every successful body conforms to the schema its route declares.

Every JSON route is called with inputs generated from its schema (valid and invalid ones), against a real
LMDB store seeded with a few runs, experiments, tags, notes, dashboards, apps and reports. Path
parameters are widened to sometimes name those seeded entities, so handlers get past their 404s. Routes
that publish to Kafka go to a recording publisher. The binary streaming routes (run/metric search,
active runs, logs, custom objects, artifact download) answer ``application/octet-stream`` and are left
to their own tests. The example count is bounded (40 per operation, about 35 s on 2 cores) and generation
derandomized, so the module runs the same way every time; ``MATYAN_SCHEMATHESIS_EXAMPLES=500`` hunts
deeper by hand.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
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
from matyan_benchmarks.api import bench_experiment_id, bench_run_id, bench_tag_id, fill_store
from matyan_store import entities
from matyan_store.engine import Engine, Transaction

BASE_URL: Final = "http://testserver"
EXAMPLES_PER_OPERATION: Final = int(os.environ.get("MATYAN_SCHEMATHESIS_EXAMPLES", "40"))
SEEDED_RUNS: Final = 6

# Binary (octet-stream) routes, run search and custom objects included whatever their sequence name.
_STREAMING: Final = (
    r"^/api/v1/rest/runs/("
    r"search/.*|active/|[^/]+/logs/|[^/]+/log-records/|[^/]+/artifacts/download/"
    r"|[^/]+/(images|texts|distributions|audios|figures)/.*|(images|audios)/get-batch/"
    r")$"
)

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

    engine.transact(write)


def _openapi_document() -> dict[str, Any]:
    """The app's schema, each id path parameter widened to ``seeded id | any string``."""
    app = create_app(make_settings(otel_exporter_otlp_endpoint=""), publisher=RecordingPublisher())
    document = copy.deepcopy(app.openapi())
    known = _seeded_ids()
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                seeded = known.get(parameter["name"]) if parameter["in"] == "path" else None
                if seeded:
                    parameter["schema"] = {"anyOf": [{"enum": seeded}, parameter["schema"]]}
    return document


schema = schemathesis.openapi.from_dict(_openapi_document()).exclude(path_regex=_STREAMING)


@pytest.fixture
def seeded_client(tmp_path: Path) -> Iterator[ASGIClient]:
    """A requests session wired to an app over a freshly seeded store, one per operation.

    Fresh per operation because the mutating routes delete seeded entities; the examples of one operation
    share it. The lifespan is not run: with the stores given it would open nothing.
    """
    engine, blobs = open_test_stores(tmp_path)
    _seed(engine)
    settings = make_settings(otel_exporter_otlp_endpoint="")
    app = create_app(settings, engine=engine, blobs=blobs, publisher=RecordingPublisher())
    # FastAPI is an ASGI app; its signature spells the scope types more loosely than schemathesis does.
    client = get_client(cast("ASGIApp", app))
    yield client
    client.close()
    engine.close()


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
