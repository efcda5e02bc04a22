"""Golden bytes of the streaming codec: the layouts the released UI decodes.

See docs/http-contract.md, Streaming frames.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterator

import pytest

from matyan_api.streaming import (
    ARRAY,
    OBJECT,
    encode_key,
    encode_tree,
    encode_tree_bytes,
    encode_value,
    flatten,
    make_progress_key,
    progress_frame,
)


def h(text: str) -> bytes:
    """Hex dump notation (spaces and ``|`` ignored) to bytes."""
    return bytes.fromhex(text.replace("|", " "))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "00"),
        (True, "01 01"),
        (False, "01 00"),
        (42, "02" + struct.pack("<q", 42).hex()),
        (-1, "02 ff ff ff ff ff ff ff ff"),
        (3.14, "03" + struct.pack("<d", 3.14).hex()),
        ("hello", "04 68 65 6c 6c 6f"),
        (b"\x01\x02", "05 01 02"),
        (bytearray(b"\x03"), "05 03"),
        (memoryview(b"\x04"), "05 04"),
        (ARRAY, "06"),
        (OBJECT, "07"),
    ],
)
def test_value_tags(value: object, expected: str) -> None:
    assert encode_value(value) == h(expected)


def test_unsupported_value_and_int_range() -> None:
    with pytest.raises(TypeError, match="Unsupported value type"):
        encode_value(object())
    assert encode_value(2**63 - 1) == b"\x02" + struct.pack("<q", 2**63 - 1)
    assert encode_value(-(2**63)) == b"\x02" + struct.pack("<q", -(2**63))


def test_values_beyond_the_wire_types() -> None:
    # An int outside int64 used to raise OverflowError mid-stream (a run with hparams.big = 2**70 cut every
    # run search); it is sent as its decimal string. A lone surrogate is not UTF-8: it is sent as U+FFFD.
    assert encode_value(2**63) == b"\x04" + str(2**63).encode()
    assert encode_value(-(2**70)) == b"\x04" + str(-(2**70)).encode()
    assert encode_key((2**70,)) == str(2**70).encode() + b"\xfe"
    assert encode_value("a\ud800b") == b"\x04" + "a\ufffdb".encode()
    assert encode_key(("\udfff",)) == "\ufffd".encode() + b"\xfe"


def test_key_golden_vectors() -> None:
    assert encode_key(()) == b""
    assert encode_key(("a", "b")) == h("61 fe 62 fe")
    assert encode_key(("key", 42)) == h("6b 65 79 fe | fe 00 00 00 00 00 00 00 2a fe")
    assert encode_key((0,)) == h("fe 00 00 00 00 00 00 00 00 fe")
    assert encode_key((True,)) == encode_key((1,))
    assert encode_key((-2,)) == h("fe ff ff ff ff ff ff ff fe fe")
    with pytest.raises(TypeError, match="Unsupported key type"):
        encode_key((1.5,))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Unsupported key type"):
        encode_key((("a",),))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty string"):
        encode_key(("",))


def test_frame_golden_vectors() -> None:
    assert encode_tree_bytes((), {"x": 1}) == h(
        "02 00 00 00 | 78 fe | 09 00 00 00 | 02 01 00 00 00 00 00 00 00"
    )
    assert encode_tree_bytes((), {}) == h("00 00 00 00 | 01 00 00 00 | 07")
    assert encode_tree_bytes((), {3: "line 3"}) == h(
        "0a 00 00 00 | fe 00 00 00 00 00 00 00 03 fe | 07 00 00 00 | 04 6c 69 6e 65 20 33"
    )
    assert encode_tree_bytes((), {"log_records_count": 0}) == (
        h("12 00 00 00") + b"log_records_count\xfe" + h("09 00 00 00 | 02") + bytes(8)
    )


def test_progress_frame_golden_vector() -> None:
    expected = h(
        "0b 00 00 00 | 70 72 6f 67 72 65 73 73 5f 30 fe | 01 00 00 00 | 06"
        "15 00 00 00 | 70 72 6f 67 72 65 73 73 5f 30 fe fe 00 00 00 00 00 00 00 00 fe"
        "| 09 00 00 00 | 02 00 00 00 00 00 00 00 00"
        "15 00 00 00 | 70 72 6f 67 72 65 73 73 5f 30 fe fe 00 00 00 00 00 00 00 01 fe"
        "| 09 00 00 00 | 02 05 00 00 00 00 00 00 00"
    )
    assert progress_frame(0, 0, 5) == expected
    assert encode_tree_bytes((), {"progress_0": (0, 5)}) == expected
    assert make_progress_key(0) == "progress_0"
    assert make_progress_key(42) == "progress_42"


def test_collect_parses_with_the_length_structure() -> None:
    data = encode_tree_bytes((), {"x": 1})
    (key_len,) = struct.unpack_from("<I", data, 0)
    key = data[4 : 4 + key_len]
    (val_len,) = struct.unpack_from("<I", data, 4 + key_len)
    val = data[8 + key_len : 8 + key_len + val_len]
    assert (key, val) == (b"x\xfe", b"\x02" + struct.pack("<q", 1))
    assert 8 + key_len + val_len == len(data)


def test_flatten_rules() -> None:
    assert list(flatten(42)) == [((), 42)]
    assert list(flatten({})) == [((), OBJECT)]
    assert list(flatten([10, 20])) == [((), ARRAY), ((0,), 10), ((1,), 20)]
    assert list(flatten([])) == [((), ARRAY)]
    assert list(flatten({"a": [1, 2]}, unfold_arrays=False)) == [(("a",), [1, 2])]
    assert list(flatten({"a": {"b": {"c": 1}}}, depth=1)) == [(("a",), {"b": {"c": 1}})]
    when = dt.datetime(2026, 3, 10)
    assert list(flatten({"t": when})) == [(("t",), repr(when))]
    assert list(flatten({"b": bytearray(b"x")})) == [(("b",), repr(bytearray(b"x")))]


def test_array_likes_behave_as_arrays() -> None:
    def gen() -> Iterator[int]:
        yield from (1, 2, 3)

    assert list(flatten({1})) == [((), ARRAY), ((0,), 1)]
    as_list = encode_tree_bytes(("r",), [1, 2, 3])
    assert encode_tree_bytes(("r",), gen()) == as_list
    assert encode_tree_bytes(("r",), (1, 2, 3)) == as_list
    assert encode_tree_bytes(("r",), range(1, 4)) == as_list


def test_empty_string_keys_are_dropped() -> None:
    assert list(flatten({"": 1, "a": 2})) == [(("a",), 2)]
    # A dict whose only key is dropped still exists on the wire, as an empty dict.
    assert list(flatten({"d": {"": 1}})) == [(("d",), OBJECT)]


def test_run_search_frame_layout() -> None:
    frame = {
        "params": {"lr": 0.01},
        "traces": {"metric": [{"name": "loss", "context": {}, "values": {"last": 0.5}}]},
        "props": {"name": "r"},
    }
    assert list(flatten(frame, ("abc",))) == [
        (("abc", "params", "lr"), 0.01),
        (("abc", "traces", "metric"), ARRAY),
        (("abc", "traces", "metric", 0, "name"), "loss"),
        (("abc", "traces", "metric", 0, "context"), OBJECT),
        (("abc", "traces", "metric", 0, "values", "last"), 0.5),
        (("abc", "props", "name"), "r"),
    ]
    data = encode_tree_bytes(("abc",), frame)
    assert data.count(b"abc\xfe") == 6
    assert b"name\xfe" in data


def test_chunking_concatenates_to_the_same_bytes() -> None:
    tree = {f"k{i}": list(range(i)) for i in range(40)}
    whole = encode_tree_bytes(("run",), tree)
    chunks = list(encode_tree(("run",), tree, flush_pairs=7))
    assert b"".join(chunks) == whole
    assert len(chunks) > 1
    assert all(c.count(b"run\xfe") <= 7 for c in chunks)
    assert list(encode_tree(("run",), {"x": 1})) == [encode_tree_bytes(("run",), {"x": 1})]
    assert list(encode_tree((), [])) == [encode_tree_bytes((), [])]
    assert list(encode_tree(("r",), {"a": {"": 1}, "": 2})) != []


def test_byte_cap_splits_big_pairs_but_never_inside_one() -> None:
    tree = {"a": b"x" * 1000, "b": b"y" * 1000, "c": 1}
    chunks = list(encode_tree(("r",), tree, flush_bytes=500))
    assert len(chunks) == 3
    assert b"".join(chunks) == encode_tree_bytes(("r",), tree)
