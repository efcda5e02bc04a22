"""Parity with the released matyan-api-models 0.2.1: same inputs accepted/rejected, same JSON produced.

Every case is validated by both libraries, from Python objects and from JSON text; accepted inputs must dump
identically (``model_dump()``, ``model_dump(mode="json")``, ``model_dump_json()``), rejected inputs must fail
with the same errors (type, location, message). The deliberate differences live in
``test_models_differences.py``.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import matyan_api_models as theirs_root
import pytest
from matyan_api_models import kafka as theirs_kafka
from matyan_api_models import responses as theirs_responses
from matyan_api_models import ws as theirs_ws
from matyan_api_models.typing import RunId as TheirRunId
from pydantic import BaseModel, TypeAdapter, ValidationError

import matyan_models as ours
from matyan_models.typing import RunId as OurRunId

RID = "0123456789abcdef0123456789abcdef"
ISO = "2026-03-20T12:00:00+00:00"

Outcome = tuple[Any, ...]


def _errors(exc: ValidationError) -> list[tuple[str, tuple[int | str, ...], str]]:
    return [(err["type"], err["loc"], err["msg"]) for err in exc.errors()]


def _dumps(obj: BaseModel) -> Outcome:
    # repr of the dicts: NaN-safe, and it keeps key order and Python types (float vs int, datetime tz).
    return (
        type(obj).__name__,
        repr(obj.model_dump()),
        repr(obj.model_dump(mode="json")),
        obj.model_dump_json(),
        repr(obj.model_dump(by_alias=True, mode="json")),
        obj.model_dump_json(exclude_none=True),
    )


def _validate(target: Any, data: Any, *, from_json: bool) -> Outcome:
    try:
        if isinstance(target, TypeAdapter):
            obj = target.validate_json(data) if from_json else target.validate_python(data)
        else:
            obj = target.model_validate_json(data) if from_json else target.model_validate(data)
    except ValidationError as exc:
        return ("error", _errors(exc))
    assert isinstance(obj, BaseModel)
    return ("ok", *_dumps(obj))


def assert_parity(our_target: Any, their_target: Any, data: Any) -> Outcome:
    """Validate ``data`` with both libraries (Python and JSON input) and compare; return our outcome."""
    ours_py = _validate(our_target, data, from_json=False)
    assert ours_py == _validate(their_target, data, from_json=False)
    try:
        text = json.dumps(data)
    except TypeError:  # not JSON-representable (datetime objects): Python input only
        return ours_py
    ours_json = _validate(our_target, text, from_json=True)
    assert ours_json == _validate(their_target, text, from_json=True)
    return ours_py


# ------------------------------------------------------------------------------------------------------------
# WebSocket frames: (expected outcome, frame). Frames are what client 0.3.0 sends (see docs/architecture.md,
# The frontier, and the reference's integration tests), plus edge cases.

WS_CASES: list[tuple[bool, dict[str, Any]]] = [
    # create_run
    (True, {"type": "create_run", "run_id": RID, "client_datetime": ISO}),
    (True, {"type": "create_run", "run_id": RID, "client_datetime": ISO, "force_resume": True}),
    (True, {"type": "create_run", "run_id": RID, "client_datetime": "2026-03-20T12:00:00"}),
    (True, {"type": "create_run", "run_id": RID, "client_datetime": "2026-03-20T12:00:00.123456Z"}),
    (True, {"type": "create_run", "run_id": RID, "client_datetime": "2026-03-20T17:30:00+05:30"}),
    (True, {"type": "create_run", "run_id": RID, "client_datetime": "2026-03-20"}),
    (True, {"type": "create_run", "run_id": RID, "client_datetime": 1_774_008_000}),
    (True, {"type": "create_run", "run_id": RID, "client_datetime": 1_774_008_000.5}),
    (True, {"type": "create_run", "run_id": RID, "client_datetime": ISO, "force_resume": "true"}),
    (True, {"type": "create_run", "run_id": RID, "client_datetime": ISO, "force_resume": 0}),
    (False, {"type": "create_run", "run_id": RID, "client_datetime": ISO, "force_resume": "maybe"}),
    (False, {"type": "create_run", "run_id": RID}),
    (False, {"type": "create_run", "run_id": RID, "client_datetime": None}),
    (False, {"type": "create_run", "run_id": RID, "client_datetime": "yesterday"}),
    (False, {"type": "create_run", "client_datetime": ISO}),
    (False, {"type": "create_run", "run_id": 123, "client_datetime": ISO}),
    (False, {"type": "create_run", "run_id": None, "client_datetime": ISO}),
    (True, {"type": "create_run", "run_id": RID, "client_datetime": ISO, "project_id": "00000000", "x": 1}),
    # log_metric
    (
        True,
        {
            "type": "log_metric",
            "run_id": RID,
            "name": "loss",
            "value": 0.5,
            "step": 3,
            "epoch": None,
            "context": {"subset": "train"},
            "dtype": "float",
            "client_datetime": ISO,
        },
    ),
    (
        True,
        {
            "type": "log_metric",
            "run_id": RID,
            "name": "loss",
            "value": 0.42,
            "step": 0,
            "epoch": 0,
            "context": {"subset": "train"},
            "dtype": "float",
            "client_datetime": "2026-03-20T12:00:00.000001",
        },
    ),
    (
        True,
        {
            "type": "log_metric",
            "run_id": RID,
            "name": "__system__cpu",
            "value": 12,
            "step": None,
            "epoch": None,
            "context": None,
            "dtype": "int",
            "client_datetime": ISO,
        },
    ),
    (
        True,
        {
            "type": "log_metric",
            "run_id": RID,
            "name": "acc",
            "value": 1,
            "step": 7,
            "epoch": 2,
            "context": {"subset": "val", "nested": {"k": [1, 2.5, None, True]}, "ünï": "çødé"},
            "dtype": None,
            "client_datetime": ISO,
            "extra": "ignored",
        },
    ),
    *[
        (
            ok,
            {
                "type": "log_metric",
                "run_id": RID,
                "name": "m",
                "value": value,
                "step": 1,
                "epoch": None,
                "context": {},
                "dtype": "float",
                "client_datetime": ISO,
            },
        )
        for ok, value in [
            (True, 3),
            (True, -0.0),
            (True, 1e308),
            (True, 10**20),
            (True, "0.5"),
            (True, True),
            (True, math.nan),
            (True, math.inf),
            (True, -math.inf),
            (False, None),
            (False, "abc"),
            (False, [1.0]),
            (False, {"v": 1}),
        ]
    ],
    *[
        (
            ok,
            {
                "type": "log_metric",
                "run_id": RID,
                "name": "m",
                "value": 1.5,
                "step": step,
                "epoch": None,
                "context": None,
                "dtype": "float",
                "client_datetime": ISO,
            },
        )
        for ok, step in [(True, 3.0), (True, "3"), (False, 3.5), (False, "x"), (True, -1), (True, 2**62)]
    ],
    *[
        (
            False,
            {
                key: value
                for key, value in {
                    "type": "log_metric",
                    "run_id": RID,
                    "name": "m",
                    "value": 1.5,
                    "step": 1,
                    "epoch": 1,
                    "context": {},
                    "dtype": "float",
                    "client_datetime": ISO,
                }.items()
                if key != missing
            },
        )
        for missing in ("name", "value", "step", "epoch", "context", "dtype", "client_datetime")
    ],
    (
        False,
        {
            "type": "log_metric",
            "run_id": RID,
            "name": "m",
            "value": 1.0,
            "step": 1,
            "epoch": 1,
            "context": ["subset", "train"],
            "dtype": "float",
            "client_datetime": ISO,
        },
    ),
    (
        False,
        {
            "type": "log_metric",
            "run_id": RID,
            "name": 5,
            "value": 1.0,
            "step": 1,
            "epoch": 1,
            "context": {},
            "dtype": 3,
            "client_datetime": "not a date",
        },
    ),
    # log_hparams
    (True, {"type": "log_hparams", "run_id": RID, "value": {"hparams": {"lr": 0.001, "batch_size": 64}}}),
    (True, {"type": "log_hparams", "run_id": RID, "value": {"lr": 0.001, "batch_size": 32}}),
    (True, {"type": "log_hparams", "run_id": RID, "value": {"__system_params": {"cpu": {"count": 8}}}}),
    (True, {"type": "log_hparams", "run_id": RID, "value": {}}),
    (False, {"type": "log_hparams", "run_id": RID}),
    (False, {"type": "log_hparams", "run_id": RID, "value": [1, 2]}),
    (False, {"type": "log_hparams", "run_id": RID, "value": None}),
    # finish_run
    (True, {"type": "finish_run", "run_id": RID}),
    (True, {"type": "finish_run", "run_id": RID, "client_datetime": ISO}),
    (False, {"type": "finish_run"}),
    # set_run_property
    (True, {"type": "set_run_property", "run_id": RID, "experiment": "exp-1"}),
    (True, {"type": "set_run_property", "run_id": RID, "name": "integration-test-run"}),
    (True, {"type": "set_run_property", "run_id": RID, "description": "Integration description"}),
    (True, {"type": "set_run_property", "run_id": RID, "archived": True}),
    (True, {"type": "set_run_property", "run_id": RID, "archived": "false"}),
    (True, {"type": "set_run_property", "run_id": RID}),
    (
        True,
        {
            "type": "set_run_property",
            "run_id": RID,
            "name": "n",
            "description": "",
            "archived": None,
            "experiment": "e",
        },
    ),
    (False, {"type": "set_run_property", "run_id": RID, "archived": "sometimes"}),
    (False, {"type": "set_run_property", "run_id": RID, "name": 1}),
    # add_tag / remove_tag
    (True, {"type": "add_tag", "run_id": RID, "tag_name": "integration-test"}),
    (True, {"type": "remove_tag", "run_id": RID, "tag_name": "to-remove"}),
    (False, {"type": "add_tag", "run_id": RID}),
    (False, {"type": "remove_tag", "run_id": RID, "tag_name": None}),
    (False, {"type": "add_tag", "run_id": RID, "tag_name": 7}),
    # log_custom_object
    (
        True,
        {
            "type": "log_custom_object",
            "run_id": RID,
            "name": "images",
            "value": {
                "type": "image",
                "s3_key": f"{RID}/seq/images/0.png",
                "format": "png",
                "caption": "",
                "width": 32,
                "height": 32,
            },
            "step": 0,
            "epoch": None,
            "context": {},
            "dtype": "image",
            "client_datetime": ISO,
        },
    ),
    (
        True,
        {
            "type": "log_custom_object",
            "run_id": RID,
            "name": "audio",
            "value": {"type": "audio", "s3_key": f"{RID}/seq/audio/1.wav", "format": "wav", "rate": 22050},
            "step": 1,
            "context": {"subset": "val"},
            "dtype": "audio",
        },
    ),
    (
        True,
        {
            "type": "log_custom_object",
            "run_id": RID,
            "name": "text",
            "value": {"type": "text", "data": "hello ✓"},
        },
    ),
    (
        True,
        {
            "type": "log_custom_object",
            "run_id": RID,
            "name": "dist",
            "value": {"type": "distribution", "bin_count": 3, "range": [0.0, 1.0], "data": [1, 2, 3]},
            "step": 2,
            "dtype": "distribution",
        },
    ),
    (
        True,
        {
            "type": "log_custom_object",
            "run_id": RID,
            "name": "fig",
            "value": {"type": "figure", "data": "{}"},
            "client_datetime": "2026-03-20T12:00:00",
        },
    ),
    (False, {"type": "log_custom_object", "run_id": RID, "name": "x"}),
    (False, {"type": "log_custom_object", "run_id": RID, "value": {}}),
    (False, {"type": "log_custom_object", "run_id": RID, "name": "x", "value": "data"}),
    (False, {"type": "log_custom_object", "run_id": RID, "name": "x", "value": {}, "dtype": None}),
    # log_terminal_line
    (True, {"type": "log_terminal_line", "run_id": RID, "line": "epoch 1: loss=0.5", "step": 0}),
    (True, {"type": "log_terminal_line", "run_id": RID, "line": "", "step": 12}),
    (False, {"type": "log_terminal_line", "run_id": RID, "line": "x"}),
    (False, {"type": "log_terminal_line", "run_id": RID, "line": "x", "step": None}),
    (False, {"type": "log_terminal_line", "run_id": RID, "step": 1}),
    # log_record
    (
        True,
        {"type": "log_record", "run_id": RID, "message": "hi", "level": 20, "timestamp": 1_774_008_000.25},
    ),
    (
        True,
        {
            "type": "log_record",
            "run_id": RID,
            "message": "careful",
            "level": 30,
            "timestamp": 1_774_008_000,
            "logger_info": ["train.py", 42],
            "extra_args": {"epoch": 3},
        },
    ),
    (True, {"type": "log_record", "run_id": RID, "message": "m", "level": "40", "timestamp": "1.5"}),
    (False, {"type": "log_record", "run_id": RID, "message": "m", "level": 10}),
    (False, {"type": "log_record", "run_id": RID, "message": "m", "level": "debug", "timestamp": 1.0}),
    (False, {"type": "log_record", "run_id": RID, "level": 10, "timestamp": 1.0, "logger_info": "x"}),
    # blob_ref
    (
        True,
        {
            "type": "blob_ref",
            "run_id": RID,
            "s3_key": f"{RID}/images/test.png",
            "artifact_path": "images/test.png",
            "content_type": "image/png",
        },
    ),
    (True, {"type": "blob_ref", "run_id": RID, "s3_key": f"{RID}/model.bin", "artifact_path": "model.bin"}),
    (False, {"type": "blob_ref", "run_id": RID, "artifact_path": "model.bin"}),
    (False, {"type": "blob_ref", "run_id": RID, "s3_key": "k"}),
    (False, {"type": "blob_ref", "run_id": RID, "s3_key": None, "artifact_path": "a"}),
    # run ids: free strings on the WS path (0.2.1 `run_id: str`)
    *[
        (True, {"type": "finish_run", "run_id": run_id})
        for run_id in (
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "01arz3ndektsv4rrffq69g5fav",
            "123e4567-e89b-12d3-a456-426614174000",
            "integration-0123456789ab",
            "smoke_test_run_001",
            " padded ",
            "Ünicode-run",
        )
    ],
]

UNION_ONLY_CASES: list[Any] = [
    {"type": "nope", "run_id": RID},
    {"type": "delete_run", "run_id": RID},
    {"type": "Create_Run", "run_id": RID, "client_datetime": ISO},
    {"type": 5, "run_id": RID},
    {"type": None, "run_id": RID},
    {"run_id": RID, "tag_name": "x"},
    {},
    [],
    [{"type": "finish_run", "run_id": RID}],
    "finish_run",
    42,
    None,
]


def _ws_id(case: tuple[bool, dict[str, Any]]) -> str:
    ok, frame = case
    return f"{frame.get('type')}-{'ok' if ok else 'err'}"


@pytest.mark.parametrize("case", WS_CASES, ids=[_ws_id(c) for c in WS_CASES])
def test_ws_frame_parity_through_the_union(case: tuple[bool, dict[str, Any]]) -> None:
    ok, frame = case
    outcome = assert_parity(ours.WsRequestTAdapter, theirs_ws.WsRequestTAdapter, frame)
    assert (outcome[0] == "ok") is ok, outcome


@pytest.mark.parametrize("case", WS_CASES, ids=[_ws_id(c) for c in WS_CASES])
def test_ws_frame_parity_per_model(case: tuple[bool, dict[str, Any]]) -> None:
    _, frame = case
    name = type(ours.WsRequestTAdapter.validate_python(frame)).__name__ if case[0] else None
    models = (
        [name] if name else [n for n in theirs_ws.__all__ if n.endswith("WsRequest") and n != "BaseWsRequest"]
    )
    for model_name in models:
        assert_parity(getattr(ours, model_name), getattr(theirs_ws, model_name), frame)
    assert_parity(ours.BaseWsRequest, theirs_ws.BaseWsRequest, frame)


@pytest.mark.parametrize("data", UNION_ONLY_CASES, ids=repr)
def test_ws_union_rejects_like_0_2_1(data: Any) -> None:
    outcome = assert_parity(ours.WsRequestTAdapter, theirs_ws.WsRequestTAdapter, data)
    assert outcome[0] == "error"


def test_ws_errors_name_the_field() -> None:
    frame = {"type": "log_metric", "run_id": RID, "name": "m", "value": "x", "client_datetime": ISO}
    with pytest.raises(ValidationError) as info:
        ours.WsRequestTAdapter.validate_python(frame)
    locs = {err["loc"] for err in info.value.errors()}
    assert locs == {
        ("log_metric", "value"),
        ("log_metric", "step"),
        ("log_metric", "epoch"),
        ("log_metric", "context"),
        ("log_metric", "dtype"),
    }
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        ours.WsRequestTAdapter.validate_python({"type": "nope", "run_id": RID})


def test_ws_batch_frame_items_parity() -> None:
    """The frontier validates a JSON-array frame item by item, stopping at the first invalid one."""
    batch = [frame for ok, frame in WS_CASES if ok][:20]
    ours_items = [ours.WsRequestTAdapter.validate_python(item) for item in batch]
    theirs_items = [theirs_ws.WsRequestTAdapter.validate_python(item) for item in batch]
    assert [o.model_dump_json() for o in ours_items] == [t.model_dump_json() for t in theirs_items]


def test_ws_round_trip_through_each_other() -> None:
    for ok, frame in WS_CASES:
        if not ok:
            continue
        mine = ours.WsRequestTAdapter.validate_python(frame)
        if any(isinstance(v, float) and not math.isfinite(v) for v in mine.model_dump().values()):
            continue  # NaN/inf serialise as null in both, which neither accepts back
        theirs_copy = theirs_ws.WsRequestTAdapter.validate_json(mine.model_dump_json())
        assert ours.WsRequestTAdapter.validate_json(theirs_copy.model_dump_json()) == mine


def test_ws_defaults_match_when_constructed_by_keyword() -> None:
    pairs: list[tuple[BaseModel, BaseModel]] = [
        (
            ours.CreateRunWsRequest(run_id=RID, client_datetime=datetime(2026, 3, 20, tzinfo=UTC)),
            theirs_ws.CreateRunWsRequest(run_id=RID, client_datetime=datetime(2026, 3, 20, tzinfo=UTC)),
        ),
        (ours.FinishRunWsRequest(run_id=RID), theirs_ws.FinishRunWsRequest(run_id=RID)),
        (ours.SetRunPropertyWsRequest(run_id=RID), theirs_ws.SetRunPropertyWsRequest(run_id=RID)),
        (
            ours.LogCustomObjectWsRequest(run_id=RID, name="n", value={}),
            theirs_ws.LogCustomObjectWsRequest(run_id=RID, name="n", value={}),
        ),
        (
            ours.BlobRefWsRequest(run_id=RID, s3_key="k", artifact_path="a"),
            theirs_ws.BlobRefWsRequest(run_id=RID, s3_key="k", artifact_path="a"),
        ),
        (
            ours.LogRecordWsRequest(run_id=RID, message="m", level=20, timestamp=1.0),
            theirs_ws.LogRecordWsRequest(run_id=RID, message="m", level=20, timestamp=1.0),
        ),
        (ours.WsResponse(status="ok"), theirs_ws.WsResponse(status="ok")),
        (ours.WsResponse(status="error", error="boom"), theirs_ws.WsResponse(status="error", error="boom")),
    ]
    for mine, reference in pairs:
        assert _dumps(mine) == _dumps(reference)
    assert ours.WsResponse(status="ok").model_dump_json() == '{"status":"ok","error":null}'


@pytest.mark.parametrize(
    "data",
    [
        {"status": "ok", "error": None},
        {"status": "error", "error": "internal publish error"},
        {"status": "ok"},
        {"error": "x"},
        {"status": 1},
        {"status": "ok", "extra": True},
    ],
    ids=repr,
)
def test_ws_response_parity(data: dict[str, Any]) -> None:
    assert_parity(ours.WsResponse, theirs_ws.WsResponse, data)


# ------------------------------------------------------------------------------------------------------------
# Kafka envelopes

B3_EXAMPLE = (
    '{"type":"log_metric","run_id":"0123456789abcdef0123456789abcdef","timestamp":"2026-11-28T18:45:22.197751Z",'
    '"payload":{"name":"loss","value":0.5,"step":3,"epoch":null,"context":{"subset":"train"},"dtype":"float",'
    '"client_datetime":"2026-03-20T12:00:00+00:00"}}'
)
DELETE_RUN_EXAMPLE = '{"type":"delete_run","run_id":"r1","timestamp":"2025-01-01T00:00:00Z","payload":{}}'
RUN_DELETED_EXAMPLE = '{"type":"run_deleted","timestamp":"2025-01-01T00:00:00Z","payload":{"run_id":"r1"}}'

INGESTION_CASES: list[tuple[bool, dict[str, Any]]] = [
    (True, json.loads(B3_EXAMPLE)),
    (True, json.loads(DELETE_RUN_EXAMPLE)),
    (True, {"type": "create_run", "run_id": "integration-0a1b2c3d4e5f", "timestamp": ISO, "payload": {}}),
    (
        True,
        {
            "type": "blob_ref",
            "run_id": RID,
            "timestamp": "2026-03-20T12:00:00.5+02:00",
            "payload": {"artifact_path": "images/test.png", "s3_key": "artifacts/x/images/test.png"},
        },
    ),
    (True, {"type": "finish_run", "run_id": RID, "timestamp": "2026-03-20T12:00:00", "payload": {}}),
    (True, {"type": "unknown_type", "run_id": RID, "timestamp": 0, "payload": {"a": [1, {"b": None}]}}),
    (True, {"type": "log_hparams", "run_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "timestamp": ISO, "payload": {}}),
    (True, {"type": "finish_run", "run_id": RID, "timestamp": ISO, "payload": {}, "headers": {"x": 1}}),
    (True, {"type": "", "run_id": RID, "timestamp": ISO, "payload": {}}),
    (False, {"run_id": RID, "timestamp": ISO, "payload": {}}),
    (False, {"type": "finish_run", "timestamp": ISO, "payload": {}}),
    (False, {"type": "finish_run", "run_id": RID, "payload": {}}),
    (False, {"type": "finish_run", "run_id": RID, "timestamp": ISO}),
    (False, {"type": "finish_run", "run_id": RID, "timestamp": ISO, "payload": None}),
    (False, {"type": "finish_run", "run_id": RID, "timestamp": ISO, "payload": []}),
    (False, {"type": "finish_run", "run_id": RID, "timestamp": "soon", "payload": {}}),
    (False, {"type": 1, "run_id": 2, "timestamp": ISO, "payload": {}}),
]

CONTROL_CASES: list[tuple[bool, dict[str, Any]]] = [
    (True, json.loads(RUN_DELETED_EXAMPLE)),
    (
        True,
        {"type": "run_deleted", "timestamp": ISO, "payload": {"run_id": "r", "blob_keys": ["r/a", "x/b"]}},
    ),
    (True, {"type": "run_archived", "timestamp": ISO, "payload": {"run_id": "r", "archived": True}}),
    (True, {"type": "run_unarchived", "timestamp": ISO, "payload": {"run_id": "r", "archived": False}}),
    (True, {"type": "experiment_deleted", "timestamp": ISO, "payload": {"experiment_id": "e"}}),
    (True, {"type": "tag_deleted", "timestamp": ISO, "payload": {"tag_id": "t"}}),
    (True, {"type": "project_deleted", "timestamp": ISO, "payload": {"project_id": "abcdef01"}}),
    (True, {"type": "something_new", "timestamp": "2026-03-20T12:00:00", "payload": {}, "x": 1}),
    (False, {"type": "run_deleted", "payload": {}}),
    (False, {"timestamp": ISO, "payload": {}}),
    (False, {"type": "run_deleted", "timestamp": ISO}),
    (False, {"type": "run_deleted", "timestamp": ISO, "payload": "r1"}),
]


@pytest.mark.parametrize("case", INGESTION_CASES, ids=[str(i) for i in range(len(INGESTION_CASES))])
def test_ingestion_message_parity(case: tuple[bool, dict[str, Any]]) -> None:
    ok, data = case
    outcome = assert_parity(ours.IngestionMessage, theirs_kafka.IngestionMessage, data)
    assert (outcome[0] == "ok") is ok, outcome


@pytest.mark.parametrize("case", CONTROL_CASES, ids=[str(i) for i in range(len(CONTROL_CASES))])
def test_control_event_parity(case: tuple[bool, dict[str, Any]]) -> None:
    ok, data = case
    outcome = assert_parity(ours.ControlEvent, theirs_kafka.ControlEvent, data)
    assert (outcome[0] == "ok") is ok, outcome


@pytest.mark.parametrize("text", [B3_EXAMPLE, DELETE_RUN_EXAMPLE])
def test_ingestion_message_spec_examples_round_trip_byte_for_byte(text: str) -> None:
    assert ours.IngestionMessage.model_validate_json(text).model_dump_json() == text
    assert theirs_kafka.IngestionMessage.model_validate_json(text).model_dump_json() == text


def test_control_event_spec_example_round_trips_byte_for_byte() -> None:
    assert ours.ControlEvent.model_validate_json(RUN_DELETED_EXAMPLE).model_dump_json() == RUN_DELETED_EXAMPLE


def test_messages_the_backend_produces_have_the_0_2_1_shape() -> None:
    now = datetime(2026, 11, 28, 18, 45, 22, 197751, tzinfo=UTC)
    for run_id in (RID, "integration-0123456789ab", "01ARZ3NDEKTSV4RRFFQ69G5FAV"):
        mine = ours.IngestionMessage(
            type=ours.IngestionMessageType.DELETE_RUN, run_id=run_id, timestamp=now, payload={}
        )
        reference = theirs_kafka.IngestionMessage(type="delete_run", run_id=run_id, timestamp=now, payload={})
        assert _dumps(mine) == _dumps(reference)
        assert isinstance(mine.type, str)
        assert type(mine.type) is str  # the StrEnum member is stored as a plain string
    events: list[tuple[ours.ControlEventType, dict[str, Any]]] = [
        (ours.ControlEventType.RUN_DELETED, {"run_id": RID}),
        (ours.ControlEventType.RUN_ARCHIVED, {"run_id": RID, "archived": True}),
        (ours.ControlEventType.EXPERIMENT_DELETED, {"experiment_id": "e"}),
        (ours.ControlEventType.TAG_DELETED, {"tag_id": "t"}),
    ]
    for event_type, payload in events:
        mine_event = ours.ControlEvent(type=event_type, timestamp=now, payload=payload)
        their_event = theirs_kafka.ControlEvent(type=str(event_type), timestamp=now, payload=payload)
        assert _dumps(mine_event) == _dumps(their_event)
    naive = datetime(2026, 1, 1, 12, 0)
    assert (
        ours.IngestionMessage(type="finish_run", run_id=RID, timestamp=naive, payload={}).model_dump_json()
        == theirs_kafka.IngestionMessage(
            type="finish_run", run_id=RID, timestamp=naive, payload={}
        ).model_dump_json()
    )


# ------------------------------------------------------------------------------------------------------------
# REST bodies and legacy responses

REST_CASES: list[tuple[str, bool, dict[str, Any]]] = [
    (
        "RunCreateRequest",
        True,
        {"id": RID, "project": "p", "experiment": "e", "name": "n", "description": ""},
    ),
    (
        "RunCreateRequest",
        True,
        {"id": RID, "project": "p", "experiment": "e", "name": "n", "description": "d", "x": 1},
    ),
    *[
        (
            "RunCreateRequest",
            False,
            {"id": run_id, "project": "p", "experiment": "e", "name": "n", "description": ""},
        )
        for run_id in (
            RID.upper(),
            "123e4567-e89b-12d3-a456-426614174000",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "integration-0123456789ab",
            RID[:-1],
            RID + "0",
            "",
            None,
            123,
        )
    ],
    ("RunCreateRequest", False, {"project": "p", "experiment": "e", "name": "n", "description": ""}),
    (
        "RunCreateRequest",
        False,
        {"id": RID, "project": "", "experiment": "e", "name": "n", "description": ""},
    ),
    ("RunCreateRequest", False, {"id": RID, "project": "p", "experiment": "", "name": "", "description": ""}),
    ("RunCreateRequest", False, {"id": RID, "project": "p", "experiment": "e", "name": "n"}),
    ("RunCreateResponse", True, {"creation_timestamp": 1_774_008_000}),
    ("RunCreateResponse", True, {"creation_timestamp": "17"}),
    ("RunCreateResponse", False, {"creation_timestamp": 1.5}),
    ("RunCreateResponse", False, {}),
    ("ReadMetricResponse", True, {"value": 1, "timestamp": 3}),
    ("ReadMetricResponse", False, {"value": None, "timestamp": 3}),
    ("ReadHParamsResponse", True, {"value": {"lr": 0.1}}),
    ("ReadHParamsResponse", False, {"value": [1]}),
    ("LogHParamsResponse", True, {"status": 200}),
    ("LogHParamsResponse", False, {"status": "ok"}),
    ("LogMetricResponse", True, {"status": 201}),
    ("LogMetricResponse", False, {}),
]


@pytest.mark.parametrize("case", REST_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(REST_CASES)])
def test_rest_body_parity(case: tuple[str, bool, dict[str, Any]]) -> None:
    name, ok, data = case
    their_model = getattr(theirs_root, name, None) or getattr(theirs_responses, name)
    outcome = assert_parity(getattr(ours, name), their_model, data)
    assert (outcome[0] == "ok") is ok, outcome


def test_run_create_request_id_error_message() -> None:
    data = {"id": "ABC", "project": "p", "experiment": "e", "name": "n", "description": ""}
    with pytest.raises(ValidationError, match="UUID must be a 32-character hexadecimal lowercase string"):
        ours.RunCreateRequest.model_validate(data)


@pytest.mark.parametrize("value", [RID, RID.upper(), "x", "", RID + " "])
def test_typing_run_id_alias_parity(value: object) -> None:
    ours_adapter: TypeAdapter[str] = TypeAdapter(OurRunId)
    their_adapter: TypeAdapter[str] = TypeAdapter(TheirRunId)
    try:
        mine: object = ours_adapter.validate_python(value)
    except ValidationError as exc:
        mine = _errors(exc)
    try:
        reference: object = their_adapter.validate_python(value)
    except ValidationError as exc:
        reference = _errors(exc)
    assert mine == reference


def test_typing_run_id_alias_turns_none_into_a_new_hex_id() -> None:
    adapter: TypeAdapter[str] = TypeAdapter(OurRunId)
    first, second = adapter.validate_python(None), adapter.validate_python(None)
    assert first != second
    assert len(first) == 32
    assert TypeAdapter(TheirRunId).validate_python(first) == first
