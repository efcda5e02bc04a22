"""Hypothesis over the JSON bodies of the creating and updating routes, with what schemathesis does not
generate: lone surrogates (as JSON escapes), ints far beyond int64, NaN and infinities, deep nesting.
No answer is a 5xx, errors use the envelope, and afterwards every listing still answers 200 (nothing
that cannot be sent back was stored). Bounded: 60 examples, derandomized.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from api_codec_strategies import WIDE_INTS, WIDE_TEXT
from api_fixtures import REST, make_run, make_settings, open_test_stores
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matyan_api.app import create_app
from matyan_api.errors import error_code
from matyan_api.kafka_publisher import RecordingPublisher

RUN: Final = "fuzz-run"
# (method, path, field names of its body); ids of existing entities are filled in per test.
ROUTES: Final = [
    ("POST", "experiments/", ["name", "description"]),
    ("PUT", "experiments/{exp}/", ["name", "description", "archived"]),
    ("POST", "experiments/{exp}/note/", ["content"]),
    ("POST", "tags/", ["name", "color", "description"]),
    ("PUT", "tags/{tag}/", ["name", "color", "description", "archived"]),
    ("POST", "apps/", ["type", "state"]),
    ("POST", "dashboards/", ["name", "description", "app_id"]),
    ("POST", "reports/", ["name", "code", "description"]),
    ("PUT", "runs/{run}/", ["name", "description", "archived", "experiment"]),
    ("POST", "runs/{run}/tags/new/", ["tag_name"]),
    ("POST", "runs/{run}/note/", ["content"]),
    ("POST", "projects/pinned-sequences/", ["sequences"]),
]
LISTINGS: Final = ["experiments/", "tags/", "apps/", "dashboards/", "reports/", "projects/pinned-sequences/"]

# Most fields are strings: text is drawn as often as everything else together.
_values: st.SearchStrategy[Any] = st.one_of(
    WIDE_TEXT,
    st.recursive(
        st.one_of(st.none(), st.booleans(), WIDE_INTS, st.floats(), WIDE_TEXT),
        lambda children: st.one_of(
            st.lists(children, max_size=3), st.dictionaries(WIDE_TEXT, children, max_size=3)
        ),
        max_leaves=8,
    ),
)


@pytest.fixture
def fuzz_client(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    engine, blobs = open_test_stores(tmp_path)
    make_run(engine, RUN)
    app = create_app(
        make_settings(otel_exporter_otlp_endpoint=""),
        engine=engine,
        blobs=blobs,
        publisher=RecordingPublisher(),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        ids = {
            "exp": client.post(f"{REST}/experiments/", json={"name": "e"}).json()["id"],
            "tag": client.post(f"{REST}/tags/", json={"name": "t"}).json()["id"],
            "run": RUN,
        }
        yield client, ids
    engine.close()


@given(route=st.sampled_from(ROUTES), data=st.data())
@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_edge_values_in_bodies_never_5xx(
    fuzz_client: tuple[TestClient, dict[str, str]], route: tuple[str, str, list[str]], data: st.DataObject
) -> None:
    client, ids = fuzz_client
    method, path, fields = route
    body = {name: data.draw(_values, label=name) for name in data.draw(st.sets(st.sampled_from(fields)))}
    # ensure_ascii: a lone surrogate goes out as a "\ud800" escape, NaN as the NaN literal.
    raw = json.dumps(body)
    response = client.request(
        method, f"{REST}/{path.format(**ids)}", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code < 500, f"{method} {path} {raw[:300]}: {response.text}"
    if response.status_code >= 400:
        envelope = response.json()
        assert envelope["error"]["code"] == error_code(response.status_code)
        assert envelope["detail"] == envelope["error"]["message"]
    for listing in LISTINGS:
        listed = client.get(f"{REST}/{listing}")
        assert listed.status_code == 200, f"{listing} after {method} {path} {raw[:300]}: {listed.text}"
    info = client.get(f"{REST}/runs/{RUN}/info/")
    assert info.status_code == 200, f"run info after {method} {path} {raw[:300]}: {info.text}"
