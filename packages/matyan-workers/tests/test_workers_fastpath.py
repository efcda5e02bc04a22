"""The ``log_metric`` fast path accepts exactly what the models accept, with the same result.

``parse_log_metric`` may decline (``None``: the models decide); when it accepts, the full validation
(``IngestionMessage`` + the consumer ``log_metric`` model + ``metric_point``) must accept the same bytes and
yield an identical :class:`MetricPoint` (int stays int, NaN where the value was ``null``). And for the
messages the frontier actually sends it must not decline, or it would be no fast path.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from workers_fixtures import frontier_value, metric

from matyan_models import IngestionMessage
from matyan_models.ingestion import LogMetricMessage, parse_ingestion_payload
from matyan_workers.ingest.apply import MetricPoint, metric_point
from matyan_workers.ingest.batching import Record, parse_log_metric, parse_record

_json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=6)
)
_json = st.recursive(
    _json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
_ints = st.one_of(
    st.integers(-(2**40), 2**40),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 10**30, -1, 0]),
)
_numberish = st.one_of(
    _ints,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([3.0, 2.5, -0.0, 1e308, True, False, "3", "2.5", "nan", "", [1], {"a": 1}]),
    st.none(),
)
_timestamps = st.one_of(
    st.sampled_from(
        [
            "2026-03-20T12:00:00Z",
            "2026-03-20T12:00:00.123456+00:00",
            "2026-03-20T12:00:00.1234567Z",
            "2026-03-20 12:00:00",
            "2026-03-20",
            "2026-13-20T12:00:00Z",
            "2026-02-30T12:00:00Z",
            "2026-03-20T25:00:00Z",
            "2026-03-20T12:00:60Z",
            "0000-01-01T00:00:00Z",
            "1700000000",
            "1700000000.5",
            "yesterday",
            "",
        ]
    ),
    st.text(max_size=12),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
)


_PAYLOAD_ODDITIES: dict[str, st.SearchStrategy[Any]] = {
    "name": st.one_of(st.text(max_size=6), st.integers(), st.none()),
    "value": _numberish,
    "step": _numberish,
    "epoch": _numberish,
    "context": st.one_of(st.none(), st.dictionaries(st.text(max_size=4), _json, max_size=3), _json),
    "dtype": st.one_of(st.sampled_from(["float", "int", "int64", "bool", "", "custom"]), _json_scalar),
    "client_datetime": st.one_of(_timestamps, _json),
    "type": st.sampled_from(["log_metric", "create_run", 5]),
    "run_id": st.sampled_from(["other", "", None]),
    "extra": _json,
}
_ENVELOPE_ODDITIES: dict[str, st.SearchStrategy[Any]] = {
    "type": st.sampled_from(["log_metric", "log_metrics", "create_run", 1, None]),
    "run_id": st.one_of(st.sampled_from(["r" * 32, "run-1"]), st.text(max_size=3), st.integers(), st.none()),
    "project_id": st.one_of(st.text(max_size=3), st.none(), st.integers()),
    "timestamp": _timestamps,
    "payload": _json,
    "extra": _json,
}


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """A frontier-shaped ``log_metric`` with up to three fields changed (odd, wrong or removed)."""
    payload: dict[str, Any] = {
        "name": "loss",
        "value": draw(st.one_of(st.integers(-5, 5), st.floats(-10, 10))),
        "step": draw(st.one_of(st.none(), st.integers(0, 10))),
        "epoch": None,
        "context": draw(st.sampled_from([None, {}, {"subset": "val"}])),
        "dtype": "float",
        "client_datetime": "2026-03-20T12:00:00+00:00",
    }
    envelope: dict[str, Any] = {"type": "log_metric", "run_id": "r" * 32, "timestamp": "2026-03-20T12:00:00Z"}
    for _ in range(draw(st.integers(0, 3))):
        in_payload = draw(st.booleans())
        target, oddities = (payload, _PAYLOAD_ODDITIES) if in_payload else (envelope, _ENVELOPE_ODDITIES)
        key = draw(st.sampled_from(sorted(oddities)))
        if draw(st.integers(0, 4)) == 0:
            target.pop(key, None)
        else:
            target[key] = draw(oddities[key])
    envelope.setdefault("payload", payload)
    return json.dumps(envelope).encode()  # NaN/Infinity literals included: the parsers must agree on them


def models_parse(value: bytes) -> MetricPoint | None:
    """What the full validation makes of ``value``: a point, or ``None`` for anything it rejects."""
    try:
        msg = IngestionMessage.model_validate_json(value)
        if msg.type != "log_metric":
            return None
        frame = parse_ingestion_payload(msg)
    except ValidationError:
        return None
    assert isinstance(frame, LogMetricMessage)
    return metric_point(frame, msg.payload)


def same_point(a: MetricPoint, b: MetricPoint) -> bool:
    """Field by field, with the value's type and NaN compared too."""
    if type(a.value) is not type(b.value):
        return False
    if isinstance(a.value, float) and math.isnan(a.value):
        return math.isnan(b.value) and a._replace(value=0.0) == b._replace(value=0.0)
    return a == b and type(a.step) is type(b.step) and type(a.epoch) is type(b.epoch)


