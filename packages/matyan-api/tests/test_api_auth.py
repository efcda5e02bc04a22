"""Authentication: each scope on each kind of route, the UI's login and session, what stays open."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
from api_fixtures import REST, make_settings, open_test_stores
from fastapi.testclient import TestClient
from loguru import logger

from matyan_api.app import create_app
from matyan_api.auth.session import SESSION_COOKIE, sign_session, verify_session
from matyan_api.auth.settings import AuthSettings
from matyan_api.kafka_publisher import RecordingPublisher
from matyan_store import tokens
from matyan_store.engine import Engine

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
# One route of each kind: (method, path, json body, scope it needs).
ROUTES: list[tuple[str, str, object, tokens.Scope]] = [
    ("GET", f"{REST}/experiments/", None, "read"),
    ("GET", f"{REST}/projects/", None, "read"),
    ("POST", f"{REST}/runs/0123456789abcdef/metric/get-batch/", [], "read"),
    ("POST", f"{REST}/tags/", {"name": "t-{scope}"}, "write"),
    ("DELETE", f"{REST}/experiments/0123456789abcdef/", None, "write"),
    ("GET", "/api/v1/auth/tokens/", None, "admin"),
]


class AuthHarness:
    def __init__(self, client: TestClient, engine: Engine) -> None:
        self.client = client
        self.engine = engine
        self.tokens: dict[tokens.Scope, str] = {}
        for scope in tokens.SCOPES:
            token = tokens.new_token()
            engine.transact(partial(tokens.create_token, token=token, name=scope, scope=scope))
            self.tokens[scope] = token

    def call(self, method: str, path: str, body: object = None, **headers: str) -> int:
        response = self.client.request(method, path, json=body, headers=headers)
        return response.status_code


@contextmanager
def secured_app(tmp_path: Path) -> Iterator[AuthHarness]:
    """An app with auth enabled and one token per scope, for the life of the ``with`` block."""
    engine, blobs = open_test_stores(tmp_path)
    app = create_app(
        make_settings(),
        engine=engine,
        blobs=blobs,
        publisher=RecordingPublisher(),
        serve_ui=True,
        auth=AuthSettings(matyan_auth="enabled"),
    )
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield AuthHarness(client, engine)
    engine.close()


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[AuthHarness]:
    with secured_app(tmp_path) as harness:
        yield harness


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_each_scope_on_each_kind_of_route(secured: AuthHarness, route: tuple[str, str, object, str]) -> None:
    method, path, body, needed = route
    for scope, token in secured.tokens.items():
        payload = {"name": f"t-{scope}"} if isinstance(body, dict) else body
        status = secured.call(method, path, payload, Authorization=f"Bearer {token}")
        if tokens.scope_allows(scope, needed):  # type: ignore[arg-type]
            assert status not in (401, 403), (scope, status)
        else:
            assert status == 403, (scope, status)


def test_api_client_without_a_valid_token_gets_the_401_envelope(secured: AuthHarness) -> None:
    forged = secured.tokens["admin"][:-1] + ("0" if secured.tokens["admin"][-1] != "0" else "1")
    for headers in ({}, {"Authorization": f"Bearer {forged}"}, {"Authorization": "Bearer nonsense"}):
        response = secured.client.get(f"{REST}/experiments/", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.json()["detail"] == response.json()["error"]["message"]
        assert "Bearer" in response.headers["www-authenticate"]


def test_token_as_the_basic_auth_password(secured: AuthHarness) -> None:
    basic = base64.b64encode(f"me:{secured.tokens['read']}".encode()).decode()
    assert secured.call("GET", f"{REST}/experiments/", Authorization=f"Basic {basic}") == 200
    wrong = base64.b64encode(b"me:mty_000000000000_" + b"0" * 64).decode()
    assert secured.call("GET", f"{REST}/experiments/", Authorization=f"Basic {wrong}") == 401


def test_health_prometheus_static_and_login_stay_open(secured: AuthHarness) -> None:
    assert secured.call("GET", "/health/live/") == 200
    metrics = secured.client.get("/metrics/")
    assert metrics.status_code == 200
    assert "matyan_http_requests_total" in metrics.text
    assert secured.call("GET", "/login/") == 200
    assert secured.call("GET", "/static-files/favicon.ico") == 200


def test_ui_navigation_without_a_session_redirects_to_login(secured: AuthHarness) -> None:
    for path in ("/", "/runs", "/metrics", "/runs/abc?x=1"):
        response = secured.client.get(path, headers=HTML)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login/?next=%2F")


def test_browser_api_call_without_a_session_never_gets_401(secured: AuthHarness) -> None:
    # The released UI answers a 401 by reloading; a browser gets 403 and the page load goes to login.
    for headers in (
        {"X-Timezone-Offset": "0"},
        {"Sec-Fetch-Mode": "cors"},
        {"Cookie": f"{SESSION_COOKIE}=x.1.y"},
    ):
        assert secured.call("GET", f"{REST}/experiments/", **headers) == 403


def test_login_sets_a_session_the_ui_and_api_accept(secured: AuthHarness) -> None:
    bad = secured.client.post("/login/", data={"token": "mty_nope", "next": "/runs"})
    assert bad.status_code == 401
    assert SESSION_COOKIE not in bad.cookies
    response = secured.client.post("/login/", data={"token": secured.tokens["read"], "next": "/runs"})
    assert response.status_code == 303
    assert response.headers["location"] == "/runs"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "Max-Age=" in cookie
    assert secured.tokens["read"] not in cookie
    page = secured.client.get("/runs", headers=HTML)
    assert page.status_code == 200
    assert '<div id="root">' in page.text
    assert secured.call("GET", f"{REST}/experiments/", **{"X-Timezone-Offset": "0"}) == 200
    # A read session cannot write.
    assert secured.call("POST", f"{REST}/tags/", {"name": "x"}, **{"X-Timezone-Offset": "0"}) == 403
    whoami = secured.client.get("/api/v1/auth/whoami/").json()
    assert whoami == {
        "auth": "enabled",
        "token_id": tokens.token_id_of(secured.tokens["read"]),
        "name": "read",
        "scope": "read",
        "via": "session",
    }
    secured.client.get("/logout/")
    assert secured.client.get("/runs", headers=HTML).status_code == 303


def _fresh_app_client(secured: AuthHarness, tmp_path: Path) -> TestClient:
    # Another API process on the same store: nothing cached, the session key read from the store.
    _, blobs = open_test_stores(tmp_path)
    app = create_app(
        make_settings(),
        engine=secured.engine,
        blobs=blobs,
        publisher=RecordingPublisher(),
        serve_ui=True,
        auth=AuthSettings(matyan_auth="enabled"),
    )
    client = TestClient(app, follow_redirects=False)
    client.cookies.update(secured.client.cookies)
    return client


def test_sessions_work_across_processes_and_end_with_their_token(
    secured: AuthHarness, tmp_path: Path
) -> None:
    secured.client.post("/login/", data={"token": secured.tokens["write"], "next": "/"})
    with _fresh_app_client(secured, tmp_path / "a") as other:
        assert other.get("/runs", headers=HTML).status_code == 200
    token_id = tokens.token_id_of(secured.tokens["write"]) or ""
    secured.engine.transact(lambda tr: tokens.revoke_token(tr, token_id))
    with _fresh_app_client(secured, tmp_path / "b") as other:
        assert other.get("/runs", headers=HTML).status_code == 303


def test_login_never_redirects_off_site(secured: AuthHarness) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = secured.client.post("/login/", data={"token": secured.tokens["read"], "next": target})
        assert response.headers["location"] == "/"


def test_tokens_never_reach_the_logs(tmp_path: Path) -> None:
    lines: list[str] = []
    sink = logger.add(lines.append, level="TRACE", format="{message} {extra} {exception}")
    try:
        # The whole app lifetime inside the capture: start-up, requests (good, bad, failing), shutdown.
        with secured_app(tmp_path) as secured:
            client = secured.client
            for token in secured.tokens.values():
                basic = base64.b64encode(f"u:{token}".encode()).decode()
                secured.call("GET", f"{REST}/experiments/", Authorization=f"Bearer {token}")
                secured.call("GET", f"{REST}/runs/nope/info/", Authorization=f"Basic {basic}")
                secured.call("DELETE", f"{REST}/tags/nope/", Authorization=f"Bearer {token}")
                client.post("/login/", data={"token": token, "next": "/"})
                client.post("/login/", data={"token": token + "0", "next": "/"})
    finally:
        logger.remove(sink)
    assert lines, "expected the app to log something"
    text = "".join(lines)
    assert all(token not in text and token.rsplit("_", 1)[1] not in text for token in secured.tokens.values())


def test_session_cookie_is_signed_and_expires() -> None:
    key = b"k" * 32
    value = sign_session(key, "abcdef012345", ttl_s=60, now=1000.0)
    assert verify_session(key, value, now=1059.0) == "abcdef012345"
    assert verify_session(key, value, now=1060.0) is None
    assert verify_session(b"x" * 32, value, now=1000.0) is None
    token_id, expires, mac = value.split(".")
    assert verify_session(key, f"{token_id}.{int(expires) + 3600}.{mac}", now=1000.0) is None
    assert verify_session(key, "garbage", now=1000.0) is None


def test_auth_off_by_default_and_required_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MATYAN_AUTH", raising=False)
    unset = AuthSettings()
    assert unset.enabled is False
    assert [p.split(" ")[0] for p in unset.production_problems()] == ["MATYAN_AUTH"]
    assert AuthSettings(matyan_auth="disabled").production_problems() == []
    assert AuthSettings(matyan_auth="enabled").production_problems() == []
