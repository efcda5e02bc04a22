"""WebSocket request frames (client -> frontier) and the frontier's reply, as in matyan-api-models 0.2.1.

Every frame has a ``type`` literal (the discriminator of :data:`WsRequestT`) and a ``run_id``. Unknown extra
keys are ignored, as pydantic does by default (the client sends ``client_datetime`` on ``finish_run``).

Deliberate differences from 0.2.1 (docs/architecture.md, Wire compatibility):

* ``run_id`` must be a non-empty string (0.2.1 accepts ``""``); it is never normalised.
* :class:`BlobRefWsRequest` also accepts ``blob_key`` (the newer, unreleased field name) as an alias of
  ``s3_key``; ``s3_key`` wins when both are present, and it always serialises as ``s3_key``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import AliasChoices, BaseModel, Field, TypeAdapter

from matyan_models.typing import WireRunId


class BaseWsRequest(BaseModel):
    type: str
    run_id: WireRunId


class CreateRunWsRequest(BaseWsRequest):
    type: Literal["create_run"] = "create_run"
    client_datetime: datetime
    force_resume: bool = False


class LogMetricWsRequest(BaseWsRequest):
    """A scalar metric point. Every field is required: the nullable ones must be present (as ``null``)."""

    type: Literal["log_metric"] = "log_metric"
    name: str
    value: float
    step: int | None
    epoch: int | None
    context: dict[Any, Any] | None
    dtype: str | None
    client_datetime: datetime


class LogHParamsWsRequest(BaseWsRequest):
    type: Literal["log_hparams"] = "log_hparams"
    value: dict[Any, Any]


class FinishRunWsRequest(BaseWsRequest):
    type: Literal["finish_run"] = "finish_run"


class SetRunPropertyWsRequest(BaseWsRequest):
    """Set one or more run properties (name, description, archived, experiment)."""

    type: Literal["set_run_property"] = "set_run_property"
    name: str | None = None
    description: str | None = None
    archived: bool | None = None
    experiment: str | None = None


class AddTagWsRequest(BaseWsRequest):
    """Add a tag to a run by name (the tag is created if it does not exist)."""

    type: Literal["add_tag"] = "add_tag"
    tag_name: str


class RemoveTagWsRequest(BaseWsRequest):
    """Remove a tag from a run by name."""

    type: Literal["remove_tag"] = "remove_tag"
    tag_name: str


class LogCustomObjectWsRequest(BaseWsRequest):
    """A custom object (Image, Audio, Text, Distribution, Figure).

    ``value`` is the serialised object; for blob types it carries the ``s3_key`` of the uploaded bytes.
    """

    type: Literal["log_custom_object"] = "log_custom_object"
    name: str
    value: dict[Any, Any]
    step: int | None = None
    epoch: int | None = None
    context: dict[Any, Any] | None = None
    dtype: str = "custom"
    client_datetime: datetime | None = None


class LogTerminalLineWsRequest(BaseWsRequest):
    """One captured terminal output line (stdout/stderr)."""

    type: Literal["log_terminal_line"] = "log_terminal_line"
    line: str
    step: int


class LogRecordWsRequest(BaseWsRequest):
    """A structured log record; ``level`` uses Python logging numbers, ``timestamp`` is unix seconds."""

    type: Literal["log_record"] = "log_record"
    message: str
    level: int
    timestamp: float
    logger_info: list[Any] | None = None
    extra_args: dict[Any, Any] | None = None


class BlobRefWsRequest(BaseWsRequest):
    """A blob was uploaded (sent by the client after a successful PUT).

    ``blob_key`` (the newer, unreleased name) is accepted as an alias of ``s3_key``; ``s3_key`` wins when
    both are present. The model always serialises the 0.2.1 shape (``s3_key``).
    """

    type: Literal["blob_ref"] = "blob_ref"
    s3_key: str = Field(validation_alias=AliasChoices("s3_key", "blob_key"))
    artifact_path: str
    content_type: str = "application/octet-stream"

    @property
    def blob_key(self) -> str:
        """The blob store key (``s3_key``) under its backend-neutral name."""
        return self.s3_key


WsRequestUnion = (
    CreateRunWsRequest
    | LogMetricWsRequest
    | LogHParamsWsRequest
    | FinishRunWsRequest
    | SetRunPropertyWsRequest
    | AddTagWsRequest
    | RemoveTagWsRequest
    | LogCustomObjectWsRequest
    | LogTerminalLineWsRequest
    | LogRecordWsRequest
    | BlobRefWsRequest
)
"""Every frame model as a plain union: the one list the discriminated unions and the type map build on."""

WsRequestT = Annotated[WsRequestUnion, Field(discriminator="type")]
"""Any client -> frontier frame, discriminated by ``type``."""

WsRequestTAdapter: TypeAdapter[WsRequestT] = TypeAdapter(WsRequestT)
"""Validates one frame item: ``WsRequestTAdapter.validate_python(item)``."""

WS_REQUEST_MODELS: Final[Mapping[str, type[BaseWsRequest]]] = {
    model.model_fields["type"].default: model for model in get_args(WsRequestUnion)
}
"""The frame model of each WebSocket ``type``."""


class WsResponse(BaseModel):
    """The frontier's one reply per frame: ``{"status":"ok","error":null}`` or ``status="error"``."""

    status: str
    error: str | None = None


__all__ = [
    "WS_REQUEST_MODELS",
    "AddTagWsRequest",
    "BaseWsRequest",
    "BlobRefWsRequest",
    "CreateRunWsRequest",
    "FinishRunWsRequest",
    "LogCustomObjectWsRequest",
    "LogHParamsWsRequest",
    "LogMetricWsRequest",
    "LogRecordWsRequest",
    "LogTerminalLineWsRequest",
    "RemoveTagWsRequest",
    "SetRunPropertyWsRequest",
    "WsRequestT",
    "WsRequestTAdapter",
    "WsResponse",
]
