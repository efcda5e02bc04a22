"""Kafka envelopes: IngestionMessage (topic ``data-ingestion``) and ControlEvent (``control-events``).

Fields, types and JSON output are those of matyan-api-models 0.2.1. The newer, unreleased shape is accepted
without failing: :attr:`IngestionMessage.project_id` is optional (default ``"00000000"``) and stays out of the
JSON unless it was given, so every message the backend produces keeps the 0.2.1 shape. Run ids are any
non-empty string and are never normalised.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Final, cast

from pydantic import (
    BaseModel,
    BeforeValidator,
    GetJsonSchemaHandler,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from matyan_models.typing import DEFAULT_PROJECT_ID, WireRunId

DEFAULT_DATA_INGESTION_TOPIC: Final = "data-ingestion"
DEFAULT_CONTROL_EVENTS_TOPIC: Final = "control-events"


def _default_project_if_null(value: Any) -> Any:
    return DEFAULT_PROJECT_ID if value is None else value


class IngestionMessageType(StrEnum):
    """The ``type`` values on ``data-ingestion``: the 11 WebSocket frame types plus ``delete_run``."""

    CREATE_RUN = "create_run"
    LOG_METRIC = "log_metric"
    LOG_HPARAMS = "log_hparams"
    FINISH_RUN = "finish_run"
    SET_RUN_PROPERTY = "set_run_property"
    ADD_TAG = "add_tag"
    REMOVE_TAG = "remove_tag"
    LOG_CUSTOM_OBJECT = "log_custom_object"
    LOG_TERMINAL_LINE = "log_terminal_line"
    LOG_RECORD = "log_record"
    BLOB_REF = "blob_ref"
    DELETE_RUN = "delete_run"
    """Published by the backend API (never by the frontier); payload ``{}``."""


class ControlEventType(StrEnum):
    """The ``type`` values on ``control-events`` (a plain string on the wire)."""

    RUN_DELETED = "run_deleted"
    RUN_ARCHIVED = "run_archived"
    RUN_UNARCHIVED = "run_unarchived"
    EXPERIMENT_DELETED = "experiment_deleted"
    TAG_DELETED = "tag_deleted"
    PROJECT_DELETED = "project_deleted"
    """Only produced by the newer, unreleased models; accepted, not acted upon."""


class IngestionMessage(BaseModel):
    """Envelope of every message on ``data-ingestion`` (key = ``run_id``, value = ``model_dump_json()``).

    ``type`` is a plain string (see :class:`IngestionMessageType`); ``payload`` is a plain dict whose shape
    depends on ``type`` (see :func:`matyan_models.parse_ingestion_payload`).
    """

    type: str
    run_id: WireRunId
    project_id: Annotated[str, BeforeValidator(_default_project_if_null)] = DEFAULT_PROJECT_ID
    """Accepted (the newer shape), never required, not interpreted; ``null`` reads as the default."""
    timestamp: datetime
    payload: dict[Any, Any]

    @model_serializer(mode="wrap")
    def _omit_unset_project_id(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if "project_id" not in self.model_fields_set and isinstance(data, dict):
            data.pop("project_id", None)
        return data

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The wrap serializer above only drops an unset ``project_id``: describe the serialised shape with
        # the fields themselves instead of the opaque function.
        if handler.mode == "serialization":
            fields_only = {key: value for key, value in core_schema.items() if key != "serialization"}
            core_schema = cast(CoreSchema, fields_only)
        return handler(core_schema)


class ControlEvent(BaseModel):
    """Envelope of every message on ``control-events`` (no key; value = ``model_dump_json()``).

    Produced by the backend after its store writes; consumed by the control worker. ``type`` is a plain
    string (see :class:`ControlEventType`), so an unknown type still parses.
    """

    type: str
    timestamp: datetime
    payload: dict[Any, Any]


__all__ = [
    "DEFAULT_CONTROL_EVENTS_TOPIC",
    "DEFAULT_DATA_INGESTION_TOPIC",
    "ControlEvent",
    "ControlEventType",
    "IngestionMessage",
    "IngestionMessageType",
]
