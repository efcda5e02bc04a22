"""The per-type object dumps and the list slicing/thinning of the custom-object routes.

See docs/http-contract.md, Custom objects.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest

from matyan_api.routes.custom_object_dump import (
    CUSTOM_SEQS,
    ObjectDumper,
    dump_audio,
    dump_distribution,
    dump_figure,
    dump_image,
    dump_text,
    index_items,
)
from matyan_api.routes.runs_sampling import evenly_spaced
from matyan_store.blobs import BlobUriSigner, SeqBlobRef
from matyan_store.blobs.settings import DEV_BLOB_URI_SECRET


def test_sequence_table() -> None:
    table = {s.seq: (s.dtype, s.use_list, s.blob_uris) for s in CUSTOM_SEQS.values()}
    assert table == {
        "images": ("image", True, True),
        "texts": ("text", True, False),
        "distributions": ("distribution", False, False),
        "audios": ("audio", True, True),
        "figures": ("figure", False, False),
    }


def test_image_dump_and_defaults() -> None:
    stored = {"type": "image", "s3_key": "r/seq/x/0.jpeg", "caption": "cat", "width": 4, "height": 3}
    stored["format"] = "jpeg"
    assert dump_image(stored, 2, "URI") == {
        "caption": "cat",
        "width": 4,
        "height": 3,
        "format": "jpeg",
        "blob_uri": "URI",
        "index": 2,
    }
    for non_dict in (None, 5, "text", [1, 2]):
        assert dump_image(non_dict, 0, "U") == {
            "caption": "",
            "width": 0,
            "height": 0,
            "format": "png",
            "blob_uri": "U",
            "index": 0,
        }
    assert dump_image({"s3_key": "k"}, 1, "U")["format"] == "png"
    # Sizes the stream cannot carry (or that are not whole numbers) fall back to 0.
    odd = dump_image({"width": 2**70, "height": 2.5, "caption": 7}, 0, "U")
    assert (odd["width"], odd["height"], odd["caption"]) == (0, 0, "7")
    assert dump_image({"width": 640.0, "height": True}, 0, "U")["width"] == 640


def test_audio_dump_and_defaults() -> None:
    assert dump_audio({"caption": "hi", "format": "mp3", "rate": 8000}, 1, "U") == {
        "caption": "hi",
        "format": "mp3",
        "blob_uri": "U",
        "index": 1,
    }
    assert dump_audio(3.5, 0, "U") == {"caption": "", "format": "wav", "blob_uri": "U", "index": 0}


@pytest.mark.parametrize(
    ("stored", "data"),
    [
        ({"type": "text", "data": "hello"}, "hello"),
        ({"type": "text"}, ""),
        ({"data": ""}, ""),
        ("plain", "plain"),
        (42, "42"),
        (0, ""),
        (None, ""),
        ([], ""),
    ],
)
def test_text_dump(stored: Any, data: str) -> None:
    assert dump_text(stored, 3) == {"data": data, "index": 3}


def test_distribution_dump() -> None:
    packed = struct.pack("<3d", 1.0, 2.0, 3.0)
    from_list = dump_distribution({"bin_count": 5, "range": [0, 1.5], "data": [1, 2.0, 3]})
    assert from_list == {
        "data": {"type": "numpy", "shape": 5, "dtype": "float64", "blob": packed},
        "bin_count": 5,
        "range": [0, 1.5],
    }
    # Stored bytes pass through as they are; the shape is the bin count, not the data length.
    assert dump_distribution({"bin_count": 2, "range": [1, 2], "data": b"raw"})["data"]["blob"] == b"raw"
    assert dump_distribution({"bin_count": 2, "data": "nope"})["data"]["blob"] == b""
    assert dump_distribution({"bin_count": 2, "data": ["x"]})["data"]["blob"] == b""
    assert dump_distribution("not a dict") == {
        "data": {"type": "numpy", "shape": 0, "dtype": "float64", "blob": b""},
        "bin_count": 0,
        "range": [0, 0],
    }


def test_figure_dump() -> None:
    plot = {"data": [{"x": [1, 2]}], "layout": {}}
    assert dump_figure({"type": "figure", "data": plot}, 0) == {"data": json.dumps(plot), "index": 0}
    assert dump_figure({"data": plot}, 0)["data"] == '{"data": [{"x": [1, 2]}], "layout": {}}'
    assert dump_figure({"data": [1, 2]}, 0)["data"] == "[1, 2]"
    assert dump_figure({"data": '{"a": 1}'}, 0)["data"] == '{"a": 1}'
    assert dump_figure({"type": "figure"}, 0)["data"] == "{}"
    assert dump_figure(7, 0) == {"data": "{}", "index": 0}


def test_evenly_spaced_examples() -> None:
    assert evenly_spaced([1, 2, 3], 10) == [1, 2, 3]
    assert evenly_spaced([1, 2, 3], 3) == [1, 2, 3]
    assert evenly_spaced([1, 2, 3], 1) == [1]
    assert evenly_spaced([1, 2, 3], 0) == [1, 2, 3]
    assert evenly_spaced(list(range(10)), 3) == [0, 4, 9]


def test_index_items_keep_original_positions() -> None:
    items = list("abcdefgh")
    assert index_items(items, (None, None), 0) == (list(enumerate(items)), 8)
    assert index_items(items, (2, 6), 0) == ([(2, "c"), (3, "d"), (4, "e"), (5, "f")], 8)
    assert index_items(items, (2, 6), 2) == ([(2, "c"), (5, "f")], 8)
    assert index_items(items, (None, None), 3) == ([(0, "a"), (4, "e"), (7, "h")], 8)
    assert index_items({"one": 1}, (None, None), 5) == ([(0, {"one": 1})], 1)
    assert index_items(items, (10, None), 5) == ([], 8)


def test_dumper_uris_carry_the_stored_index() -> None:
    signer = BlobUriSigner(DEV_BLOB_URI_SECRET)
    dumper = ObjectDumper(
        CUSTOM_SEQS["images"], signer, "run1", 7, "imgs", index_range=(1, None), index_density=2
    )
    dumped = dumper.dump_step(4, [{"s3_key": f"k{i}"} for i in range(5)])
    assert [d["index"] for d in dumped] == [1, 4]
    refs = [signer.resolve_seq_blob_uri(d["blob_uri"]) for d in dumped]
    assert refs == [SeqBlobRef("run1", 7, "imgs", 4, 1), SeqBlobRef("run1", 7, "imgs", 4, 4)]
    assert dumper.max_length == 5
    # Non-list types: one dump per step, index 0 (the fixed [QUIRK]), no URI.
    figures = ObjectDumper(CUSTOM_SEQS["figures"], None, "run1", 0, "f")
    assert figures.dump_step(9, {"data": {}}) == {"data": "{}", "index": 0}
    # A run id the locator format cannot carry gets no URI rather than an error.
    odd = ObjectDumper(CUSTOM_SEQS["audios"], signer, "a__seqs__b", 0, "a")
    assert odd.dump_step(0, {"s3_key": "k"}) == [{"caption": "", "format": "wav", "blob_uri": "", "index": 0}]
