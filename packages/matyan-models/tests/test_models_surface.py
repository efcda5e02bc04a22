"""The public surface mirrors matyan-api-models 0.2.1 name for name and field for field."""

from __future__ import annotations

import importlib
from typing import Any

import matyan_api_models
import pytest
from matyan_api_models import kafka as theirs_kafka
from matyan_api_models import responses as theirs_responses
from matyan_api_models import typing as theirs_typing
from matyan_api_models import ws as theirs_ws
from pydantic import BaseModel

import matyan_models
from matyan_models import typing as our_typing

PAIRS: list[tuple[type[BaseModel], type[BaseModel]]] = [
    *[
        (getattr(matyan_models, name), getattr(theirs_ws, name))
        for name in theirs_ws.__all__
        if name not in ("WsRequestT", "WsRequestTAdapter")
    ],
    (matyan_models.IngestionMessage, theirs_kafka.IngestionMessage),
    (matyan_models.ControlEvent, theirs_kafka.ControlEvent),
    (matyan_models.RunCreateRequest, matyan_api_models.RunCreateRequest),
    (matyan_models.RunCreateResponse, matyan_api_models.RunCreateResponse),
    *[
        (getattr(matyan_models, name), getattr(theirs_responses, name))
        for name in dir(theirs_responses)
        if name.endswith("Response")
    ],
]


def _strip_descriptions(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {key: _strip_descriptions(value) for key, value in schema.items() if key != "description"}
    if isinstance(schema, list):
        return [_strip_descriptions(item) for item in schema]
    return schema


def test_every_public_name_of_0_2_1_exists() -> None:
    for module in ("", ".ws", ".kafka", ".backup", ".typing"):
        theirs = importlib.import_module("matyan_api_models" + module)
        for name in theirs.__all__:
            assert hasattr(matyan_models, name) or hasattr(our_typing, name), name
    assert hasattr(matyan_models, "ReadHParamsResponse")
    assert matyan_models.DEFAULT_PROJECT_ID == "00000000"


@pytest.mark.parametrize(("mine", "theirs"), PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_fields_match(mine: type[BaseModel], theirs: type[BaseModel]) -> None:
    assert mine.__name__ == theirs.__name__
    mine_fields = {
        name: (info.is_required(), info.default, info.annotation)
        for name, info in mine.model_fields.items()
        if not (mine is matyan_models.IngestionMessage and name == "project_id")
    }
    their_fields = {
        name: (info.is_required(), info.default, info.annotation)
        for name, info in theirs.model_fields.items()
    }
    assert list(mine_fields) == list(their_fields)
    for name, (required, default, _) in their_fields.items():
        assert mine_fields[name][:2] == (required, default), name


@pytest.mark.parametrize(("mine", "theirs"), PAIRS, ids=[p[0].__name__ for p in PAIRS])
@pytest.mark.parametrize("mode", ["validation", "serialization"])
def test_json_schemas_match(mine: type[BaseModel], theirs: type[BaseModel], mode: Any) -> None:
    mine_schema = _strip_descriptions(mine.model_json_schema(mode=mode))
    if mine is matyan_models.IngestionMessage:
        del mine_schema["properties"]["project_id"]  # the documented optional addition
    assert mine_schema == _strip_descriptions(theirs.model_json_schema(mode=mode))


def test_union_json_schema_matches() -> None:
    assert _strip_descriptions(matyan_models.WsRequestTAdapter.json_schema()) == _strip_descriptions(
        theirs_ws.WsRequestTAdapter.json_schema()
    )


def test_union_members_and_order_match() -> None:
    ours_tags = list(matyan_models.WS_REQUEST_MODELS)
    their_tags = [
        model.model_fields["type"].default
        for model in (getattr(theirs_ws, name) for name in theirs_ws.__all__)
        if isinstance(model, type)
        and issubclass(model, theirs_ws.BaseWsRequest)
        and model is not theirs_ws.BaseWsRequest
    ]
    assert sorted(ours_tags) == sorted(their_tags)
    assert len(ours_tags) == 11


def test_plain_type_aliases() -> None:
    for name in (
        "RunIdT",
        "RunNameT",
        "ProjectNameT",
        "ExperimentNameT",
        "DescriptionT",
        "StepT",
        "EpochT",
        "DtypeT",
        "MetricT",
    ):
        assert getattr(our_typing, name) is getattr(theirs_typing, name), name
    assert our_typing.ContextT == dict[Any, Any]
    assert our_typing.HParams == theirs_typing.HParams


def test_ws_models_ignore_extra_keys_like_0_2_1() -> None:
    for mine, theirs in PAIRS:
        assert mine.model_config.get("extra") == theirs.model_config.get("extra")
