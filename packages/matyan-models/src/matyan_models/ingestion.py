"""Typed views of :class:`~matyan_models.kafka.IngestionMessage` payloads, for the ingest worker.

``IngestionMessage.payload`` is a plain dict. Two parsers turn ``type`` + ``run_id`` + ``payload`` into a
typed frame (the envelope's ``type`` and ``run_id`` override any such key inside the payload):

* :func:`parse_ingestion_payload` applies the **consumer contract** (docs/architecture.md, Ingestion
  messages): what the frontier 0.3.0 publishes, and also what other producers put on the topic, such as the
  reference's integration tests (``create_run`` with payload ``{}``, ``log_metric`` without ``epoch`` or
  ``client_datetime``). Compared with the WebSocket models it relaxes exactly these fields:

  - ``create_run``: ``client_datetime`` optional; ``force_resume`` ``null`` reads as ``False``;
  - ``log_metric``: ``step``/``epoch``/``context``/``client_datetime`` optional, ``dtype`` defaults to
    ``"float"``, and ``value`` may be ``null`` (the frontier serialises a NaN or infinite value as
    ``null``);
  - ``log_custom_object``, ``finish_run``: optional ``client_datetime``;
  - ``log_hparams``: a missing or non-dict ``value`` reads as ``{}`` (the worker ignores it);
  - ``blob_ref``: ``artifact_path`` defaults to ``"unknown"``, ``s3_key`` to ``""`` (``blob_key`` accepted
    as an alias), ``content_type`` to ``"application/octet-stream"``;
  - every ``client_datetime`` that does not parse reads as ``None`` (the reference ignores it).

  The other types use the WebSocket models unchanged.
* :func:`parse_ingestion_payload_as_ws` validates the payload against the WebSocket model of its type,
  exactly as the frontier validated the original frame (``delete_run`` has :class:`DeleteRunMessage`).

Both raise :class:`pydantic.ValidationError` for an unknown ``type``, a missing required field or a wrong
type.

:func:`ws_frame_to_ingestion_message` is the frontier's mapping (docs/architecture.md, The frontier) from a
validated WebSocket frame to the message it publishes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
    WrapValidator,
)
from pydantic_core.core_schema import ValidatorFunctionWrapHandler

from matyan_models.kafka import IngestionMessage
from matyan_models.typing import WireRunId
from matyan_models.ws import (
    AddTagWsRequest,
    BlobRefWsRequest,
    CreateRunWsRequest,
    FinishRunWsRequest,
    LogCustomObjectWsRequest,
    LogHParamsWsRequest,
    LogMetricWsRequest,
    LogRecordWsRequest,
    LogTerminalLineWsRequest,
    RemoveTagWsRequest,
    SetRunPropertyWsRequest,
    WsRequestT,
    WsRequestUnion,
)


def _datetime_or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    if value is None:
        return None
    try:
        return handler(value)
    except ValidationError:
        return None


def _false_if_none(value: Any) -> Any:
    return False if value is None else value


def _dict_or_empty(value: Any) -> Any:
    return value if isinstance(value, dict) else {}


OptionalClientDatetime = Annotated[datetime | None, WrapValidator(_datetime_or_none)]
"""A client-side timestamp that is ignored (``None``) when missing or unparseable."""


def _not_a_string(value: Any) -> Any:
    if isinstance(value, str | bytes | bytearray):
        raise ValueError("a JSON number is expected, not a string")
    return value


# A number sent as a string ("1.5") is refused rather than converted: the frontier sends JSON numbers, and
# a converted one would store a value the client never tracked as a number (docs/architecture.md,
# Ingestion messages).
_Number = BeforeValidator(_not_a_string)


class _IngestionFrame(BaseModel):
    type: str
    run_id: WireRunId


class CreateRunMessage(_IngestionFrame):
    type: Literal["create_run"] = "create_run"
    client_datetime: OptionalClientDatetime = None
    force_resume: Annotated[bool, BeforeValidator(_false_if_none)] = False


class LogMetricMessage(_IngestionFrame):
    """A metric point; ``value`` is ``None`` when the client logged a NaN or an infinity."""

    type: Literal["log_metric"] = "log_metric"
    name: str
    value: Annotated[float | None, _Number]
    step: Annotated[int | None, _Number] = None
    epoch: Annotated[int | None, _Number] = None
    context: dict[Any, Any] | None = None
    dtype: str | None = "float"
    client_datetime: OptionalClientDatetime = None


class LogHParamsMessage(_IngestionFrame):
    type: Literal["log_hparams"] = "log_hparams"
    value: Annotated[dict[Any, Any], BeforeValidator(_dict_or_empty)] = Field(default_factory=dict)


class FinishRunMessage(_IngestionFrame):
    type: Literal["finish_run"] = "finish_run"
    client_datetime: OptionalClientDatetime = None


class SetRunPropertyMessage(SetRunPropertyWsRequest):
    pass


class AddTagMessage(AddTagWsRequest):
    pass


class RemoveTagMessage(RemoveTagWsRequest):
    pass


class LogCustomObjectMessage(_IngestionFrame):
    type: Literal["log_custom_object"] = "log_custom_object"
    name: str
    value: dict[Any, Any]
    step: Annotated[int | None, _Number] = None
    epoch: Annotated[int | None, _Number] = None
    context: dict[Any, Any] | None = None
    dtype: str = "custom"
    client_datetime: OptionalClientDatetime = None


class LogTerminalLineMessage(LogTerminalLineWsRequest):
    pass


class LogRecordMessage(LogRecordWsRequest):
    pass


class BlobRefMessage(_IngestionFrame):
    type: Literal["blob_ref"] = "blob_ref"
    s3_key: str = Field(default="", validation_alias=AliasChoices("s3_key", "blob_key"))
    artifact_path: str = "unknown"
    content_type: str = "application/octet-stream"

    @property
    def blob_key(self) -> str:
        """The blob store key (``s3_key``) under its backend-neutral name."""
        return self.s3_key


class DeleteRunMessage(_IngestionFrame):
    """``delete_run``: published by the backend API on ``data-ingestion``; the payload is ``{}``."""

    type: Literal["delete_run"] = "delete_run"


IngestionFrameT = Annotated[
    CreateRunMessage
    | LogMetricMessage
    | LogHParamsMessage
    | FinishRunMessage
    | SetRunPropertyMessage
    | AddTagMessage
    | RemoveTagMessage
    | LogCustomObjectMessage
    | LogTerminalLineMessage
    | LogRecordMessage
    | BlobRefMessage
    | DeleteRunMessage,
    Field(discriminator="type"),
]
"""A typed ingestion message under the consumer contract, discriminated by ``type``."""

IngestionFrameTAdapter: TypeAdapter[IngestionFrameT] = TypeAdapter(IngestionFrameT)

WsIngestionFrameT = Annotated[WsRequestUnion | DeleteRunMessage, Field(discriminator="type")]
"""A WebSocket frame (:data:`~matyan_models.ws.WsRequestT`) or a :class:`DeleteRunMessage`."""

WsIngestionFrameTAdapter: TypeAdapter[WsIngestionFrameT] = TypeAdapter(WsIngestionFrameT)


def _frame_input(msg: IngestionMessage) -> dict[Any, Any]:
    return {**msg.payload, "type": msg.type, "run_id": msg.run_id}


def parse_ingestion_payload(msg: IngestionMessage) -> IngestionFrameT:
    """Validate ``msg.payload`` under the consumer contract and return the typed frame.

    :raises pydantic.ValidationError: unknown ``type``, missing required field or wrong type; the error
        locations start with the type (e.g. ``("log_metric", "name")``).
    """
    return IngestionFrameTAdapter.validate_python(_frame_input(msg))


def parse_ingestion_payload_as_ws(msg: IngestionMessage) -> WsIngestionFrameT:
    """Validate ``msg.payload`` against the WebSocket model of ``msg.type`` (or :class:`DeleteRunMessage`).

    Stricter than :func:`parse_ingestion_payload`: a payload the frontier 0.3.0 produced from a valid frame
    passes (except a NaN/infinite metric value, which the frontier serialised as ``null``), but the partial
    payloads other producers send (``create_run {}``) fail.

    :raises pydantic.ValidationError: as for :func:`parse_ingestion_payload`.
    """
    return WsIngestionFrameTAdapter.validate_python(_frame_input(msg))


def _ws_payload(frame: WsRequestT) -> dict[str, Any]:
    match frame:
        case CreateRunWsRequest():
            return {"client_datetime": frame.client_datetime.isoformat(), "force_resume": frame.force_resume}
        case LogMetricWsRequest():
            return {
                "name": frame.name,
                "value": frame.value,
                "step": frame.step,
                "epoch": frame.epoch,
                "context": frame.context,
                "dtype": frame.dtype,
                "client_datetime": frame.client_datetime.isoformat(),
            }
        case LogHParamsWsRequest():
            return {"value": frame.value}
        case FinishRunWsRequest():
            return {}
        case SetRunPropertyWsRequest():
            props = {
                "name": frame.name,
                "description": frame.description,
                "archived": frame.archived,
                "experiment": frame.experiment,
            }
            return {key: value for key, value in props.items() if value is not None}
        case AddTagWsRequest() | RemoveTagWsRequest():
            return {"tag_name": frame.tag_name}
        case LogCustomObjectWsRequest():
            return {
                "name": frame.name,
                "value": frame.value,
                "step": frame.step,
                "epoch": frame.epoch,
                "context": frame.context,
                "dtype": frame.dtype,
            }
        case LogTerminalLineWsRequest():
            return {"line": frame.line, "step": frame.step}
        case LogRecordWsRequest():
            record: dict[str, Any] = {
                "message": frame.message,
                "level": frame.level,
                "timestamp": frame.timestamp,
            }
            if frame.logger_info is not None:
                record["logger_info"] = frame.logger_info
            if frame.extra_args is not None:
                record["extra_args"] = frame.extra_args
            return record
        case BlobRefWsRequest():
            return {
                "s3_key": frame.s3_key,
                "artifact_path": frame.artifact_path,
                "content_type": frame.content_type,
            }


def ws_frame_to_ingestion_message(
    frame: WsRequestT, *, timestamp: datetime | None = None
) -> IngestionMessage:
    """Build the :class:`IngestionMessage` the frontier 0.3.0 publishes for a validated WebSocket frame.

    ``type`` and ``run_id`` are copied from the frame (the frontier first sets ``run_id`` to the URL path id);
    ``timestamp`` defaults to now (UTC). The payload follows the frontier's mapping (docs/architecture.md, The
    frontier): for example ``client_datetime`` becomes an ISO string, ``log_custom_object`` drops it,
    ``set_run_property`` keeps only the properties that are not ``None``.
    """
    return IngestionMessage(
        type=frame.type,
        run_id=frame.run_id,
        timestamp=timestamp if timestamp is not None else datetime.now(UTC),
        payload=_ws_payload(frame),
    )


__all__ = [
    "AddTagMessage",
    "BlobRefMessage",
    "CreateRunMessage",
    "DeleteRunMessage",
    "FinishRunMessage",
    "IngestionFrameT",
    "IngestionFrameTAdapter",
    "LogCustomObjectMessage",
    "LogHParamsMessage",
    "LogMetricMessage",
    "LogRecordMessage",
    "LogTerminalLineMessage",
    "OptionalClientDatetime",
    "RemoveTagMessage",
    "SetRunPropertyMessage",
    "WsIngestionFrameT",
    "WsIngestionFrameTAdapter",
    "parse_ingestion_payload",
    "parse_ingestion_payload_as_ws",
    "ws_frame_to_ingestion_message",
]
