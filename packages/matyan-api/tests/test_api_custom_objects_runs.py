"""POST /runs/{run_id}/{seq}/get-batch/ and .../get-step/ on a real LMDB store.

See docs/http-contract.md, Custom objects.
"""

from __future__ import annotations

from api_custom_objects_fixtures import (
    CustomObjectsHarness,
    co_harness,
    runs_blobs,
    runs_engine,
    runs_publisher,
    store_blob_objects,
)
from api_runs_fixtures import assert_envelope, make_run, run_url
from api_search_helpers import post_stream, split_frames, trace_views, write_series
from matyan_client.transport import http as client_http

from matyan_models import context_to_id
from matyan_store.blobs import SeqBlobRef

__all__ = ["co_harness", "runs_blobs", "runs_engine", "runs_publisher"]

TRAIN = {"subset": "train"}


def _url(run_id: str, seq: str, what: str) -> str:
    return run_url(run_id, f"{seq}/{what}/")


async def _seed(h: CustomObjectsHarness) -> dict[tuple[int, int], bytes]:
    make_run(h.engine, "run-1")
    contents = await store_blob_objects(h, "run-1", "grid", [4, 6, 2, 5], context=TRAIN, steps=[0, 3, 6, 9])
    write_series(h.engine, "run-1", "notes", ["a", "b", "c"], dtype="text", steps=[1, 2, 4])
    write_series(
        h.engine,
        "run-1",
        "weights",
        [{"bin_count": 1, "range": [0, 1], "data": [2.0]}] * 5,
        dtype="distribution",
    )
    write_series(h.engine, "run-1", "plot", [{"data": "{}"}, 9], dtype="figure")
    return contents


