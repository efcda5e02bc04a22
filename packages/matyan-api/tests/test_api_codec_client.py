"""Our encoder's output read by the released client's own decoder (matyan-client 0.3.0).

The client folds pairs into dicts (lists become int-keyed dicts, ARRAY/OBJECT flags are ignored,
``progress_*`` keys are dropped) and returns one dict per top-level key with ``hash`` added.
"""

from __future__ import annotations

from typing import Any

from api_codec_strategies import frames
from hypothesis import given
from hypothesis import strategies as st
from matyan_client.transport import http as client_http

from matyan_api.streaming import ProgressReporter, encode_float64_array, encode_tree_bytes


def _client_view(tree: Any) -> Any:
    """What the client makes of a tree: lists as int-keyed dicts, empty containers vanish."""
    if isinstance(tree, dict | list | tuple):
        items = tree.items() if isinstance(tree, dict) else enumerate(tree)
        out = {}
        for k, v in items:
            view = _client_view(v)
            if view is not _GONE:
                out[k] = view
        return out if out else _GONE
    return tree


_GONE: Any = object()


def _expected(frame: dict[str, Any]) -> list[dict[str, Any]]:
    expected = []
    for key, sub in frame.items():
        view = _client_view(sub)
        if view is _GONE:
            continue  # only flags: the client never sees this key
        if isinstance(view, dict):
            expected.append({**view, "hash": key})
        else:
            expected.append({"hash": key, "data": view})
    return expected


# The client reads an int key whose first big-endian byte is 0xFE (some negative ints) as two
# separators; the backend's int keys are list indices and steps (never negative), so stay there.
_CLIENT_KEYS = st.one_of(st.text(min_size=1, max_size=12), st.integers(min_value=0, max_value=2**63 - 1))


@given(frames(_CLIENT_KEYS))
def test_client_decodes_our_frames(frame: dict[str, Any]) -> None:
    reporter = ProgressReporter()
    body = reporter.report(0, len(frame))
    for i, (key, sub) in enumerate(frame.items()):
        body += encode_tree_bytes((key,), sub) + reporter.report(i + 1, len(frame))
    body += reporter.finish()
    decoded = client_http._decode_streaming_response(body)
    assert decoded == _expected(frame)


def test_client_reads_a_run_search_frame() -> None:
    frame = {
        "params": {"hparams": {"lr": 0.01, "layers": [64, 32]}},
        "traces": {"metric": [{"name": "loss", "context": {"subset": "train"}, "values": {"last": 0.5}}]},
        "props": {"name": "run a", "active": False, "experiment": {"id": None, "name": None}},
    }
    values = encode_float64_array([1.0, 2.5])
    body = encode_tree_bytes(("h1",), frame) + encode_tree_bytes(("h2",), {"values": values})
    assert client_http._decode_streaming_response(body) == [
        {
            "params": {"hparams": {"lr": 0.01, "layers": {0: 64, 1: 32}}},
            "traces": {
                "metric": {0: {"name": "loss", "context": {"subset": "train"}, "values": {"last": 0.5}}}
            },
            "props": {"name": "run a", "active": False, "experiment": {"id": None, "name": None}},
            "hash": "h1",
        },
        {"values": {**values}, "hash": "h2"},
    ]


def test_client_reads_logs_log_records_and_blob_frames() -> None:
    logs = b"".join(encode_tree_bytes((), {step: f"line {step}"}) for step in (3, 4))
    assert client_http._decode_streaming_kv_pairs(logs) == [(3, "line 3"), (4, "line 4")]
    records = encode_tree_bytes((), {"log_records_count": 1}) + encode_tree_bytes(
        (), {7: {"message": "hi", "level": 20}}
    )
    count, items = client_http._decode_log_records_response(records)
    assert count == 1
    assert items == [(7, {"message": "hi", "level": 20})]
    blobs = encode_tree_bytes((), {"uri-1": b"\x89PNG"}) + encode_tree_bytes((), {"uri-2": b""})
    assert client_http._decode_blob_batch_response(blobs) == {"uri-1": b"\x89PNG", "uri-2": b""}
