"""``POST /runs/images/get-batch/`` and ``POST /runs/audios/get-batch/``: blob URIs to bytes.

See docs/http-contract.md, Blob URIs.

The body is a JSON list of the ``blob_uri`` strings the custom-object routes handed out. Each URI is a
signed, expiring locator (:class:`~matyan_store.blobs.SeqBlobRef`): run, context id, sequence name,
step, and the object's index in that step's stored list. The stream has one frame ``{uri: bytes}`` per
URI that resolves: a URI that is malformed, forged, signed with another secret or expired is skipped
silently (still 200). A locator whose object is gone, is not a dict, or has no blob key gives ``b""``,
as does a blob key with no blob behind it or one outside the run's own ``<run_id>/`` prefix.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from matyan_api.deps import BlobsDep, BlobUriSignerDep, EngineDep
from matyan_api.routes.search_common import stream_response
from matyan_api.streaming import encode_tree_bytes
from matyan_store.blobs import BlobError, BlobStore, BlobUriError, SeqBlobRef, key_in_run
from matyan_store.engine import Engine, ReadTransaction
from matyan_store.runs import get_run
from matyan_store.sequences import SeriesKey, read_range

__all__ = ["FETCH_CONCURRENCY", "BlobClockDep", "blob_key_of", "blob_uri_clock", "router"]

router = APIRouter(prefix="/runs", tags=["runs"])

# The key under which a custom object's value names its blob; the unreleased newer clients call it
# ``blob_key`` (accepted as an alias, ``s3_key`` wins, as for ``blob_ref`` messages).
_KEY_FIELDS: Final = ("s3_key", "blob_key")
# Blob fetches in flight per request.
FETCH_CONCURRENCY: Final = 8


def blob_uri_clock() -> int | None:
    """The time URIs are checked against (``None``: now). Tests override this dependency."""
    return None


BlobClockDep = Annotated[int | None, Depends(blob_uri_clock)]


def blob_key_of(value: Any, index: int) -> str | None:
    """The blob key of item ``index`` of a stored step value (a list, or one object at index 0)."""
    if isinstance(value, list):
        if not 0 <= index < len(value):
            return None
        value = value[index]
    elif index != 0:
        return None
    if not isinstance(value, Mapping):
        return None
    for field in _KEY_FIELDS:
        key = value.get(field)
        if isinstance(key, str) and key:
            return key
    return None


def _locate(tr: ReadTransaction, ref: SeqBlobRef) -> str | None:
    if get_run(tr, ref.run_hash) is None:
        return None
    block = read_range(tr, SeriesKey(ref.run_hash, ref.ctx_id, ref.seq_name), ref.step, ref.step + 1)
    if len(block) == 0:
        return None
    key = blob_key_of(block.values[0], ref.index)
    # The stored key is the client's word: serve it only from this run's own blobs.
    return key if key is not None and key_in_run(key, ref.run_hash) else None


async def _fetch(engine: Engine, blobs: BlobStore, ref: SeqBlobRef) -> bytes:
    key = await engine.aread(lambda tr: _locate(tr, ref))
    if key is None:
        return b""
    try:
        return await blobs.get(key)
    except BlobError:  # no such blob, or a stored key that is not a valid blob key
        return b""


def _register(seq: str) -> None:
    async def get_blobs(
        uris: list[str],
        engine: EngineDep,
        blobs: BlobsDep,
        signer: BlobUriSignerDep,
        now: BlobClockDep,
    ) -> StreamingResponse:
        refs: list[tuple[str, SeqBlobRef]] = []
        for uri in uris:
            try:
                refs.append((uri, signer.resolve_seq_blob_uri(uri, now=now)))
            except BlobUriError:
                continue

        async def body() -> AsyncIterator[bytes]:
            # A few fetches in flight (object stores answer one GET at a time slowly); frames stay in
            # request order, and whatever is pending is cancelled if the client goes away.
            window: deque[asyncio.Task[bytes]] = deque()
            pending = iter(refs)
            try:
                for uri, _ in refs:
                    while len(window) < FETCH_CONCURRENCY and (nxt := next(pending, None)) is not None:
                        window.append(asyncio.ensure_future(_fetch(engine, blobs, nxt[1])))
                    yield encode_tree_bytes((uri,), await window.popleft())
            finally:
                for task in window:
                    task.cancel()

        return stream_response(body())

    get_blobs.__doc__ = f"The bytes behind {seq} blob URIs, one frame ``{{uri: bytes}}`` per valid URI."
    router.add_api_route(
        f"/{seq}/get-batch/",
        get_blobs,
        methods=["POST"],
        response_class=StreamingResponse,
        name=f"get_{seq}_blobs",
        operation_id=f"get_{seq}_blobs",
    )


for _seq in ("images", "audios"):
    _register(_seq)