async def test_get_batch_list_type(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    contents = await _seed(h)
    body = await post_stream(
        h.client, _url("run-1", "images", "get-batch"), [{"name": "grid", "context": TRAIN}]
    )
    [view] = trace_views(body)
    assert list(view) == [
        "name",
        "context",
        "values",
        "iters",
        "record_range_used",
        "record_range_total",
        "index_range_used",
        "index_range_total",
    ]
    assert view["name"] == "grid"
    assert view["context"] == TRAIN
    assert view["iters"] == [0, 3, 6, 9]
    assert view["record_range_used"] == [0, 10]
    assert view["record_range_total"] == [0, 10]
    assert view["index_range_total"] == [0, 6]
    assert view["index_range_used"] == [0, 6]
    values = view["values"]
    assert isinstance(values, list)
    assert [[d["index"] for d in step] for step in values] == [
        [0, 1, 2, 3],
        [0, 1, 2, 4, 5],
        [0, 1],
        [0, 1, 2, 3, 4],
    ]  # 2.5 rounds to 2
    for step, dumps in zip([0, 3, 6, 9], values, strict=True):
        for dump in dumps:
            ref = h.signer.resolve_seq_blob_uri(dump["blob_uri"])
            assert contents[(ref.step, ref.index)] == f"image:grid:{step}:{dump['index']}".encode()


async def test_get_batch_ranges_and_density(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    await _seed(h)
    body = await post_stream(
        h.client,
        _url("run-1", "images", "get-batch"),
        [{"name": "grid", "context": TRAIN}],
        record_range="1:9",
        record_density=1,
        index_range="1:3",
        index_density=5,
    )
    [view] = trace_views(body)
    assert view["iters"] == [3]  # steps 3 and 6 in range, density 1 keeps the first
    assert view["record_range_used"] == [3, 4]
    assert view["record_range_total"] == [0, 10]
    assert view["index_range_used"] == [1, 3]
    values = view["values"]
    assert isinstance(values, list)
    [dumps] = values
    assert [d["index"] for d in dumps] == [1, 2]
    ref = h.signer.resolve_seq_blob_uri(dumps[1]["blob_uri"])
    assert ref == SeqBlobRef("run-1", context_to_id(TRAIN), "grid", 3, 2)
    # A comma is not a range separator ("2,5" is no range), as in the reference.
    body = await post_stream(
        h.client,
        _url("run-1", "images", "get-batch"),
        [{"name": "grid", "context": TRAIN}],
        index_range="2,5",
        index_density=2,
    )
    [view] = trace_views(body)
    values = view["values"]
    assert isinstance(values, list)
    assert [[d["index"] for d in step] for step in values] == [[0, 3], [0, 5], [0, 1], [0, 4]]
    # An empty record range: no points, zero ranges, still a frame.
    body = await post_stream(
        h.client,
        _url("run-1", "images", "get-batch"),
        [{"name": "grid", "context": TRAIN}],
        record_range="20:30",
    )
    [view] = trace_views(body)
    assert (view["iters"], view["record_range_used"], view["record_range_total"]) == ([], [0, 0], [0, 10])


async def test_get_batch_non_list_types(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    await _seed(h)
    body = await post_stream(
        h.client,
        _url("run-1", "distributions", "get-batch"),
        [{"name": "weights", "context": {}}],
        record_density=2,
    )
    [view] = trace_views(body)
    assert view["iters"] == [0, 4]
    assert view["index_range_used"] is None
    assert view["index_range_total"] is None
    assert view["record_range_used"] == [0, 5]
    body = await post_stream(
        h.client, _url("run-1", "figures", "get-batch"), [{"name": "plot", "context": {}}]
    )
    [view] = trace_views(body)
    # The dump index is the object's position within its step: 0 for non-list types (the fixed [QUIRK]).
    assert view["values"] == [{"data": "{}", "index": 0}, {"data": "{}", "index": 0}]
    body = await post_stream(
        h.client, _url("run-1", "texts", "get-batch"), [{"name": "notes", "context": {}}]
    )
    [view] = trace_views(body)
    assert view["values"] == [
        [{"data": "a", "index": 0}],
        [{"data": "b", "index": 0}],
        [{"data": "c", "index": 0}],
    ]
    assert view["index_range_total"] == [0, 1]


async def test_get_batch_skips_what_does_not_match(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    await _seed(h)
    url = _url("run-1", "images", "get-batch")
    assert await post_stream(h.client, url, [{"name": "grid", "context": {"subset": "val"}}]) == b""
    assert await post_stream(h.client, url, [{"name": "grid", "context": {}}]) == b""
    assert await post_stream(h.client, url, [{"name": "notes", "context": {}}]) == b""  # a text trace
    assert await post_stream(h.client, url, [{"name": "absent", "context": {}}]) == b""
    # Several requested traces: one frame per found trace, in request order.
    body = await post_stream(
        h.client,
        _url("run-1", "texts", "get-batch"),
        [
            {"name": "notes", "context": {}},
            {"name": "grid", "context": TRAIN},
            {"name": "notes", "context": {}},
        ],
    )
    assert [v["name"] for v in trace_views(body)] == ["notes", "notes"]


async def test_missing_run_is_404_for_batch_and_step(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    for seq in ("images", "texts", "distributions", "audios", "figures"):
        for what in ("get-batch", "get-step"):
            response = await h.client.post(_url("nope", seq, what), json=[{"name": "x", "context": {}}])
            assert_envelope(response, 404, "not_found")
    make_run(h.engine, "run-1")
    assert_envelope(
        await h.client.post(_url("run-1", "texts", "get-batch"), json=[{"name": "x"}]),
        422,
        "validation_error",
    )


async def test_get_step(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    contents = await _seed(h)
    url = _url("run-1", "images", "get-step")
    trace = [{"name": "grid", "context": TRAIN}]
    [view] = trace_views(await post_stream(h.client, url, trace))  # record_step=-1: the last step
    assert list(view) == [
        "name",
        "context",
        "values",
        "iters",
        "record_range_used",
        "record_range_total",
        "index_range_used",
        "index_range_total",
    ]
    assert view["iters"] == [9]
    assert view["record_range_used"] == [9, 9]
    assert view["record_range_total"] == [0, 10]
    values = view["values"]
    assert isinstance(values, list)
    assert [d["index"] for d in values] == [0, 1, 2, 3, 4]
    assert (view["index_range_total"], view["index_range_used"]) == ([0, 5], [0, 5])

    [view] = trace_views(
        await post_stream(h.client, url, trace, record_step=3, index_range="2:", index_density=2)
    )
    values = view["values"]
    assert isinstance(values, list)
    assert [d["index"] for d in values] == [2, 5]
    ref = h.signer.resolve_seq_blob_uri(values[1]["blob_uri"])
    assert contents[(ref.step, ref.index)] == b"image:grid:3:5"
    assert (view["index_range_total"], view["index_range_used"]) == ([0, 2], [2, 2])

    # A missing step or record_step < -1 skips the trace (still 200).
    assert await post_stream(h.client, url, trace, record_step=999) == b""
    assert await post_stream(h.client, url, trace, record_step=4) == b""
    assert await post_stream(h.client, url, trace, record_step=-5) == b""
    assert await post_stream(h.client, url, [{"name": "grid", "context": {}}]) == b""


async def test_get_step_non_list_and_scalar_values(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    await _seed(h)
    body = await post_stream(
        h.client, _url("run-1", "figures", "get-step"), [{"name": "plot", "context": {}}], record_step=1
    )
    [view] = trace_views(body)
    # A non-dict stored value gets the defaults; a scalar becomes a one-item list.
    assert view["values"] == [{"data": "{}", "index": 0}]
    assert (view["iters"], view["record_range_used"], view["record_range_total"]) == ([1], [1, 1], [0, 2])
    assert (view["index_range_used"], view["index_range_total"]) == (None, None)
    body = await post_stream(
        h.client, _url("run-1", "texts", "get-step"), [{"name": "notes", "context": {}}], record_step=1
    )
    [view] = trace_views(body)
    assert view["values"] == [{"data": "a", "index": 0}]
    assert view["index_range_total"] == [0, 1]


async def test_released_client_decodes_get_batch(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    await _seed(h)
    body = await post_stream(
        h.client, _url("run-1", "texts", "get-batch"), [{"name": "notes", "context": {}}]
    )
    # The client treats each top-level key as a record: the view's keys come back one by one.
    decoded = client_http._decode_streaming_response(body)
    by_key = {d["hash"]: d for d in decoded}
    assert by_key["name"]["data"] == "notes"
    assert by_key["iters"] == {0: 1, 1: 2, 2: 4, "hash": "iters"}
    data, progress = split_frames(body)
    assert progress == []
    assert dict(data)["record_range_total"] == [1, 5]
