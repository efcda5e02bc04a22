"""Round trips through our encoder and our decoder, for random trees and random chunking."""

from __future__ import annotations

import math
from typing import Any

import pytest
from api_codec_strategies import frames, trees
from hypothesis import given
from hypothesis import strategies as st

from matyan_api.streaming import (
    CorruptStream,
    StreamDecoder,
    coalesce,
    decode_frames,
    decode_key,
    decode_pairs,
    decode_value,
    encode_key,
    encode_tree,
    encode_tree_bytes,
    encode_value,
    flatten,
    fold_pairs,
)
from matyan_api.streaming.pairs import Path


def _normal(tree: Any) -> Any:
    """What a tree decodes to: tuples become lists; an empty dict stays an empty dict."""
    if isinstance(tree, dict):
        return {k: _normal(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return [_normal(v) for v in tree]
    return tree


def _same(a: Any, b: Any) -> bool:
    """Equality that also tells -0.0 from 0.0 (the codec keeps every float bit)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.copysign(1.0, a) == math.copysign(1.0, b) and (
            a == b or (math.isnan(a) and math.isnan(b))
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@given(trees())
def test_tree_round_trip(tree: Any) -> None:
    decoded = fold_pairs(decode_pairs(encode_tree_bytes((), tree)))
    assert _same(decoded, _normal(tree))


@given(st.lists(st.one_of(st.text(min_size=1), st.integers(-(2**63), 2**63 - 1)), max_size=6))
def test_key_round_trip(path: list[str | int]) -> None:
    assert decode_key(encode_key(tuple(path))) == tuple(path)


@given(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(), st.binary())
)
def test_value_round_trip(value: Any) -> None:
    assert _same(decode_value(encode_value(value)), value)


@given(frames(), st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=50))
def test_frames_survive_arbitrary_http_splits(frame: dict[str, Any], cuts: list[int]) -> None:
    body = b"".join(chunk for key, sub in frame.items() for chunk in encode_tree((key,), sub, flush_pairs=3))
    pieces: list[bytes] = []
    pos = 0
    for n in cuts * (len(body) // max(1, sum(cuts)) + 1):
        if pos >= len(body):
            break
        pieces.append(body[pos : pos + n])
        pos += n
    pieces.append(body[pos:])
    items = decode_frames(pieces)
    assert [k for k, _ in items] == list(frame)
    for (_, sub), expected in zip(items, frame.values(), strict=True):
        assert _same(sub, _normal(expected))


@given(trees(), st.integers(min_value=1, max_value=10))
def test_chunks_hold_whole_pairs(tree: Any, flush: int) -> None:
    decoder = StreamDecoder()
    pairs: list[tuple[Path, Any]] = []
    for chunk in encode_tree(("r",), tree, flush_pairs=flush):
        got = decoder.feed(chunk)
        assert 1 <= len(got) <= flush  # every chunk ends on a pair boundary
        pairs.extend(got)
    decoder.close()
    assert pairs == list(flatten(tree, ("r",)))


def test_coalesce_joins_small_chunks() -> None:
    chunks = [encode_tree_bytes((i,), {"line": "x" * 10}) for i in range(100)]
    joined = list(coalesce(chunks, min_bytes=500))
    assert b"".join(joined) == b"".join(chunks)
    assert 1 < len(joined) < len(chunks)
    assert list(coalesce([])) == []


def test_truncated_stream_is_corrupt() -> None:
    body = encode_tree_bytes(("r",), {"a": 1})
    with pytest.raises(CorruptStream):
        decode_pairs(body[:-1])
    with pytest.raises(CorruptStream):
        decode_value(b"\x09")
