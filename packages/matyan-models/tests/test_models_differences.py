"""The deliberate differences from matyan-api-models 0.2.1, each tested as a difference.

docs/architecture.md, Wire compatibility: the backend speaks the 0.2.1 wire format and also accepts the newer,
unreleased shape without failing (optional ``project_id``, ``blob_key`` as an alias of ``s3_key``, ULID run
ids). In addition an empty run id is rejected, and a few 0.2.1 crashes became clean errors.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from matyan_api_models import backup as theirs_backup
from matyan_api_models import kafka as theirs_kafka
from matyan_api_models import ws as theirs_ws
from matyan_api_models.typing import RunId as TheirRunId
from pydantic import TypeAdapter, ValidationError

import matyan_models as ours
from matyan_models.typing import RunId as OurRunId

RID = "0123456789abcdef0123456789abcdef"
ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
ISO = "2026-03-20T12:00:00+00:00"
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)

MINIMAL_FRAMES: dict[str, dict[str, Any]] = {
    "create_run": {"client_datetime": ISO},
    "log_metric": {
        "name": "m",
        "value": 1.0,
        "step": 0,
        "epoch": None,
        "context": None,
        "dtype": "float",
        "client_datetime": ISO,
    },
    "log_hparams": {"value": {}},
    "finish_run": {},
    "set_run_property": {},
    "add_tag": {"tag_name": "t"},
    "remove_tag": {"tag_name": "t"},
    "log_custom_object": {"name": "n", "value": {}},
    "log_terminal_line": {"line": "l", "step": 0},
    "log_record": {"message": "m", "level": 20, "timestamp": 1.0},
    "blob_ref": {"s3_key": "k", "artifact_path": "a"},
}


# --- run ids ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("frame_type", sorted(MINIMAL_FRAMES))
def test_empty_run_id_is_rejected_where_0_2_1_accepts_it(frame_type: str) -> None:
    frame = {"type": frame_type, "run_id": "", **MINIMAL_FRAMES[frame_type]}
    theirs_ws.WsRequestTAdapter.validate_python(frame)  # 0.2.1: accepted
    with pytest.raises(ValidationError) as info:
        ours.WsRequestTAdapter.validate_python(frame)
    (error,) = info.value.errors()
    assert error["type"] == "run_id_empty"
    assert error["loc"] == (frame_type, "run_id")
    assert error["msg"] == "run_id must be a non-empty string"


def test_empty_run_id_is_rejected_on_the_kafka_envelope() -> None:
    data = {"type": "finish_run", "run_id": "", "timestamp": ISO, "payload": {}}
    theirs_kafka.IngestionMessage.model_validate(data)
    with pytest.raises(ValidationError, match="run_id must be a non-empty string"):
        ours.IngestionMessage.model_validate(data)
    with pytest.raises(ValidationError, match="run_id must be a non-empty string"):
        ours.IngestionMessage.model_validate_json(json.dumps(data))


@pytest.mark.parametrize(
    "run_id", [RID, ULID, ULID.lower(), "123e4567-e89b-12d3-a456-426614174000", " x ", "a"]
)
def test_other_run_ids_are_kept_verbatim(run_id: str) -> None:
    frame = ours.WsRequestTAdapter.validate_python({"type": "finish_run", "run_id": run_id})
    assert frame.run_id == run_id
    msg = ours.IngestionMessage(type="finish_run", run_id=run_id, timestamp=NOW, payload={})
    assert msg.run_id == run_id
    assert json.loads(msg.model_dump_json())["run_id"] == run_id


def test_typing_run_id_wrong_type_is_a_validation_error_not_a_crash() -> None:
    with pytest.raises(TypeError):  # 0.2.1 crashes inside its validator
        TypeAdapter(TheirRunId).validate_python(5)
    with pytest.raises(ValidationError, match="valid string"):
        TypeAdapter(OurRunId).validate_python(5)


# --- project_id on IngestionMessage ----------------------------------------------------------------------


def test_project_id_defaults_and_stays_out_of_the_json() -> None:
    msg = ours.IngestionMessage(type="delete_run", run_id=RID, timestamp=NOW, payload={})
    assert msg.project_id == ours.DEFAULT_PROJECT_ID == "00000000"
    assert "project_id" not in msg.model_dump()
    assert "project_id" not in msg.model_dump(mode="json")
    assert "project_id" not in json.loads(msg.model_dump_json())
    reference = theirs_kafka.IngestionMessage(type="delete_run", run_id=RID, timestamp=NOW, payload={})
    assert msg.model_dump_json() == reference.model_dump_json()


def test_project_id_given_is_accepted_and_kept() -> None:
    """0.2.1 ignores the key (extra) and drops it; we keep it, in the unreleased models' position."""
    data = {"type": "log_hparams", "run_id": ULID, "project_id": "abcdef01", "timestamp": ISO, "payload": {}}
    mine = ours.IngestionMessage.model_validate_json(json.dumps(data))
    reference = theirs_kafka.IngestionMessage.model_validate_json(json.dumps(data))
    assert mine.project_id == "abcdef01"
    assert list(json.loads(mine.model_dump_json())) == [
        "type",
        "run_id",
        "project_id",
        "timestamp",
        "payload",
    ]
    assert "project_id" not in json.loads(reference.model_dump_json())
    without = json.loads(mine.model_dump_json())
    del without["project_id"]
    assert without == json.loads(reference.model_dump_json())
    # The default value given explicitly is kept as well.
    explicit = ours.IngestionMessage(type="x", run_id="r", project_id="00000000", timestamp=NOW, payload={})
    assert json.loads(explicit.model_dump_json())["project_id"] == "00000000"


