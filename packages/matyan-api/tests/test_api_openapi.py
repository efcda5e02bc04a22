"""Every JSON route of the app documents the shape of its body in ``/openapi.json``.

The routes are enumerated from the app itself, so a route added without a response model fails here.
Streaming routes (binary frames, raw bytes, zips) must not claim a JSON body instead. Routes left out
of the schema on purpose (login pages, auth helpers, the Prometheus text) are not part of the contract
the schema documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_runs_fixtures import api_settings
from fastapi import FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute

from matyan_api.app import create_app
from matyan_api.routes import REST_PREFIX
from matyan_store.engine import open_engine

RUNS_PREFIX = f"{REST_PREFIX}/runs/"
# A body of one JSON scalar (``"up-to-date"``, ``null``) is documented by its type.
SCALAR_TYPES = frozenset({"string", "integer", "number", "boolean", "null"})


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    path: Path = tmp_path_factory.mktemp("openapi") / "kv"
    engine = open_engine(f"lmdb://{path}?sync=false")
    yield create_app(api_settings(), engine=engine)
    engine.close()


def _schema_routes(app: FastAPI) -> list[APIRoute]:
    return [r for r in app.routes if isinstance(r, APIRoute) and r.include_in_schema]


def _response_class(route: APIRoute) -> type[Any]:
    cls = route.response_class
    return cls.value if isinstance(cls, DefaultPlaceholder) else cls


def _is_stream(route: APIRoute) -> bool:
    return issubclass(_response_class(route), StreamingResponse)


def documents_shape(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """Whether ``schema`` names the fields of an object (or of each item of an array of objects), or the
    type of a scalar.

    ``{}``, a bare ``object`` and an object of arbitrary keys (what ``dict[str, Any]`` gives) say nothing.
    """
    ref = schema.get("$ref")
    if isinstance(ref, str):
        schema = components[ref.rsplit("/", 1)[-1]]
    if schema.get("type") == "array":
        return documents_shape(schema.get("items", {}), components)
    if schema.get("type") in SCALAR_TYPES:
        return True
    return bool(schema.get("properties"))


@pytest.mark.parametrize(
    ("schema", "documented"),
    [
        ({}, False),
        ({"type": "object"}, False),
        ({"type": "object", "additionalProperties": True}, False),
        ({"type": "array", "items": {"type": "object", "additionalProperties": True}}, False),
        ({"type": "array", "items": {"$ref": "#/components/schemas/M"}}, True),
        ({"$ref": "#/components/schemas/M"}, True),
        ({"type": "string"}, True),
        ({"type": "null"}, True),
        ({"type": "array", "items": {}}, False),
    ],
)
def test_documents_shape_tells_typed_from_untyped(schema: dict[str, Any], documented: bool) -> None:
    components = {"M": {"type": "object", "properties": {"id": {"type": "string"}}}}
    assert documents_shape(schema, components) is documented


def test_the_routes_include_json_and_streaming_ones(app: FastAPI) -> None:
    routes = _schema_routes(app)
    json_routes = [r for r in routes if not _is_stream(r) and r.status_code != 204]
    assert len([r for r in json_routes if r.path.startswith(RUNS_PREFIX)]) >= 14, [
        r.path for r in json_routes
    ]
    assert {"/health/live/", f"{REST_PREFIX}/version/", f"{REST_PREFIX}/projects/params/"} <= {
        r.path for r in json_routes
    }
    assert any(_is_stream(r) for r in routes)


def test_every_json_route_declares_its_body(app: FastAPI) -> None:
    spec = app.openapi()
    components = spec["components"]["schemas"]
    undocumented: list[str] = []
    for route in _schema_routes(app):
        for method in sorted(route.methods):
            label = f"{method} {route.path}"
            responses = spec["paths"][route.path][method.lower()]["responses"]
            status = str(route.status_code or 200)
            content = responses[status].get("content") or {}
            if route.status_code == 204:
                assert not content, label
            elif _is_stream(route):
                assert "application/json" not in content, label
            elif not documents_shape(content.get("application/json", {}).get("schema", {}), components):
                undocumented.append(label)
    assert undocumented == []