def check(value: bytes) -> MetricPoint | None:
    fast = parse_log_metric(value)
    if fast is not None:
        slow = models_parse(value)
        assert slow is not None, f"fast path accepted what the models reject: {value!r}"
        assert same_point(fast, slow), (fast, slow)
    return fast


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
@example(
    b'{"type":"log_metric","run_id":"r","timestamp":"2026-03-20T12:00:00Z","payload":{"name":"m","value":NaN}}'
)
@example(
    b'{"type":"log_metric","run_id":"r","timestamp":"2026-03-20T12:00:00Z","payload":{"name":"m","value":1e999}}'
)
@example(
    b'{"type":"log_metric","run_id":"r","timestamp":"2026-03-20T12:00:00Z",'
    b'"payload":{"name":"m","value":1,"context":{"x":Infinity}}}'
)
@example(
    b'{"type":"log_metric","run_id":"r","run_id":"","timestamp":"2026-03-20T12:00:00Z",'
    b'"payload":{"name":"m","value":1}}'
)
@example(
    b'{"type":"log_metric","run_id":"\\ud800","timestamp":"2026-03-20T12:00:00Z","payload":{"name":"m","value":1}}'
)
@example(
    b'{"type":"log_metric","run_id":"r","timestamp":"2026-03-20T12:00:00Z","payload":{"name":"\\u006d","value":1}}'
)
@example(b'{"type":"log_metric","run_id":"r","timestamp":"2026-03-20T12:00:00Z","payload":{"name":"m"}} x')
@example(b'\xff{"type":"log_metric"}')
def test_fast_path_accepts_only_what_the_models_accept_and_agrees_with_them(value: bytes) -> None:
    check(value)


@given(
    value=st.one_of(st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False)),
    step=st.one_of(st.none(), st.integers(0, 2**40)),
    epoch=st.one_of(st.none(), st.integers(0, 1000)),
    context=st.one_of(st.none(), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3)),
    dtype=st.sampled_from(["float", "int", "int64", "bool", "custom"]),
)
@settings(max_examples=300, deadline=None)
def test_fast_path_takes_what_the_frontier_sends(
    value: float, step: int | None, epoch: int | None, context: dict[str, str] | None, dtype: str
) -> None:
    raw = frontier_value("run-1", metric("loss", value, step, context=context, dtype=dtype, epoch=epoch))
    assert check(raw) is not None


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "m", "value": 1},  # the reference's integration tests: no step, epoch, dtype, datetime
        {"name": "m", "value": None, "dtype": None, "client_datetime": "not a date"},
        {"name": "m", "value": 3.0, "dtype": "int", "step": 7, "epoch": None, "context": {}},
    ],
)
def test_fast_path_takes_partial_payloads_and_keeps_the_stored_value(payload: dict[str, Any]) -> None:
    raw = json.dumps(
        {"type": "log_metric", "run_id": "r", "timestamp": "2026-03-20T12:00:00Z", "payload": payload}
    ).encode()
    point = check(raw)
    assert point is not None
    assert point.dtype == (payload.get("dtype") or "float")
    if payload["value"] is None:
        assert math.isnan(point.value)
    elif payload.get("dtype") == "int":
        assert type(point.value) is int


def _envelope(payload: bytes) -> bytes:
    return b'{"type":"log_metric","run_id":"r","timestamp":"2026-03-20T12:00:00Z","payload":' + payload + b"}"


def test_records_the_fast_path_declines_still_get_the_models_verdict() -> None:
    values = [
        _envelope(b'{"name":"m","value":1,"step":-5}'),
        _envelope(b'{"name":"m","value":1,"step":4.0}'),
        _envelope(b'{"value":1}'),
    ]
    negative, float_step, no_name = [parse_record(Record("t", 0, i, b"r", v)) for i, v in enumerate(values)]
    # A negative step is a valid message, left to the models (the store rejects the point when applying it).
    assert negative.metric is None
    assert isinstance(negative.frame, LogMetricMessage)
    assert negative.frame.step == -5
    assert float_step.metric is None
    assert isinstance(float_step.frame, LogMetricMessage)
    assert float_step.frame.step == 4
    assert no_name.error_type == "validation"
    assert not no_name.applicable
    assert "name" in (no_name.reason or "")
