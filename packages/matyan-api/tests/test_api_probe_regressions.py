"""Regression tests for what probing ``matyan-backend start`` as a careless client found (issue 15): each
request here answered a 5xx, or a 200 whose stream was then cut.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from api_custom_objects_fixtures import CustomObjectsHarness, co_harness, store_blob_objects
from api_runs_fixtures import (
    BASE,
    api_settings,
    assert_envelope,
    log_series,
    make_run,
    run_url,
    runs_blobs,
    runs_client,
    runs_engine,
    runs_publisher,
)
from api_search_helpers import get_stream, post_stream, split_frames, trace_views
from fastapi.responses import StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from matyan_api.app import create_app
from matyan_api.kafka_publisher import RecordingPublisher
from matyan_api.query.prepare import MAX_QUERY_DEPTH
from matyan_api.streaming import ERROR_KEY, decode_frames
from matyan_store.blobs import BlobStore
from matyan_store.engine import Engine

__all__ = ["co_harness", "runs_blobs", "runs_client", "runs_engine", "runs_publisher"]

# A JSON body spelling a lone surrogate: Python's JSON parser accepts it, UTF-8 cannot encode it.
SURROGATE = '"\\ud800"'


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("experiments/", f'{{"name": {SURROGATE}}}'),
        ("tags/", f'{{"name": {SURROGATE}}}'),
        ("dashboards/", f'{{"name": {SURROGATE}, "description": "d"}}'),
        ("reports/", f'{{"name": "r", "code": {SURROGATE}}}'),
        ("experiments/", f'{{"name": "ok", "description": {{"nested": [{SURROGATE}]}}}}'),
        ("tags/", f'{{{SURROGATE}: 1, "name": "t"}}'),
    ],
)
async def test_lone_surrogate_in_a_json_body_is_422(
    runs_client: httpx.AsyncClient, path: str, body: str
) -> None:
    # The name index could not encode it (UnicodeEncodeError), and had it been stored, no JSON answer
    # could have sent it back: a 500, then 500s on every list of that entity.
    response = await runs_client.post(
        f"{BASE}/{path}", content=body, headers={"content-type": "application/json"}
    )
    error = assert_envelope(response, 422, "validation_error")
    assert "lone surrogate" in error["detail"]
    assert "\\ud800" in error["detail"]
    listing = await runs_client.get(f"{BASE}/{path}")
    assert listing.status_code == 200, listing.text


async def test_a_surrogate_pair_escape_is_text(runs_client: httpx.AsyncClient) -> None:
    response = await runs_client.post(
        f"{BASE}/experiments/",
        content='{"name": "a\\ud83d\\ude00"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    listed = (await runs_client.get(f"{BASE}/experiments/")).json()
    assert "a\U0001f600" in [e["name"] for e in listed]


@pytest.mark.parametrize(
    "params",
    [
        {"record_step": str(2**70)},
        {"record_step": str(-(2**70))},
        {"index_range": f"{10**30}:"},
        {"index_range": f":{10**30}", "record_step": str(2**64)},
    ],
)
async def test_get_step_out_of_the_step_domain(
    co_harness: CustomObjectsHarness, params: dict[str, str]
) -> None:
    # The store's step keys hold [0, 2**64): such a step reached the key encoder, a 500.
    make_run(co_harness.engine, "run-1")
    await store_blob_objects(co_harness, "run-1", "grid", [2, 2, 2])
    url = run_url("run-1", "images/get-step/")
    body = await post_stream(co_harness.client, url, [{"name": "grid", "context": {}}], **params)
    for view in trace_views(body):
        assert view["values"] == []


async def test_get_step_index_range_past_the_objects_is_empty(co_harness: CustomObjectsHarness) -> None:
    make_run(co_harness.engine, "run-1")
    await store_blob_objects(co_harness, "run-1", "grid", [2, 2, 2])
    url = run_url("run-1", "images/get-step/")
    [view] = trace_views(
        await post_stream(co_harness.client, url, [{"name": "grid", "context": {}}], index_range=f"{10**30}:")
    )
    assert view["iters"] == [2]
    assert view["values"] == []


@pytest.mark.parametrize("stop", [2**70, 2**64, 2**64 - 1, 10**30])
async def test_align_slice_past_the_step_domain(
    runs_client: httpx.AsyncClient, runs_engine: Engine, stop: int
) -> None:
    # slice [0, 2**70, 1] read the x-axis up to a step no key can hold: the stream broke after its start.
    make_run(runs_engine, "r1")
    log_series(runs_engine, "r1", "loss", [0.5, 0.4, 0.3])
    log_series(runs_engine, "r1", "epoch", [0.0, 1.0, 2.0])
    request = {
        "align_by": "epoch",
        "runs": [{"run_id": "r1", "traces": [{"name": "loss", "context": {}, "slice": [0, stop, 1]}]}],
    }
    body = await post_stream(runs_client, f"{BASE}/runs/search/metric/align/", request)
    [(run_id, [trace])] = decode_frames(body)
    assert run_id == "r1"
    assert trace["x_axis_iters"]["shape"] == 3


@pytest.mark.parametrize(
    "q",
    [
        "+".join(["1"] * 10000),
        "run" + ".a" * 10000,
        "(lambda: " * 1000,
        "(" * 5000 + "1" + ")" * 5000,
        "not " * 5000 + "True",
    ],
    ids=["sum", "attributes", "lambdas", "parentheses", "nots"],
)
@pytest.mark.parametrize("route", ["run", "metric", "images"])
async def test_deep_queries_are_400(runs_client: httpx.AsyncClient, q: str, route: str) -> None:
    # CPython's parser (RecursionError, MemoryError) or the recursive tree walks after it gave a 500.
    response = await runs_client.get(f"{BASE}/runs/search/{route}/", params={"q": q})
    error = assert_envelope(response, 400, "bad_request")
    assert error["detail"].startswith("Invalid query syntax")


@pytest.mark.parametrize(
    "q",
    [
        "+".join(["1"] * (MAX_QUERY_DEPTH - 2)) + " > 0",
        "run" + ".hparams" * (MAX_QUERY_DEPTH - 4) + " == 1",
        "(" * (MAX_QUERY_DEPTH - 3) + "run.hparams.lr > 0" + ")" * (MAX_QUERY_DEPTH - 3),
    ],
    ids=["sum", "attributes", "parentheses"],
)
@pytest.mark.parametrize("route", ["run", "metric"])
async def test_queries_just_within_the_depth_limit_run(
    runs_client: httpx.AsyncClient, runs_engine: Engine, q: str, route: str
) -> None:
    make_run(runs_engine, "r1")
    log_series(runs_engine, "r1", "loss", [0.5])
    body = await get_stream(runs_client, f"{BASE}/runs/search/{route}/", q=q)
    _, progress = split_frames(body)
    assert progress[-1][1] == (0, 0)


async def test_deep_sort_is_400(runs_client: httpx.AsyncClient) -> None:
    response = await runs_client.get(f"{BASE}/runs/search/run/", params={"sort": "[" * 5000})
    error = assert_envelope(response, 400, "bad_request")
    assert error["detail"].startswith("Invalid sort JSON")


@pytest.mark.parametrize(
    "record_range", [f"{-(10**30)}:{10**30}", f"{2**64}:", f":{2**70}", f"{-(2**70)}:{-(2**64)}"]
)
async def test_custom_search_record_range_past_the_step_domain(
    co_harness: CustomObjectsHarness, record_range: str
) -> None:
    # 200, then the stream was cut at the first run: the range reached the step key encoder.
    make_run(co_harness.engine, "run-1")
    await store_blob_objects(co_harness, "run-1", "grid", [1, 1, 1])
    body = await get_stream(co_harness.client, f"{BASE}/runs/search/images/", record_range=record_range)
    data, progress = split_frames(body)
    assert all(key != ERROR_KEY for key, _ in decode_frames(body))
    assert progress[-1][1] == (0, 0)
    assert [key for key, _ in data] == ["run-1"]


async def test_an_error_outside_the_catch_all_is_still_the_envelope(
    runs_engine: Engine, runs_blobs: BlobStore, runs_publisher: RecordingPublisher
) -> None:
    # Starlette's outermost error handler answered a plain-text "Internal Server Error" for anything
    # raised outside CatchAllErrorsMiddleware (a middleware of ours, a bug in CORS handling, ...).
    app = create_app(api_settings(), engine=runs_engine, blobs=runs_blobs, publisher=runs_publisher)

    class Broken:
        def __init__(self, inner: ASGIApp) -> None:
            self.inner = inner

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                raise RuntimeError("a middleware bug")
            await self.inner(scope, receive, send)

    app.add_middleware(Broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get(f"{BASE}/experiments/")
    error = assert_envelope(response, 500, "internal_error")
    assert "middleware bug" not in error["detail"]


async def test_a_response_failing_before_its_first_body_byte_is_the_envelope(
    runs_engine: Engine, runs_blobs: BlobStore, runs_publisher: RecordingPublisher
) -> None:
    # The start of a response had been sent on when its body failed before the first chunk: under
    # granian that became a plain-text 500 (align with slice [0, 2**70, 1] did this).
    app = create_app(api_settings(), engine=runs_engine, blobs=runs_blobs, publisher=runs_publisher)

    async def failing_body() -> AsyncIterator[bytes]:
        for chunk in [b"never sent"]:
            if chunk:
                raise RuntimeError("the first chunk failed")
            yield chunk

    async def route() -> StreamingResponse:
        return StreamingResponse(failing_body(), media_type="application/zip")

    app.add_api_route("/failing-stream/", route)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/failing-stream/")
    error = assert_envelope(response, 500, "internal_error")
    assert "first chunk" not in error["detail"]
    assert response.headers["content-type"] == "application/json"