@pytest.mark.parametrize("project_id", ["00000000", "ABCDEF01", "not-hex", ""])
def test_any_project_id_string_is_accepted_as_given(project_id: str) -> None:
    """Unknown project ids are ignored by the backend, so their format is not checked (unreleased: 8 hex)."""
    data = {"type": "x", "run_id": "r", "project_id": project_id, "timestamp": ISO, "payload": {}}
    assert ours.IngestionMessage.model_validate(data).project_id == project_id


def test_null_project_id_reads_as_the_default() -> None:
    data: dict[str, Any] = {"type": "x", "run_id": "r", "project_id": None, "timestamp": ISO, "payload": {}}
    msg = ours.IngestionMessage.model_validate_json(json.dumps(data))
    assert msg.project_id == "00000000"


def test_wrongly_typed_project_id_is_rejected() -> None:
    data = {"type": "x", "run_id": "r", "project_id": 5, "timestamp": ISO, "payload": {}}
    theirs_kafka.IngestionMessage.model_validate(data)  # 0.2.1 ignores the unknown key
    with pytest.raises(ValidationError) as info:
        ours.IngestionMessage.model_validate(data)
    assert [err["loc"] for err in info.value.errors()] == [("project_id",)]


def test_project_id_survives_model_copy_and_exclude() -> None:
    msg = ours.IngestionMessage(type="x", run_id="r", timestamp=NOW, payload={})
    assert "project_id" in msg.model_copy(update={"project_id": "abcdef01"}).model_dump()
    assert "project_id" not in msg.model_copy().model_dump()
    given = ours.IngestionMessage(type="x", run_id="r", project_id="abcdef01", timestamp=NOW, payload={})
    assert "project_id" not in given.model_dump(exclude={"project_id"})


def test_ingestion_message_json_schema_documents_project_id_as_optional() -> None:
    for mode in ("validation", "serialization"):
        schema = ours.IngestionMessage.model_json_schema(mode=mode)
        assert schema["properties"]["project_id"] == {
            "default": "00000000",
            "title": "Project Id",
            "type": "string",
        }
        assert schema["required"] == ["type", "run_id", "timestamp", "payload"]


# --- blob_key alias ---------------------------------------------------------------------------------------


def test_blob_key_alone_is_accepted_as_s3_key() -> None:
    frame = {
        "type": "blob_ref",
        "run_id": ULID,
        "blob_key": f"{ULID}/model.bin",
        "artifact_path": "model.bin",
    }
    with pytest.raises(ValidationError, match="s3_key"):
        theirs_ws.WsRequestTAdapter.validate_python(frame)
    mine = ours.WsRequestTAdapter.validate_python(frame)
    assert isinstance(mine, ours.BlobRefWsRequest)
    assert mine.s3_key == mine.blob_key == f"{ULID}/model.bin"
    assert json.loads(mine.model_dump_json()) == {
        "type": "blob_ref",
        "run_id": ULID,
        "s3_key": f"{ULID}/model.bin",
        "artifact_path": "model.bin",
        "content_type": "application/octet-stream",
    }
    # ...and the result is valid 0.2.1 input.
    assert theirs_ws.BlobRefWsRequest.model_validate_json(mine.model_dump_json()).s3_key == mine.s3_key


def test_s3_key_wins_when_both_are_present() -> None:
    frame = {"type": "blob_ref", "run_id": RID, "s3_key": "s3", "blob_key": "blob", "artifact_path": "a"}
    mine = ours.BlobRefWsRequest.model_validate(frame)
    reference = theirs_ws.BlobRefWsRequest.model_validate(frame)
    assert mine.s3_key == reference.s3_key == "s3"
    assert mine.model_dump_json() == reference.model_dump_json()
    frame_json = json.dumps({**frame, "s3_key": None})
    with pytest.raises(ValidationError):  # a null s3_key is not replaced by blob_key
        ours.BlobRefWsRequest.model_validate_json(frame_json)


def test_missing_both_keys_names_s3_key() -> None:
    with pytest.raises(ValidationError) as info:
        ours.BlobRefWsRequest.model_validate({"run_id": RID, "artifact_path": "a"})
    assert [(err["type"], err["loc"]) for err in info.value.errors()] == [("missing", ("s3_key",))]


# --- backup manifest -------------------------------------------------------------------------------------


def test_validate_lists_several_run_directories_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "runs" / "zz").mkdir(parents=True)
    (tmp_path / "runs" / "yy").mkdir()
    hashes = ["b", "c", "a"]
    mine = ours.BackupManifest(run_hashes=hashes).validate(tmp_path)
    reference = theirs_backup.BackupManifest(run_hashes=hashes).validate(tmp_path)
    assert mine[:2] == [
        "Missing run directories: {'a', 'b', 'c'}",
        "Unexpected run directories: {'yy', 'zz'}",
    ]
    # 0.2.1 prints Python sets, whose order depends on string hashing: same text up to the order.
    assert [sorted(line) for line in mine] == [sorted(line) for line in reference]


def test_read_rejects_a_manifest_that_is_not_an_object(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("[]\n")
    with pytest.raises(AttributeError):
        theirs_backup.BackupManifest.read(tmp_path)
    with pytest.raises(ValueError, match="expected a JSON object"):
        ours.BackupManifest.read(tmp_path)
