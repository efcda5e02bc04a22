"""The app skeleton: mount points, slash tolerance, envelope, CORS, health, metrics, version, docs."""

from __future__ import annotations

from pathlib import Path

from api_fixtures import REST, ApiHarness, api, make_settings, open_test_stores
from fastapi import APIRouter
from fastapi.testclient import TestClient

from matyan_api.app import create_app
from matyan_api.errors import ApiError, error_body
from matyan_api.kafka_publisher import RecordingPublisher
from matyan_api.middleware import normalize_request_path

__all__ = ["api"]


def test_live_with_and_without_slash(api: ApiHarness) -> None:
    for path in ("/health/live/", "/health/live", "/health//live"):
        response = api.client.get(path)
        assert response.status_code == 200, path
        assert response.json() == {"status": "ok"}
    assert not any(r.status_code in (301, 307, 308) for r in [api.client.get("/health/live")])


def test_ready_ok(api: ApiHarness) -> None:
    response = api.client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["fdb"] == "ok"
    assert body["checks"]["blobs"] == "ok"
    assert body["checks"]["kafka"] == {"control_producer": True, "ingestion_producer": True}


def test_ready_degraded_when_kafka_down(api: ApiHarness) -> None:
    api.publisher.ready = False
    response = api.client.get("/health/ready/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["kafka"] == {"control_producer": False, "ingestion_producer": False}
    assert body["checks"]["fdb"] == "ok"


def test_ready_degraded_when_store_closed(tmp_path: Path) -> None:
    engine, blobs = open_test_stores(tmp_path)
    app = create_app(make_settings(), engine=engine, blobs=blobs, publisher=RecordingPublisher())
    with TestClient(app) as client:
        engine.close()
        response = client.get("/health/ready/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["fdb"] != "ok"
    assert body["checks"]["fdb"]  # carries the reason


def test_ready_degraded_when_blob_store_fails(api: ApiHarness) -> None:
    async def broken(_key: str) -> bool:
        raise OSError("blob backend unreachable")

    api.blobs.exists = broken  # type: ignore[method-assign,assignment]
    response = api.client.get("/health/ready/")
    assert response.status_code == 503
    assert "blob backend unreachable" in response.json()["checks"]["blobs"]


def test_version(api: ApiHarness) -> None:
    body = api.client.get(f"{REST}/version").json()
    assert body["component"] == "backend"
    assert isinstance(body["fdb_api_version"], int)
    assert body["version"]


def test_unknown_route_and_wrong_method_use_envelope(api: ApiHarness) -> None:
    response = api.client.get(f"{REST}/no-such-thing/")
    assert response.status_code == 404
    body = response.json()
    assert body["error"]["code"] == "not_found"
    assert body["detail"] == body["error"]["message"]
    response = api.client.delete("/health/live/")
    assert response.status_code == 405
    body = response.json()
    assert body["error"]["code"] == "error"
    assert body["detail"] == "Method Not Allowed"


def test_validation_and_unexpected_errors_use_envelope(tmp_path: Path) -> None:
    router = APIRouter()

    @router.get("/boom/")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @router.get("/teapot/")
    async def teapot() -> None:
        raise ApiError(418)

    @router.get("/needs-int/")
    async def needs_int(n: int) -> int:
        return n

    engine, blobs = open_test_stores(tmp_path)
    app = create_app(make_settings(), engine=engine, blobs=blobs, publisher=RecordingPublisher())
    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"Origin": "http://localhost:3000"})
        assert response.status_code == 500
        assert response.json() == error_body(500)
        assert "secret" not in response.text
        assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
        response = client.get("/teapot")
        assert response.status_code == 418
        assert response.json()["error"] == {"code": "error", "message": "Error"}
        response = client.get("/needs-int", params={"n": "x"})
        assert response.status_code == 422
        body = response.json()
        assert body["error"]["code"] == "validation_error"
        assert body["detail"] == body["error"]["message"]
        assert body["detail"] == "Input should be a valid integer, unable to parse string as an integer"
        response = client.get(f"{REST}/version/", headers={"X-Timezone-Offset": "abc"})
        assert response.status_code == 200  # the header is only read where a route declares it
    engine.close()


def test_cors_preflight_answers_with_timezone_header(api: ApiHarness) -> None:
    response = api.client.options(
        f"{REST}/projects/activity",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-Timezone-Offset",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "x-timezone-offset" in response.headers["access-control-allow-headers"].lower()


def test_cors_origins_come_from_settings(tmp_path: Path) -> None:
    engine, blobs = open_test_stores(tmp_path)
    settings = make_settings(cors_origins=["http://ui.example"])
    app = create_app(settings, engine=engine, blobs=blobs, publisher=RecordingPublisher())
    with TestClient(app) as client:
        ok = client.get("/health/live", headers={"Origin": "http://ui.example"})
        other = client.get("/health/live", headers={"Origin": "http://localhost:3000"})
    assert ok.headers["access-control-allow-origin"] == "http://ui.example"
    assert "access-control-allow-origin" not in other.headers
    engine.close()


def test_metrics_after_requests(api: ApiHarness) -> None:
    api.client.get("/health/live")
    api.client.get(f"{REST}/version/")
    api.client.get(f"{REST}/nowhere/1234567890abcdef/")
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert "process_" in text or "python_" in text
    assert 'path_template="/health/live/"' in text
    assert "matyan_http_request_duration_seconds_bucket" in text
    assert 'path_template="<unmatched>"' in text
    assert "1234567890abcdef" not in text


def test_docs_and_openapi_without_redirect_loop(api: ApiHarness) -> None:
    for path in ("/openapi.json", "/openapi.json/"):
        response = api.client.get(path, follow_redirects=False)
        assert response.status_code == 200, path
        assert "/api/v1/rest/version/" in response.json()["paths"]
    response = api.client.get("/docs", follow_redirects=False)
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


def test_normalize_request_path() -> None:
    assert normalize_request_path("/api/v1/rest/tags//abc") == "/api/v1/rest/tags/abc/"
    assert normalize_request_path("/x/") == "/x/"
    assert normalize_request_path("") == "/"
    assert normalize_request_path("/docs/") == "/docs"
    assert normalize_request_path("/openapi.json") == "/openapi.json"
