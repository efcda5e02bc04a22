"""The released UI served from the API's origin (``create_app(serve_ui=True)``, ``--ui``)."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import make_settings, open_test_stores
from fastapi.testclient import TestClient

from matyan_api.app import create_app
from matyan_api.kafka_publisher import RecordingPublisher
from matyan_api.ui import render_index, ui_static_root


@pytest.fixture
def ui_client(tmp_path: Path) -> Iterator[TestClient]:
    engine, blobs = open_test_stores(tmp_path)
    app = create_app(
        make_settings(), engine=engine, blobs=blobs, publisher=RecordingPublisher(), serve_ui=True
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    engine.close()


def test_bundle_is_installed() -> None:
    root = ui_static_root()
    assert root is not None
    assert (root / "index-template.html").is_file()


def test_root_serves_the_index_pointing_at_this_origin(ui_client: TestClient) -> None:
    response = ui_client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<div id="root">' in page
    assert "{{" not in page  # every placeholder rendered
    # The API root the UI builds: location.origin + "/api/v1" + "/rest".
    assert "window.API_HOST_BASE=window.location.origin" in page
    assert 'window.API_BASE_PATH_SUFFIX="/api/v1"' in page
    assert 'window.API_BASE_PATH=""' in page
    assert 'src="/static-files/static/js/main.js?version=' in page


def test_client_side_routes_get_the_index(ui_client: TestClient) -> None:
    for path in ("/runs/abc", "/metrics-explorer", "/experiments/x/overview/"):
        response = ui_client.get(path)
        assert response.status_code == 200, path
        assert "window.API_HOST_BASE=window.location.origin" in response.text


def test_hashed_asset_loads(ui_client: TestClient) -> None:
    page = ui_client.get("/").text
    found = re.search(r'src="(/static-files/static/js/main\.js)\?version=[0-9a-f]+"', page)
    assert found is not None
    plain = ui_client.get(found.group(1), headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert "javascript" in plain.headers["content-type"]
    # The bundle's main.js is the Matyan build: its API calls use the /rest root and log-records.
    assert "log-records" in plain.text
    assert "finish-batch" in plain.text
    raw = ui_client.get(found.group(1), headers={"Accept-Encoding": "gzip"})
    assert raw.status_code == 200
    assert raw.content == plain.content  # httpx undid the Content-Encoding: gzip of the .gz twin
    root = ui_static_root()
    assert root is not None
    assert gzip.decompress((root / "static/js/main.js.gz").read_bytes()) == plain.content


def test_static_files_stay_inside_the_bundle(ui_client: TestClient) -> None:
    # (A literal "../" is resolved by the HTTP client itself; the encoded form reaches the route.)
    assert ui_client.get("/static-files/%2e%2e/__init__.py").status_code == 404
    assert ui_client.get("/static-files/no-such-file.js").status_code == 404


def test_api_routes_are_not_shadowed(ui_client: TestClient) -> None:
    assert ui_client.get("/health/live").json() == {"status": "ok"}
    assert ui_client.get("/api/v1/rest/projects").json()["name"]
    assert "python_" in ui_client.get("/metrics").text or "process_" in ui_client.get("/metrics").text
    missing = ui_client.get("/api/v1/rest/no-such-route")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert ui_client.get("/openapi.json").json()["info"]["title"] == "Matyan backend"


def test_no_ui_unless_asked(tmp_path: Path) -> None:
    engine, blobs = open_test_stores(tmp_path)
    app = create_app(
        make_settings(), engine=engine, blobs=blobs, publisher=RecordingPublisher(), serve_ui=False
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/").status_code == 404
    engine.close()


def test_the_ui_switches_come_from_the_settings(tmp_path: Path) -> None:
    engine, blobs = open_test_stores(tmp_path)
    settings = make_settings(matyan_serve_ui=True, matyan_ui_api_host_base="https://ml.example")
    app = create_app(settings, engine=engine, blobs=blobs, publisher=RecordingPublisher())
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/", "/runs", "/metrics/"):
            response = client.get(path, headers={"Accept": "text/html"})
            assert response.status_code == 200, path
            assert 'window.API_HOST_BASE="https://ml.example"' in response.text, path
    engine.close()


def test_fixed_host_base_is_a_safe_js_string() -> None:
    template = 'x<script>window.API_HOST_BASE="{{ api_host_base }}",window.API_BASE_PATH="{{ base_path }}"'
    page = render_index(template, host_base='https://ml.example/"</script>')
    assert 'window.API_HOST_BASE="https://ml.example/\\"\\u003c/script>"' in page
    assert "</script>" not in page


def test_metrics_negotiates_between_the_ui_and_prometheus(ui_client: TestClient) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    for path in ("/metrics", "/metrics/", "/metrics/some-app-id"):
        page = ui_client.get(path, headers=browser)
        assert page.status_code == 200, path
        assert '<div id="root">' in page.text, path
    for accept in ("text/plain", "*/*", "application/openmetrics-text; version=1.0.0"):
        scraped = ui_client.get("/metrics", headers={"Accept": accept})
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        assert "# HELP" in scraped.text
