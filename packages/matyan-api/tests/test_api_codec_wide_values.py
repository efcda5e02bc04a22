"""Property tests: any JSON-like value the store can hold encodes, and both decoders (ours and the released
client's) read back the form docs/http-contract.md, Values promises: ints beyond int64 as decimal
strings, lone surrogates as U+FFFD, NaN and infinities as IEEE doubles, other key types as their repr.
"""

from __future__ import annotations

import math
import re
from typing import Any

from api_codec_strategies import WIDE_INTS, WIDE_TEXT, wide_trees
from hypothesis import given
from hypothesis import strategies as st
from matyan_client.transport import http as client_http

from matyan_api.streaming import (
    ARRAY,
    ERROR_KEY,
    OBJECT,
    ProgressReporter,
    decode_frames,
    decode_pairs,
    encode_tree_bytes,
    error_frame,
    stream_error,
)
from matyan_api.streaming.pairs import Path

_SURROGATE = re.compile("[\ud800-\udfff]")
_INT64 = range(-(2**63), 2**63)


def _text(value: str) -> str:
    return _SURROGATE.sub("\ufffd", value)


def _wire_scalar(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if value in _INT64 else str(value)
    if isinstance(value, str):
        return _text(value)
    return value


def _wire_key(key: Any) -> str | int:
    if isinstance(key, str):
        return _text(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return key if key in _INT64 else str(key)
    if isinstance(key, bool):
        return int(key)
    return _text(repr(key))


def _reference_pairs(tree: Any, path: Path = ()) -> list[tuple[Path, Any]]:
    """The pairs the contract says ``tree`` is sent as, written independently of the encoder."""
    if isinstance(tree, dict):
        out: list[tuple[Path, Any]] = []
        for key, child in tree.items():
            if key != "":
                out.extend(_reference_pairs(child, (*path, _wire_key(key))))
        return out or [(path, OBJECT)]
    if isinstance(tree, list):
        out = [(path, ARRAY)]
        for index, child in enumerate(tree):
            out.extend(_reference_pairs(child, (*path, index)))
        return out
    return [(path, _wire_scalar(tree))]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return type(a) is type(b) and a == b


def _same_pairs(got: list[tuple[Path, Any]], expected: list[tuple[Path, Any]]) -> bool:
    return len(got) == len(expected) and all(
        gp == ep and _same(gv, ev) for (gp, gv), (ep, ev) in zip(got, expected, strict=True)
    )


@given(wide_trees())
def test_our_decoder_reads_the_contract_form(tree: Any) -> None:
    body = encode_tree_bytes(("run",), tree)
    assert _same_pairs(decode_pairs(body), _reference_pairs(tree, ("run",)))


def _client_key_ok(path: Path) -> bool:
    # The client reads an int key whose first big-endian byte is 0xFE as two separators (a released quirk):
    # the backend's own int keys (list indices, steps) are never negative.
    return all(not isinstance(p, int) or p >= 0 for p in path)


@given(wide_trees())
def test_the_released_client_reads_the_contract_form(tree: Any) -> None:
    body = encode_tree_bytes(("run",), tree)
    expected = [
        (list(path), value)
        for path, value in _reference_pairs(tree, ("run",))
        if value is not ARRAY and value is not OBJECT
    ]
    if not all(_client_key_ok(tuple(p)) for p, _ in expected):
        return
    got = client_http._decode_flat_pairs(body)
    assert len(got) == len(expected)
    for (gp, gv), (ep, ev) in zip(got, expected, strict=True):
        assert gp == ep
        assert _same(gv, ev)


@given(st.one_of(WIDE_INTS, st.floats(), WIDE_TEXT), st.integers(min_value=0, max_value=400))
def test_deep_nesting_and_any_scalar(leaf: Any, depth: int) -> None:
    tree: Any = leaf
    for i in range(depth):
        tree = {"k": tree} if i % 2 else [tree]
    body = encode_tree_bytes(("run",), tree)
    assert _same_pairs(decode_pairs(body), _reference_pairs(tree, ("run",)))


@given(st.lists(wide_trees(), max_size=4), WIDE_TEXT)
def test_the_error_frame_ends_any_stream_readably(frames: list[Any], message: str) -> None:
    reporter = ProgressReporter()
    body = reporter.report(0, len(frames))
    for i, frame in enumerate(frames):
        body += encode_tree_bytes((f"run{i}",), frame) + reporter.report(i + 1, len(frames))
    body += error_frame("internal_error", message)
    key, value = decode_frames(body)[-1]
    assert key == ERROR_KEY
    assert stream_error(value) == {"code": "internal_error", "message": _text(message)}
    # Both released decoders skip it like any progress frame.
    client_hashes = [item["hash"] for item in client_http._decode_streaming_response(body)]
    assert ERROR_KEY not in client_hashes
