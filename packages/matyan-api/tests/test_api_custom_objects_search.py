"""GET /runs/search/{images,texts,distributions,audios,figures}/ on a real LMDB store.

See docs/http-contract.md, Custom objects.
"""

from __future__ import annotations

import struct
from typing import Any

from api_custom_objects_fixtures import (
    BASE,
    CustomObjectsHarness,
    co_harness,
    runs_blobs,
    runs_engine,
    runs_publisher,
    store_blob_objects,
)
from api_runs_fixtures import assert_envelope, make_run
from api_search_helpers import get_stream, split_frames, write_series
from matyan_client.transport import http as client_http

from matyan_store.blobs import SeqBlobRef

__all__ = ["co_harness", "runs_blobs", "runs_engine", "runs_publisher"]


def _search(seq: str) -> str:
    return f"{BASE}/runs/search/{seq}/"


async def _seed(h: CustomObjectsHarness) -> None:
    make_run(h.engine, "alpha", name="alpha")
    make_run(h.engine, "beta", name="beta")
    await store_blob_objects(h, "alpha", "samples", [2, 3, 1], context={"subset": "train"})
    await store_blob_objects(h, "alpha", "masks", [1, 1])
    await store_blob_objects(h, "beta", "samples", [1], steps=[5])
    write_series(
        h.engine,
        "alpha",
        "notes",
        [{"type": "text", "data": f"note {i}"} for i in range(4)],
        dtype="text",
        epochs=[0, 0, None, 1],
        timestamps=[10.0, 11.0, 12.0, None],
    )
    write_series(h.engine, "alpha", "loss", [0.5, 0.4])


