"""Type aliases and id validators shared by the wire models.

Mirrors ``matyan_api_models.typing`` (0.2.1) and adds what the new backend needs:

* :data:`RunId` keeps the 0.2.1 meaning (32 lowercase hex characters; ``None`` becomes a fresh
  ``uuid4().hex``). 0.2.1 defines it but uses it nowhere on the wire.
* :data:`WireRunId` is the run id of the WebSocket/Kafka path: any non-empty string, stored and returned
  exactly as given (32-hex ids, dashed UUIDs, ULIDs, ``integration-<hex>``...). Only the empty string is
  rejected (0.2.1 accepts it; this is a deliberate difference).
* :data:`DEFAULT_PROJECT_ID` is the default project of the newer, unreleased models.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

DEFAULT_PROJECT_ID: Final = "00000000"

_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX32_MESSAGE: Final = "UUID must be a 32-character hexadecimal lowercase string"
_UUID_MESSAGE: Final = "Not a valid UUID hex format"


def validate_hex_run_id(value: str) -> str:
    """Check a run id the way 0.2.1's ``RunCreateRequest.id`` does; return it unchanged.

    :raises ValueError: ``"UUID must be a 32-character hexadecimal lowercase string"`` unless the value is
        exactly 32 lowercase hex characters.
    """
    if not _HEX32.fullmatch(value):
        raise ValueError(_HEX32_MESSAGE)
    try:
        uuid.UUID(hex=value)
    except ValueError as exc:  # pragma: no cover - every 32-hex string is a valid UUID
        raise ValueError(_UUID_MESSAGE) from exc
    return value


def _hex_run_id_or_new(value: Any) -> Any:
    if value is None:
        return uuid.uuid4().hex
    if not isinstance(value, str):
        # Let pydantic's own ``str`` validation report the wrong type.
        return value
    return validate_hex_run_id(value)


def _non_empty_run_id(value: str) -> str:
    if not value:
        raise PydanticCustomError("run_id_empty", "run_id must be a non-empty string")
    return value


RunId = Annotated[str, BeforeValidator(_hex_run_id_or_new)]
"""0.2.1 ``RunId``: ``None`` -> ``uuid4().hex``; otherwise 32 lowercase hex characters."""

WireRunId = Annotated[str, AfterValidator(_non_empty_run_id)]
"""Run id on the WebSocket/Kafka path: any non-empty string, never normalised."""

RunIdT = str
RunNameT = str
ProjectNameT = str
ExperimentNameT = str
DescriptionT = str
MetricNameT = str
StepT = int
EpochT = int
ContextT = dict[Any, Any]
DtypeT = str
MetricT = str
HParams = dict[str, Any]

__all__ = [
    "DEFAULT_PROJECT_ID",
    "ContextT",
    "DescriptionT",
    "DtypeT",
    "EpochT",
    "ExperimentNameT",
    "HParams",
    "MetricNameT",
    "MetricT",
    "ProjectNameT",
    "RunId",
    "RunIdT",
    "RunNameT",
    "StepT",
    "WireRunId",
    "validate_hex_run_id",
]
