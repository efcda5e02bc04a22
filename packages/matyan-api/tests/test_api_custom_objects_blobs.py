"""POST /runs/images/get-batch/ and /runs/audios/get-batch/: signed blob URIs to bytes.

See docs/http-contract.md, Blob URIs.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from api_custom_objects_fixtures import (
    BASE,
    URI_TTL,
    CustomObjectsHarness,
    blob_value,
    co_harness,
    runs_blobs,
    runs_engine,
    runs_publisher,
    store_blob_objects,
)
from api_runs_fixtures import make_run
from api_search_helpers import get_stream, post_stream, split_frames, write_series
from cryptography.fernet import Fernet
from matyan_client.transport import http as client_http

from matyan_api.routes.blob_batch import FETCH_CONCURRENCY, blob_key_of, blob_uri_clock
from matyan_api.streaming import ERROR_KEY, decode_frames, stream_error
from matyan_store.blobs import BlobUriSigner, SeqBlobRef

__all__ = ["co_harness", "runs_blobs", "runs_engine", "runs_publisher"]

IMAGES = f"{BASE}/runs/images/get-batch/"
AUDIOS = f"{BASE}/runs/audios/get-batch/"


def _blobs(body: bytes) -> list[tuple[Any, Any]]:
    return list(decode_frames(body))


def test_blob_key_of() -> None:
    assert blob_key_of({"s3_key": "a/b"}, 0) == "a/b"
    assert blob_key_of({"blob_key": "a/c"}, 0) == "a/c"  # the newer clients' name
    assert blob_key_of({"s3_key": "a/b", "blob_key": "a/c"}, 0) == "a/b"
    assert blob_key_of([{"s3_key": "k0"}, {"s3_key": "k1"}], 1) == "k1"
    assert blob_key_of([{"s3_key": "k0"}], 5) is None
    assert blob_key_of([{"s3_key": "k0"}], -1) is None
    assert blob_key_of({"s3_key": "k0"}, 1) is None
    assert blob_key_of({"s3_key": ""}, 0) is None
    assert blob_key_of({"caption": "x"}, 0) is None
    assert blob_key_of("k0", 0) is None
    assert blob_key_of(None, 0) is None


async def test_uris_from_search_fetch_their_own_objects(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    make_run(h.engine, "r")
    contents = await store_blob_objects(h, "r", "grid", [7, 7, 7])
    data, _ = split_frames(
        await get_stream(h.client, f"{BASE}/runs/search/images/", index_range="2:7", index_density=3)
    )
    [trace] = dict(data)["r"]["traces"]
    uris = {
        d["blob_uri"]: (step, d["index"])
        for step, ds in zip(trace["iters"], trace["values"], strict=True)
        for d in ds
    }
    assert sorted(uris.values()) == [(s, i) for s in range(3) for i in (2, 4, 6)]
    body = await post_stream(h.client, IMAGES, list(uris))
    fetched = _blobs(body)
    assert [uri for uri, _ in fetched] == list(uris)  # one frame per URI, in request order
    for uri, data_bytes in fetched:
        assert data_bytes == contents[uris[uri]]
    # The released client reads the same body.
    assert client_http._decode_blob_batch_response(body) == {uri: contents[loc] for uri, loc in uris.items()}


async def test_missing_pieces_give_empty_bytes(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    make_run(h.engine, "r")
    await h.blobs.put("r/seq/one.png", b"ONE")
    write_series(
        h.engine,
        "r",
        "imgs",
        [
            [blob_value("image", "r/seq/one.png"), blob_value("image", "r/seq/gone.png")],
            "not a dict",
            [blob_value("image", None, caption="no key")],
            blob_value("image", "r/seq/one.png"),
            [blob_value("image", "../escape")],
        ],
        dtype="image",
    )

    def uri(step: int, index: int, run: str = "r", name: str = "imgs") -> str:
        return h.signer.make_seq_blob_uri(SeqBlobRef(run, 0, name, step, index))

    cases = {
        uri(0, 0): b"ONE",
        uri(0, 1): b"",  # the blob is not in the store
        uri(0, 5): b"",  # index beyond the stored list
        uri(1, 0): b"",  # not a dict
        uri(2, 0): b"",  # no s3_key
        uri(3, 0): b"ONE",  # a single object (not a list) at index 0
        uri(3, 1): b"",
        uri(4, 0): b"",  # a stored key that is not a valid blob key
        uri(9, 0): b"",  # no such step
        uri(0, 0, name="other"): b"",  # no such series
        uri(0, 0, run="ghost"): b"",  # no such run
    }
    body = await post_stream(h.client, IMAGES, list(cases))
    assert _blobs(body) == list(cases.items())


async def test_undecodable_uris_are_skipped(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    make_run(h.engine, "r")
    await store_blob_objects(h, "r", "grid", [1])
    good = h.signer.make_seq_blob_uri(SeqBlobRef("r", 0, "grid", 0, 0))
    assert await post_stream(h.client, IMAGES, ["invalid-uri"]) == b""
    assert await post_stream(h.client, IMAGES, []) == b""
    other_key = BlobUriSigner(Fernet.generate_key()).make_seq_blob_uri(SeqBlobRef("r", 0, "grid", 0, 0))
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    key_kind = h.signer.make_blob_uri("r/seq/grid/0_0.png")  # a blob-key URI, not a locator
    body = await post_stream(h.client, IMAGES, ["invalid-uri", other_key, "", tampered, key_kind, good])
    assert _blobs(body) == [(good, b"image:grid:0:0")]
    # Not a list of strings: a validation error before streaming.
    assert (await h.client.post(IMAGES, json={"uri": good})).status_code == 422


async def test_expired_uris_are_skipped(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    make_run(h.engine, "r")
    await store_blob_objects(h, "r", "grid", [1], kind="audio")
    now = int(time.time())
    fresh = h.signer.make_seq_blob_uri(SeqBlobRef("r", 0, "grid", 0, 0), now=now)
    short = h.signer.make_seq_blob_uri(SeqBlobRef("r", 0, "grid", 0, 0), ttl=5, now=now)
    assert _blobs(await post_stream(h.client, AUDIOS, [fresh, short])) == [
        (fresh, b"audio:grid:0:0"),
        (short, b"audio:grid:0:0"),
    ]
    # The clock moves on (the dependency is overridden, nothing sleeps).
    h.app.dependency_overrides[blob_uri_clock] = lambda: now + 6
    assert _blobs(await post_stream(h.client, AUDIOS, [fresh, short])) == [(fresh, b"audio:grid:0:0")]
    h.app.dependency_overrides[blob_uri_clock] = lambda: now + URI_TTL + 1
    assert await post_stream(h.client, AUDIOS, [fresh, short]) == b""
    # URIs handed out by a search expire after the signer's time to live too.
    data, _ = split_frames(await get_stream(h.client, f"{BASE}/runs/search/audios/"))
    issued = dict(data)["r"]["traces"][0]["values"][0][0]["blob_uri"]
    h.app.dependency_overrides[blob_uri_clock] = lambda: int(time.time()) + URI_TTL - 30
    assert _blobs(await post_stream(h.client, AUDIOS, [issued])) == [(issued, b"audio:grid:0:0")]
    h.app.dependency_overrides[blob_uri_clock] = lambda: int(time.time()) + URI_TTL + 30
    assert await post_stream(h.client, AUDIOS, [issued]) == b""


async def test_client_shaped_single_objects_round_trip(co_harness: CustomObjectsHarness) -> None:
    """One image per step, as the client 0.3.0 sends it: ``data`` replaced by ``s3_key``."""
    h = co_harness
    make_run(h.engine, "run-c")
    values = []
    for step in range(3):
        key = f"run-c/seq/pics/{step}.jpeg"
        await h.blobs.put(key, f"jpeg {step}".encode())
        values.append(blob_value("image", key, format="jpeg", caption=f"s{step}", width=8, height=6))
    write_series(h.engine, "run-c", "pics", values, context={"split": "val"}, dtype="image")
    data, _ = split_frames(
        await get_stream(h.client, f"{BASE}/runs/search/images/", q='images.name == "pics"')
    )
    [trace] = dict(data)["run-c"]["traces"]
    dumps = [step_values[0] for step_values in trace["values"]]
    assert [{k: v for k, v in d.items() if k != "blob_uri"} for d in dumps] == [
        {"caption": f"s{s}", "width": 8, "height": 6, "format": "jpeg", "index": 0} for s in range(3)
    ]
    uris = [d["blob_uri"] for d in dumps]
    assert len(set(uris)) == 3
    body = await post_stream(h.client, IMAGES, uris)
    assert client_http._decode_blob_batch_response(body) == {
        u: f"jpeg {s}".encode() for s, u in enumerate(uris)
    }


async def test_many_uris_keep_request_order_and_paths_without_slash(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    make_run(h.engine, "r")
    contents = await store_blob_objects(h, "r", "grid", [5] * 6)
    assert len(contents) > 3 * FETCH_CONCURRENCY
    refs = [(s, i) for s in range(6) for i in range(5)]
    refs.reverse()  # not storage order
    uris = [h.signer.make_seq_blob_uri(SeqBlobRef("r", 0, "grid", s, i)) for s, i in refs]
    uris.insert(7, "junk")
    # The UI calls the routes without the trailing slash.
    body = await post_stream(h.client, IMAGES.rstrip("/"), uris)
    assert _blobs(body) == [
        (u, contents[loc]) for u, loc in zip([u for u in uris if u != "junk"], refs, strict=True)
    ]
    data, _ = split_frames(await get_stream(h.client, f"{BASE}/runs/search/images"))
    assert [run for run, _ in data] == ["r"]


async def test_a_stored_key_of_another_run_is_not_served(co_harness: CustomObjectsHarness) -> None:
    h = co_harness
    make_run(h.engine, "victim")
    make_run(h.engine, "thief")
    await h.blobs.put("victim/seq/secret.png", b"SECRET")
    await h.blobs.put("thief/seq/own.png", b"OWN")
    write_series(
        h.engine,
        "thief",
        "imgs",
        [[blob_value("image", "thief/seq/own.png"), blob_value("image", "victim/seq/secret.png")]],
        dtype="image",
    )
    own, stolen = (h.signer.make_seq_blob_uri(SeqBlobRef("thief", 0, "imgs", 0, i)) for i in (0, 1))
    assert _blobs(await post_stream(h.client, IMAGES, [own, stolen])) == [(own, b"OWN"), (stolen, b"")]


async def test_a_stream_failing_half_way_ends_with_the_error_frame(
    co_harness: CustomObjectsHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # docs/http-contract.md, Errors inside a stream: whole frames, then the error frame, never a cut body.
    h = co_harness
    make_run(h.engine, "r")
    await store_blob_objects(h, "r", "grid", [1, 1, 1])
    uris = [h.signer.make_seq_blob_uri(SeqBlobRef("r", 0, "grid", step, 0)) for step in range(3)]
    read = h.blobs.get

    async def failing(key: str) -> bytes:
        if key.endswith("grid/1_0.png"):
            raise RuntimeError("disk on fire")
        return await read(key)

    monkeypatch.setattr(h.blobs, "get", failing)
    body = await post_stream(h.client, IMAGES, uris)
    items = decode_frames(body)  # whole pairs to the end: the body is not cut
    assert items[0] == (uris[0], b"image:grid:0:0")
    key, value = items[-1]
    assert len(items) == 2
    assert key == ERROR_KEY
    assert stream_error(value) == {"code": "internal_error", "message": "Internal server error"}
    assert b"disk on fire" not in body