async def test_images_frame_shape_ranges_and_progress(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    await _seed(h)
    data, progress = split_frames(await get_stream(h.client, _search("images")))
    assert [run for run, _ in data] == ["alpha", "beta"]  # creation order
    frame = dict(data)["alpha"]
    assert list(frame) == ["params", "traces", "props", "ranges"]
    assert frame["props"]["name"] == "alpha"
    # Image traces only (no text, no metric), in storage order (context id, name).
    names = sorted((t["name"], t["context"].get("subset", "")) for t in frame["traces"])
    assert names == [("masks", ""), ("samples", "train")]
    samples = next(t for t in frame["traces"] if t["name"] == "samples")
    assert list(samples) == ["name", "context", "values", "iters", "epochs", "timestamps"]
    assert samples["context"] == {"subset": "train"}
    assert samples["iters"] == [0, 1, 2]
    assert samples["epochs"] == [None, None, None]
    assert [len(step) for step in samples["values"]] == [2, 3, 1]
    first = samples["values"][1][2]
    assert {k: v for k, v in first.items() if k != "blob_uri"} == {
        "caption": "c1.2",
        "width": 0,
        "height": 0,
        "format": "png",
        "index": 2,
    }
    ref = h.signer.resolve_seq_blob_uri(first["blob_uri"])
    assert (ref.run_hash, ref.seq_name, ref.step, ref.index) == ("alpha", "samples", 1, 2)
    assert frame["ranges"] == {
        "record_range_total": [0, 3],
        "record_range_used": [0, 3],
        "index_range_total": [0, 3],
        "index_range_used": [0, 3],
    }
    assert dict(data)["beta"]["ranges"]["record_range_total"] == [5, 6]
    assert [p for _, p in progress] == [(0, 2), (1, 2), (2, 2), (0, 0)]


async def test_epochs_timestamps_and_text_values(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    await _seed(h)
    data, _ = split_frames(await get_stream(h.client, _search("texts"), report_progress="false"))
    assert [run for run, _ in data] == ["alpha"]
    [trace] = dict(data)["alpha"]["traces"]
    assert trace["name"] == "notes"
    # A stored dict is one object per step; list types wrap it in a one-item list.
    assert trace["values"] == [[{"data": f"note {i}", "index": 0}] for i in range(4)]
    assert trace["epochs"] == [0, 0, None, 1]
    assert trace["timestamps"] == [10.0, 11.0, 12.0, None]
    assert dict(data)["alpha"]["ranges"]["index_range_total"] == [0, 1]


async def test_query_binds_the_sequence_under_its_type_name(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    await _seed(h)
    data, _ = split_frames(await get_stream(h.client, _search("images"), q='images.name == "samples"'))
    assert {run: [t["name"] for t in frame["traces"]] for run, frame in data} == {
        "alpha": ["samples"],
        "beta": ["samples"],
    }
    q = 'images.context.subset == "train" and run.name == "alpha"'
    data, _ = split_frames(await get_stream(h.client, _search("images"), q=q))
    assert [(run, [t["name"] for t in f["traces"]]) for run, f in data] == [("alpha", ["samples"])]
    # ``metric`` is not bound in an image search: such a query matches nothing.
    data, _ = split_frames(await get_stream(h.client, _search("images"), q='metric.name == "samples"'))
    assert data == []
    # A name that only exists with another dtype gives no image traces.
    data, progress = split_frames(await get_stream(h.client, _search("images"), q='images.name == "notes"'))
    assert data == []
    assert progress[-1][1] == (0, 0)


async def test_syntax_error_and_bad_range_before_streaming(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    body = assert_envelope(
        await h.client.get(_search("audios"), params={"q": "audios.name =="}), 400, "bad_request"
    )
    assert body["detail"].startswith("Invalid query syntax: ")
    assert_envelope(
        await h.client.get(_search("texts"), params={"record_range": "a:b"}), 422, "validation_error"
    )


async def test_record_range_density_and_index_slicing(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    make_run(h.engine, "r")
    contents = await store_blob_objects(h, "r", "grid", [6] * 10)
    body = await get_stream(
        h.client,
        _search("images"),
        record_range="2:8",
        record_density=3,
        index_range="1:5",
        index_density=2,
    )
    data, _ = split_frames(body)
    frame = dict(data)["r"]
    [trace] = frame["traces"]
    assert trace["iters"] == [2, 4, 7]  # 2..7 point-read sampled to 3: targets 2, round(4.5)=4, 7
    # Items 1..4 of each step's six, thinned to two: the stored positions 1 and 4.
    assert [[d["index"] for d in step] for step in trace["values"]] == [[1, 4]] * 3
    assert frame["ranges"] == {
        "record_range_total": [0, 10],
        "record_range_used": [2, 8],
        "index_range_total": [0, 6],
        "index_range_used": [1, 5],
    }
    # Every URI points at the object it was issued for, whatever the slicing and thinning.
    for step, dumps in zip(trace["iters"], trace["values"], strict=True):
        for dump in dumps:
            ref = h.signer.resolve_seq_blob_uri(dump["blob_uri"])
            assert ref == SeqBlobRef("r", ref.ctx_id, "grid", step, dump["index"])
            assert contents[(ref.step, ref.index)] == f"image:grid:{step}:{dump['index']}".encode()
    # Open-ended ranges: the used range takes the missing bounds from the totals.
    data, _ = split_frames(await get_stream(h.client, _search("images"), record_range="3:", index_range=":2"))
    ranges = dict(data)["r"]["ranges"]
    assert ranges["record_range_used"] == [3, 10]
    assert ranges["index_range_used"] == [0, 2]
    assert [len(s) for s in dict(data)["r"]["traces"][0]["values"]] == [2] * 7


async def test_density_keeps_short_series_whole(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    make_run(h.engine, "r")
    await store_blob_objects(h, "r", "few", [12, 12, 12])
    data, _ = split_frames(await get_stream(h.client, _search("images")))
    [trace] = dict(data)["r"]["traces"]
    assert trace["iters"] == [0, 1, 2]
    # index_density defaults to 5: 12 items give the evenly spaced positions.
    assert [d["index"] for d in trace["values"][0]] == [0, 3, 6, 8, 11]


async def test_distributions_figures_and_audios(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    make_run(h.engine, "r1")
    make_run(h.engine, "r2")
    for run_id in ("r1", "r2"):
        write_series(
            h.engine,
            run_id,
            "weights",
            [{"type": "distribution", "bin_count": 2, "range": [0, 1], "data": [3, 4]}, "odd"],
            dtype="distribution",
        )
    write_series(h.engine, "r2", "plot", [{"type": "figure", "data": {"a": [1]}}], dtype="figure")
    await store_blob_objects(h, "r1", "sound", [1, 1], kind="audio")

    data, _ = split_frames(await get_stream(h.client, _search("distributions")))
    assert [run for run, _ in data] == ["r1", "r2"]
    frame = dict(data)["r1"]
    assert "index_range_total" not in frame["ranges"]
    assert frame["traces"][0]["values"] == [
        {
            "data": {"type": "numpy", "shape": 2, "dtype": "float64", "blob": struct.pack("<2d", 3, 4)},
            "bin_count": 2,
            "range": [0, 1],
        },
        {
            "data": {"type": "numpy", "shape": 0, "dtype": "float64", "blob": b""},
            "bin_count": 0,
            "range": [0, 0],
        },
    ]

    data, _ = split_frames(await get_stream(h.client, _search("figures")))
    assert [(run, f["traces"][0]["values"]) for run, f in data] == [
        ("r2", [{"data": '{"a": [1]}', "index": 0}])
    ]

    data, _ = split_frames(await get_stream(h.client, _search("audios")))
    [(run, frame)] = data
    dumps = frame["traces"][0]["values"]
    assert run == "r1"
    assert [[{k: v for k, v in d.items() if k != "blob_uri"} for d in s] for s in dumps] == [
        [{"caption": "c0.0", "format": "wav", "index": 0}],
        [{"caption": "c1.0", "format": "wav", "index": 0}],
    ]


async def test_empty_store_and_no_progress(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    assert split_frames(await get_stream(h.client, _search("figures"))) == ([], [("progress_0", (0, 0))])
    assert await get_stream(h.client, _search("figures"), report_progress="false") == b""


async def test_released_client_decodes_the_search(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    await _seed(h)
    body = await get_stream(h.client, _search("images"), q='run.name == "beta"')
    [run] = client_http._decode_streaming_response(body)
    assert run["hash"] == "beta"
    # The client folds lists into int-keyed dicts.
    trace: dict[Any, Any] = run["traces"][0]
    assert trace["name"] == "samples"
    assert trace["iters"] == {0: 5}
    image = trace["values"][0][0]
    assert image["caption"] == "c5.0"
    assert h.signer.resolve_seq_blob_uri(image["blob_uri"]) == SeqBlobRef("beta", 0, "samples", 5, 0)
