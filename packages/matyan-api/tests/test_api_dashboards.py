"""``/api/v1/rest/dashboards``, ``/apps`` and ``/reports``: shapes, status codes, 404s."""

from __future__ import annotations

import uuid

from api_fixtures import REST, ApiHarness, api

__all__ = ["api"]

D = f"{REST}/dashboards"
A = f"{REST}/apps"
R = f"{REST}/reports"


def test_dashboard_lifecycle(api: ApiHarness) -> None:
    assert api.client.get(D).json() == []
    response = api.client.post(f"{D}/", json={"name": "main", "description": "desc"})
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {"id", "name", "description", "app_id", "app_type", "updated_at", "created_at"}
    assert created["description"] == "desc"
    assert isinstance(created["created_at"], float)
    dash_id = created["id"]
    assert api.client.get(f"{D}//{dash_id}").json()["name"] == "main"
    response = api.client.put(f"{D}/{dash_id}/", json={"name": "renamed"})
    assert response.status_code == 200
    assert response.json()["name"] == "renamed"
    assert response.json()["description"] == "desc"
    assert api.client.put(f"{D}/{dash_id}/", json={"description": "d2"}).json()["description"] == "d2"
    response = api.client.delete(f"{D}/{dash_id}/")
    assert response.status_code == 204
    assert response.content == b""
    assert api.client.get(f"{D}/").json() == []
    # Soft-deleted: gone for GET, PUT and DELETE.
    assert api.client.get(f"{D}/{dash_id}/").status_code == 404
    assert api.client.put(f"{D}/{dash_id}/", json={"name": "x"}).status_code == 404
    assert api.client.delete(f"{D}/{dash_id}/").status_code == 404


def test_dashboard_defaults_app_link_and_404s(api: ApiHarness) -> None:
    app = api.client.post(f"{A}/", json={"type": "metrics", "state": {"q": 1}}).json()
    created = api.client.post(f"{D}/", json={"name": "linked", "app_id": app["id"]}).json()
    assert created["description"] == ""
    assert created["app_id"] == app["id"]
    assert created["app_type"] == "metrics"
    assert api.client.post(f"{D}/", json={"description": "no name"}).status_code == 422
    missing = uuid.uuid4()
    assert api.client.get(f"{D}/{missing}/").status_code == 404
    assert api.client.put(f"{D}/{missing}/", json={"name": "x"}).status_code == 404
    assert api.client.delete(f"{D}/{missing}/").status_code == 404


def test_app_lifecycle(api: ApiHarness) -> None:
    response = api.client.post(f"{A}/", json={"type": "params", "state": {"a": [1, 2]}})
    assert response.status_code == 201
    app = response.json()
    assert set(app) == {"id", "type", "updated_at", "created_at", "state"}
    assert app["state"] == {"a": [1, 2]}
    api.client.post(f"{A}/", json={"type": "metrics", "state": {}})
    assert {a["type"] for a in api.client.get(A).json()} == {"params", "metrics"}
    assert api.client.get(f"{A}/{app['id']}").json()["type"] == "params"
    updated = api.client.put(f"{A}/{app['id']}/", json={"state": {"b": True}}).json()
    assert updated["state"] == {"b": True}
    assert updated["type"] == "params"
    assert api.client.delete(f"{A}/{app['id']}/").status_code == 204
    assert api.client.get(f"{A}/{app['id']}/").status_code == 404
    assert api.client.post(f"{A}/", json={"type": "x"}).status_code == 422
    assert api.client.post(f"{A}/", json={"type": "x", "state": [1]}).status_code == 422
    missing = uuid.uuid4()
    assert api.client.put(f"{A}/{missing}/", json={"type": "x"}).status_code == 404
    assert api.client.delete(f"{A}/{missing}/").status_code == 404


def test_report_lifecycle(api: ApiHarness) -> None:
    response = api.client.post(f"{R}/", json={"name": "r", "code": "print(1)", "description": "d"})
    assert response.status_code == 201
    report = response.json()
    assert set(report) == {"id", "name", "code", "description", "updated_at", "created_at"}
    assert (report["code"], report["description"]) == ("print(1)", "d")
    bare = api.client.post(f"{R}/", json={"name": "bare"}).json()
    assert (bare["code"], bare["description"]) == ("", "")
    assert len(api.client.get(R).json()) == 2
    assert api.client.get(f"{R}/{report['id']}").json()["name"] == "r"
    updated = api.client.put(f"{R}/{report['id']}/", json={"name": "n", "code": "c", "description": "e"})
    assert updated.json()["name"] == "n"
    assert updated.json()["code"] == "c"
    assert updated.json()["description"] == "e"
    assert updated.json()["updated_at"] >= report["updated_at"]
    assert api.client.delete(f"{R}/{report['id']}/").status_code == 204
    assert api.client.get(f"{R}/{report['id']}/").status_code == 404
    missing = uuid.uuid4()
    assert api.client.put(f"{R}/{missing}/", json={"name": "x"}).status_code == 404
    assert api.client.delete(f"{R}/{missing}/").status_code == 404
    assert api.client.post(f"{R}/", json={}).status_code == 422
