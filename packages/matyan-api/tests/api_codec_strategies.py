"""Hypothesis strategies for streaming-codec trees (a plain helper module, imported by the codec tests)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    INT64,
    st.floats(allow_nan=False),
    st.text(),
    st.binary(max_size=64),
)
# Dict keys the codec can carry: non-empty strings and int64s (the empty string is dropped by design).
KEYS: st.SearchStrategy[str | int] = st.one_of(st.text(min_size=1, max_size=12), INT64)


def trees(keys: st.SearchStrategy[str | int] = KEYS) -> st.SearchStrategy[Any]:
    """Nested dicts and lists of scalars."""
    return st.recursive(
        SCALARS,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(keys, children, max_size=5),
        ),
        max_leaves=30,
    )


def frames(keys: st.SearchStrategy[str | int] = KEYS) -> st.SearchStrategy[dict[str, Any]]:
    """A top-level dict (run hash -> subtree), as the search endpoints stream."""
    hashes = st.text(alphabet="0123456789abcdef", min_size=1, max_size=16)
    return st.dictionaries(hashes, trees(keys), max_size=4)


# Values a client can get into the store that the wire has no exact type for (docs/http-contract.md,
# Values): ints far beyond int64, NaN and infinities, lone surrogates (in data stored before they were
# refused), odd characters, and keys of any stored type.
WIDE_INTS = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80), st.sampled_from([2**63, -(2**63) - 1, 2**64])
)
WIDE_TEXT = st.one_of(
    st.text(),
    st.text(
        alphabet=st.sampled_from(["\ud800", "\udfff", "\udc00", "a", "\U0001f600", "\x00", "\xfe", "\xff"])
    ),
)
WIDE_SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), WIDE_INTS, st.floats(), WIDE_TEXT, st.binary(max_size=64)
)
WIDE_KEYS: st.SearchStrategy[Any] = st.one_of(
    WIDE_TEXT.filter(bool), WIDE_INTS, st.floats(allow_nan=False), st.none(), st.binary(max_size=4)
)


def wide_trees() -> st.SearchStrategy[Any]:
    """Nested dicts and lists of :data:`WIDE_SCALARS` under :data:`WIDE_KEYS`."""
    return st.recursive(
        WIDE_SCALARS,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(WIDE_KEYS, children, max_size=5),
        ),
        max_leaves=30,
    )
