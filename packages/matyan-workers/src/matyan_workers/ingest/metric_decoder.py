"""The ``log_metric`` fast path: one typed msgspec decode instead of the pydantic models, for the common case.

Nearly every message is a ``log_metric`` shaped exactly as the frontier writes it, and parsing is most of
a message's cost. :func:`parse_log_metric` decodes the envelope and the payload into typed structs in one
pass (C code; no intermediate dicts) and checks the few things the types do not say. Whatever it is not
sure of (another type, a value of an unusual type, anything that may be invalid) it declines (``None``)
and leaves to the full validation, so the fast path accepts only what the models accept, with the same
result, and every rejection still comes from the models (a property test holds the two together).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from pydantic import ValidationError
from pydantic_core import SchemaValidator, core_schema

from matyan_workers.ingest.apply import MetricPoint, metric_value

__all__ = ["parse_log_metric"]

# JSON integers beyond 64 bits are left to the models (pydantic converts or rejects them); so are non-finite
# numbers (msgspec reads ``1e999`` as out of range) and steps below 0 (applying them fails: a dead letter).
_Int64 = Annotated[int, msgspec.Meta(ge=-(1 << 63), le=(1 << 63) - 1)]
_Step = Annotated[int, msgspec.Meta(ge=0, le=(1 << 63) - 1)]


class _Payload(msgspec.Struct):
    name: str
    # An int stays an int (a JSON number is kept as sent); booleans and strings are not numbers here.
    value: _Int64 | float | None
    step: _Step | None = None
    epoch: _Int64 | None = None
    context: dict[str, Any] | None = None
    dtype: str | None = "float"


class _Envelope(msgspec.Struct):
    type: Literal["log_metric"]
    run_id: Annotated[str, msgspec.Meta(min_length=1)]
    timestamp: str
    payload: _Payload
    project_id: str | None = None


_DECODER = msgspec.json.Decoder(_Envelope)
# The validator pydantic builds for a ``datetime`` field (lax mode), without the TypeAdapter wrapper.
_DATETIME = SchemaValidator(core_schema.datetime_schema())


def parse_log_metric(value: bytes) -> MetricPoint | None:
    """The :class:`MetricPoint` of a plain ``log_metric`` message, or ``None``: let the models decide.

    Accepts only what :class:`~matyan_models.IngestionMessage` and the ``log_metric`` consumer model accept,
    and yields what :func:`~matyan_workers.ingest.apply.metric_point` makes of them. A step below 0 is
    declined too: the models accept it, and applying it fails (a dead letter).
    """
    try:
        msg = _DECODER.decode(value)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    # ``client_datetime`` is never a reason to reject (unparseable reads as None) and is not stored.
    try:
        _DATETIME.validate_python(msg.timestamp)
    except ValidationError:
        return None
    p = msg.payload
    raw = p.value
    dtype = p.dtype
    if dtype == "float" and type(raw) is float:
        stored: int | float | bool = raw
    else:
        stored = metric_value(raw, None if raw is None else float(raw), dtype)
    return MetricPoint(msg.run_id, p.name, stored, p.step, p.epoch, p.context, dtype or "float")
