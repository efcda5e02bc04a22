"""Typed ingestion payloads: the frontier's mapping, and the two parsers the ingest worker can use."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from matyan_api_models import kafka as theirs_kafka
from matyan_api_models import ws as theirs_ws
from pydantic import ValidationError

import matyan_models as ours

RID = "0123456789abcdef0123456789abcdef"
ISO = "2026-03-20T12:00:00+00:00"
NOW = datetime(2026, 11, 28, 18, 45, 22, 197751, tzinfo=UTC)


def message(type_: str, payload: dict[str, Any], run_id: str = RID) -> ours.IngestionMessage:
    """A message as the worker sees it: JSON from the topic, parsed by our envelope."""
    text = json.dumps({"type": type_, "run_id": run_id, "timestamp": ISO, "payload": payload})
    return ours.IngestionMessage.model_validate_json(text)


# Frames the client 0.3.0 sends, and the payload the frontier 0.3.0 publishes for each
# (docs/architecture.md, The frontier).
FRONTIER_MAPPING: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        {"type": "create_run", "client_datetime": "2026-03-20T12:00:00Z"},
        {"client_datetime": "2026-03-20T12:00:00+00:00", "force_resume": False},
    ),
    (
        {"type": "create_run", "client_datetime": "2026-03-20T12:00:00", "force_resume": True},
        {"client_datetime": "2026-03-20T12:00:00", "force_resume": True},
    ),
    (
        {
            "type": "log_metric",
            "name": "loss",
            "value": 0.5,
            "step": 3,
            "epoch": None,
            "context": {"subset": "train"},
            "dtype": "float",
            "client_datetime": "2026-03-20T12:00:00+00:00",
        },
        {
            "name": "loss",
            "value": 0.5,
            "step": 3,
            "epoch": None,
            "context": {"subset": "train"},
            "dtype": "float",
            "client_datetime": "2026-03-20T12:00:00+00:00",
        },
    ),
    ({"type": "log_hparams", "value": {"hparams": {"lr": 0.001}}}, {"value": {"hparams": {"lr": 0.001}}}),
    ({"type": "finish_run", "client_datetime": ISO}, {}),
    ({"type": "set_run_property", "experiment": "exp"}, {"experiment": "exp"}),
    (
        {"type": "set_run_property", "name": "n", "description": "", "archived": False},
        {"name": "n", "description": "", "archived": False},
    ),
    ({"type": "add_tag", "tag_name": "keep"}, {"tag_name": "keep"}),
    ({"type": "remove_tag", "tag_name": "to-remove"}, {"tag_name": "to-remove"}),
    (
        {
            "type": "log_custom_object",
            "name": "images",
            "value": {"type": "image", "s3_key": f"{RID}/seq/images/0.png", "format": "png"},
            "step": 0,
            "context": {},
            "dtype": "image",
            "client_datetime": ISO,
        },
        {
            "name": "images",
            "value": {"type": "image", "s3_key": f"{RID}/seq/images/0.png", "format": "png"},
            "step": 0,
            "epoch": None,
            "context": {},
            "dtype": "image",
        },
    ),
    ({"type": "log_terminal_line", "line": "hello", "step": 4}, {"line": "hello", "step": 4}),
    (
        {"type": "log_record", "message": "m", "level": 20, "timestamp": 1.5},
        {"message": "m", "level": 20, "timestamp": 1.5},
    ),
    (
        {
            "type": "log_record",
            "message": "m",
            "level": 40,
            "timestamp": 2,
            "logger_info": ["f.py", 3],
            "extra_args": {"a": 1},
        },
        {"message": "m", "level": 40, "timestamp": 2.0, "logger_info": ["f.py", 3], "extra_args": {"a": 1}},
    ),
    (
        {"type": "blob_ref", "s3_key": f"{RID}/a.bin", "artifact_path": "a.bin"},
        {"s3_key": f"{RID}/a.bin", "artifact_path": "a.bin", "content_type": "application/octet-stream"},
    ),
]


@pytest.mark.parametrize("case", FRONTIER_MAPPING, ids=[c[0]["type"] for c in FRONTIER_MAPPING])
def test_frontier_mapping(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    frame_data, expected_payload = case
    frame = ours.WsRequestTAdapter.validate_python({**frame_data, "run_id": RID})
    msg = ours.ws_frame_to_ingestion_message(frame, timestamp=NOW)
    assert msg.payload == expected_payload
    assert json.dumps(msg.payload) == json.dumps(expected_payload)  # same key order
    reference = theirs_kafka.IngestionMessage(
        type=frame.type, run_id=RID, timestamp=NOW, payload=expected_payload
    )
    assert msg.model_dump_json() == reference.model_dump_json()


def test_frontier_mapping_reproduces_the_spec_example() -> None:
    frame = ours.WsRequestTAdapter.validate_json(
        '{"type":"log_metric","run_id":"0123456789abcdef0123456789abcdef","name":"loss","value":0.5,"step":3,'
        '"epoch":null,"context":{"subset":"train"},"dtype":"float","client_datetime":"2026-03-20T12:00:00+00:00"}'
    )
    assert ours.ws_frame_to_ingestion_message(frame, timestamp=NOW).model_dump_json() == (
        '{"type":"log_metric","run_id":"0123456789abcdef0123456789abcdef","timestamp":"2026-11-28T18:45:22.197751Z",'
        '"payload":{"name":"loss","value":0.5,"step":3,"epoch":null,"context":{"subset":"train"},"dtype":"float",'
        '"client_datetime":"2026-03-20T12:00:00+00:00"}}'
    )


def test_frontier_mapping_default_timestamp_is_now_utc() -> None:
    before = datetime.now(UTC)
    msg = ours.ws_frame_to_ingestion_message(ours.FinishRunWsRequest(run_id=RID))
    assert before <= msg.timestamp <= datetime.now(UTC)
    assert msg.model_dump_json().endswith('Z","payload":{}}')


@pytest.mark.parametrize("case", FRONTIER_MAPPING, ids=[c[0]["type"] for c in FRONTIER_MAPPING])
def test_frontier_payloads_parse_back_to_the_frame(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    frame_data, _ = case
    frame = ours.WsRequestTAdapter.validate_python({**frame_data, "run_id": RID})
    wire = ours.ws_frame_to_ingestion_message(frame, timestamp=NOW).model_dump_json()
    msg = ours.IngestionMessage.model_validate_json(wire)

    strict = ours.parse_ingestion_payload_as_ws(msg)
    expected = frame
    if isinstance(frame, ours.LogCustomObjectWsRequest):
        expected = frame.model_copy(update={"client_datetime": None})  # the frontier drops it
    assert strict == expected
    # The same frame 0.2.1 would have parsed from this payload.
    assert (
        strict.model_dump_json()
        == theirs_ws.WsRequestTAdapter.validate_python(
            {**msg.payload, "type": msg.type, "run_id": msg.run_id}
        ).model_dump_json()
    )

    lenient = ours.parse_ingestion_payload(msg)
    assert lenient.type == frame.type
    assert lenient.run_id == RID
    lenient_fields = lenient.model_dump()
    assert {key: lenient_fields[key] for key in expected.model_dump()} == expected.model_dump()


def test_envelope_type_and_run_id_override_the_payload() -> None:
    msg = message("add_tag", {"type": "remove_tag", "run_id": "other", "tag_name": "t"})
    for parsed in (ours.parse_ingestion_payload(msg), ours.parse_ingestion_payload_as_ws(msg)):
        assert parsed.type == "add_tag"
        assert parsed.run_id == RID


def test_delete_run() -> None:
    msg = ours.IngestionMessage.model_validate_json(
        '{"type":"delete_run","run_id":"r1","timestamp":"2025-01-01T00:00:00Z","payload":{}}'
    )
    for parsed in (ours.parse_ingestion_payload(msg), ours.parse_ingestion_payload_as_ws(msg)):
        assert isinstance(parsed, ours.DeleteRunMessage)
        assert parsed.model_dump() == {"type": "delete_run", "run_id": "r1"}
    # delete_run is not a WebSocket frame: the frontier rejects it.
    with pytest.raises(ValidationError):
        ours.WsRequestTAdapter.validate_python({"type": "delete_run", "run_id": "r1"})


# Payloads produced directly on the topic by the reference's integration tests
# (docs/architecture.md, Ingestion messages).
REFERENCE_TEST_PAYLOADS: list[tuple[str, dict[str, Any]]] = [
    ("create_run", {}),
    (
        "log_metric",
        {"name": "loss", "value": 1.23, "step": 0, "context": {"subset": "train"}, "dtype": "float"},
    ),
    ("log_metric", {"name": "loss", "value": 0.5, "step": 0, "context": {}, "dtype": "float"}),
    ("log_hparams", {"value": {"learning_rate": 0.001, "batch_size": 128}}),
    ("finish_run", {}),
    (
        "blob_ref",
        {
            "artifact_path": "images/test.png",
            "s3_key": "artifacts/x/images/test.png",
            "content_type": "image/png",
        },
    ),
]


@pytest.mark.parametrize("case", REFERENCE_TEST_PAYLOADS, ids=[c[0] for c in REFERENCE_TEST_PAYLOADS])
def test_consumer_contract_accepts_the_reference_integration_payloads(
    case: tuple[str, dict[str, Any]],
) -> None:
    type_, payload = case
    parsed = ours.parse_ingestion_payload(message(type_, payload, run_id="integration-0123456789ab"))
    assert parsed.type == type_
    assert parsed.run_id == "integration-0123456789ab"


def test_ws_models_reject_partial_payloads_the_consumer_contract_accepts() -> None:
    with pytest.raises(ValidationError) as info:
        ours.parse_ingestion_payload_as_ws(message("create_run", {}))
    assert [err["loc"] for err in info.value.errors()] == [("create_run", "client_datetime")]
    with pytest.raises(ValidationError):
        ours.parse_ingestion_payload_as_ws(message(*REFERENCE_TEST_PAYLOADS[1]))


def test_consumer_contract_defaults() -> None:
    create = ours.parse_ingestion_payload(message("create_run", {"force_resume": None}))
    assert isinstance(create, ours.CreateRunMessage)
    assert (create.client_datetime, create.force_resume) == (None, False)

    metric = ours.parse_ingestion_payload(message("log_metric", {"name": "loss", "value": 2}))
    assert isinstance(metric, ours.LogMetricMessage)
    assert metric.model_dump() == {
        "type": "log_metric",
        "run_id": RID,
        "name": "loss",
        "value": 2.0,
        "step": None,
        "epoch": None,
        "context": None,
        "dtype": "float",
        "client_datetime": None,
    }

    blob = ours.parse_ingestion_payload(message("blob_ref", {}))
    assert isinstance(blob, ours.BlobRefMessage)
    assert (blob.s3_key, blob.artifact_path, blob.content_type) == ("", "unknown", "application/octet-stream")

    custom = ours.parse_ingestion_payload(
        message("log_custom_object", {"name": "t", "value": {"type": "text"}})
    )
    assert isinstance(custom, ours.LogCustomObjectMessage)
    assert custom.dtype == "custom"


@pytest.mark.parametrize("value", [[1, 2], "x", None, 3])
def test_consumer_contract_hparams_that_are_not_a_dict_read_as_empty(value: Any) -> None:
    parsed = ours.parse_ingestion_payload(message("log_hparams", {"value": value}))
    assert isinstance(parsed, ours.LogHParamsMessage)
    assert parsed.value == {}
    assert ours.parse_ingestion_payload(message("log_hparams", {})).value == {}  # type: ignore[union-attr]


@pytest.mark.parametrize("type_", ["create_run", "finish_run", "log_metric", "log_custom_object"])
@pytest.mark.parametrize("raw", ["yesterday", "", 1e300, [1], {"a": 1}])
def test_consumer_contract_ignores_an_unparseable_client_datetime(type_: str, raw: Any) -> None:
    base: dict[str, Any] = {"name": "n", "value": 1.0} if type_ == "log_metric" else {}
    if type_ == "log_custom_object":
        base = {"name": "n", "value": {}}
    parsed = ours.parse_ingestion_payload(message(type_, {**base, "client_datetime": raw}))
    assert getattr(parsed, "client_datetime") is None  # noqa: B009


def test_consumer_contract_keeps_a_parseable_client_datetime() -> None:
    parsed = ours.parse_ingestion_payload(message("finish_run", {"client_datetime": ISO}))
    assert isinstance(parsed, ours.FinishRunMessage)
    assert parsed.client_datetime == datetime(2026, 3, 20, 12, tzinfo=UTC)


def test_a_nan_metric_reaches_the_topic_as_null() -> None:
    """The frontier serialises NaN/inf payload values as null; the consumer contract reads them as None."""
    frame = ours.LogMetricWsRequest(
        run_id=RID,
        name="loss",
        value=math.nan,
        step=1,
        epoch=None,
        context=None,
        dtype="float",
        client_datetime=datetime(2026, 3, 20, tzinfo=UTC),
    )
    wire = ours.ws_frame_to_ingestion_message(frame, timestamp=NOW).model_dump_json()
    assert '"value":null' in wire
    reference_wire = theirs_kafka.IngestionMessage(
        type="log_metric",
        run_id=RID,
        timestamp=NOW,
        payload={"name": "loss", "value": math.nan},
    ).model_dump_json()
    assert '"value":null' in reference_wire
    msg = ours.IngestionMessage.model_validate_json(wire)
    parsed = ours.parse_ingestion_payload(msg)
    assert isinstance(parsed, ours.LogMetricMessage)
    assert parsed.value is None
    with pytest.raises(ValidationError):
        ours.parse_ingestion_payload_as_ws(msg)


def test_blob_key_alias_in_payloads() -> None:
    both = {"s3_key": "s3", "blob_key": "blob", "artifact_path": "a"}
    for parse in (ours.parse_ingestion_payload, ours.parse_ingestion_payload_as_ws):
        only_new = parse(message("blob_ref", {"blob_key": "k", "artifact_path": "a"}))
        assert isinstance(only_new, ours.BlobRefMessage | ours.BlobRefWsRequest)
        assert only_new.s3_key == only_new.blob_key == "k"
        preferred = parse(message("blob_ref", both))
        assert isinstance(preferred, ours.BlobRefMessage | ours.BlobRefWsRequest)
        assert preferred.s3_key == "s3"
        assert "blob_key" not in preferred.model_dump()


@pytest.mark.parametrize(
    ("type_", "payload", "locs"),
    [
        ("nope", {}, [()]),
        ("", {}, [()]),
        ("log_metric", {"value": 1.0}, [("log_metric", "name")]),
        ("log_metric", {"name": "m"}, [("log_metric", "value")]),
        (
            "log_metric",
            {"name": "m", "value": "x", "step": "y"},
            [("log_metric", "value"), ("log_metric", "step")],
        ),
        ("log_terminal_line", {"line": "l"}, [("log_terminal_line", "step")]),
        ("add_tag", {}, [("add_tag", "tag_name")]),
        ("remove_tag", {"tag_name": 3}, [("remove_tag", "tag_name")]),
        ("log_record", {"message": "m", "level": 1}, [("log_record", "timestamp")]),
        ("log_custom_object", {"name": "n"}, [("log_custom_object", "value")]),
        ("set_run_property", {"archived": "sometimes"}, [("set_run_property", "archived")]),
        ("create_run", {"force_resume": "maybe"}, [("create_run", "force_resume")]),
    ],
)
def test_invalid_payloads_fail_naming_the_field(type_: str, payload: dict[str, Any], locs: list[Any]) -> None:
    with pytest.raises(ValidationError) as info:
        ours.parse_ingestion_payload(message(type_, payload))
    assert [err["loc"] for err in info.value.errors()] == locs


def test_unknown_type_passes_the_envelope_but_not_the_parser() -> None:
    msg = message("brand_new_type", {"a": 1})
    assert msg.type == "brand_new_type"
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        ours.parse_ingestion_payload(msg)
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        ours.parse_ingestion_payload_as_ws(msg)


def test_message_types_and_union_tags_agree() -> None:
    ws_types = set(ours.WS_REQUEST_MODELS)
    assert ws_types == {
        "create_run",
        "log_metric",
        "log_hparams",
        "finish_run",
        "set_run_property",
        "add_tag",
        "remove_tag",
        "log_custom_object",
        "log_terminal_line",
        "log_record",
        "blob_ref",
    }
    assert {member.value for member in ours.IngestionMessageType} == ws_types | {"delete_run"}
    required: dict[str, dict[str, Any]] = {
        "log_custom_object": {"name": "n", "value": {}},
        "add_tag": {"tag_name": "t"},
        "remove_tag": {"tag_name": "t"},
        "log_metric": {"name": "n", "value": 1},
        "log_terminal_line": {"line": "l", "step": 0},
        "log_record": {"message": "m", "level": 20, "timestamp": 0},
    }
    for type_ in ours.IngestionMessageType:
        minimal = required.get(type_, {})
        assert ours.parse_ingestion_payload(message(type_, minimal)).type == type_
    for name, model in ours.WS_REQUEST_MODELS.items():
        assert model.__name__ in theirs_ws.__all__
        assert model.model_fields["type"].default == name
    assert [member.value for member in ours.ControlEventType] == [
        "run_deleted",
        "run_archived",
        "run_unarchived",
        "experiment_deleted",
        "tag_deleted",
        "project_deleted",
    ]
    assert ours.DEFAULT_DATA_INGESTION_TOPIC == "data-ingestion"
    assert ours.DEFAULT_CONTROL_EVENTS_TOPIC == "control-events"
