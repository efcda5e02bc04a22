"""context_to_id agrees with matyan-api-models 0.2.1 (docs/storage.md, Runs)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matyan_api_models import context_to_id as their_context_to_id

from matyan_models import context_to_id

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x10FFFF))
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=12,
)
contexts = st.dictionaries(st.text(max_size=12), json_values, max_size=6)


@settings(max_examples=1_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contexts)
def test_agrees_with_0_2_1(context: dict[str, Any]) -> None:
    ours = context_to_id(context)
    assert ours == their_context_to_id(context)
    assert 0 <= ours < 2**32


@settings(max_examples=200, deadline=None)
@given(contexts)
def test_key_order_does_not_matter(context: dict[str, Any]) -> None:
    reordered = dict(reversed(list(context.items())))
    assert context_to_id(reordered) == context_to_id(context)


@pytest.mark.parametrize("empty", [None, {}])
def test_empty_context_is_zero(empty: dict[str, Any] | None) -> None:
    assert context_to_id(empty) == 0 == their_context_to_id(empty)


@pytest.mark.parametrize(
    ("context", "canonical"),
    [
        ({"subset": "train"}, '{"subset":"train"}'),
        ({"b": 1, "a": [True, None, 1.5]}, '{"a":[true,null,1.5],"b":1}'),
        ({"ü": "ç✓"}, '{"\\u00fc":"\\u00e7\\u2713"}'),
        ({"k": {"z": 1, "y": {"x": 0}}}, '{"k":{"y":{"x":0},"z":1}}'),
    ],
)
def test_known_values(context: dict[str, Any], canonical: str) -> None:
    expected = int(hashlib.sha256(canonical.encode()).hexdigest()[:8], 16)
    assert context_to_id(context) == expected == their_context_to_id(context)


def test_pinned_value() -> None:
    assert context_to_id({"subset": "train"}) == int(
        hashlib.sha256(b'{"subset":"train"}').hexdigest()[:8], 16
    )
    assert json.dumps({"subset": "train"}, sort_keys=True, separators=(",", ":")) == '{"subset":"train"}'


def test_unsortable_keys_fail_like_0_2_1() -> None:
    mixed: dict[Any, Any] = {"a": 1, 2: "b"}
    with pytest.raises(TypeError):
        their_context_to_id(mixed)
    with pytest.raises(TypeError):
        context_to_id(mixed)


def test_non_string_keys_hash_like_0_2_1() -> None:
    for context in ({1: "a"}, {True: 1}, {None: 0}, {1.5: "x"}):
        assert context_to_id(context) == their_context_to_id(context)
