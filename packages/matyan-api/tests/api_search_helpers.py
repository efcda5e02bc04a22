"""Helpers of the streaming-route tests: decode a body into data frames and progress pairs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from cryptography.fernet import Fernet

from matyan_api.search_pool.pipeline import JobContext, SearchJob, run_job
from matyan_api.settings import ApiSettings
from matyan_api.streaming import decode_frames, is_progress_key
from matyan_models import context_to_id
from matyan_store.blobs import BlobUriSigner
from matyan_store.engine import Engine, Transaction
from matyan_store.runs import set_context, write_run_series
from matyan_store.sequences import Point, SeriesKey


def split_frames(body: bytes) -> tuple[list[tuple[Any, Any]], list[tuple[str, tuple[int, int]]]]:
    """``(data items in order, progress items in order)`` of a stream body (our decoder)."""
    data: list[tuple[Any, Any]] = []
    progress: list[tuple[str, tuple[int, int]]] = []
    for key, value in decode_frames(body):
        if is_progress_key(key):
            progress.append((str(key), (value[0], value[1])))
        else:
            data.append((key, value))
    return data, progress


class CollectedOutbox:
    """An outbox that keeps a search pipeline's messages."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Any]] = []

    def send(self, kind: str, payload: Any = None) -> None:
        self.messages.append((kind, payload))


def run_job_frames(engine: Engine, job: SearchJob) -> bytes:
    """The encoded data frames of ``job`` run to its end in this process (no search process).

    In-process, a test can watch the engine and change module constants the job reads at run time.
    """
    out = CollectedOutbox()
    signer = BlobUriSigner(Fernet.generate_key())
    run_job(job, JobContext(engine=engine, settings=ApiSettings(), out=out, signer=signer))
    assert out.messages[-1] == ("end", None)
    return b"".join(frame for kind, payload in out.messages if kind == "frames" for frame, _ in payload[0])


def trace_views(body: bytes) -> list[dict[str, Any]]:
    """The get-batch/get-step frames: each frame's pairs start at the view's own keys."""
    views: list[dict[str, Any]] = []
    for key, value in decode_frames(body):
        if key == "name":
            views.append({})
        views[-1][str(key)] = value
    return views


async def get_stream(client: httpx.AsyncClient, url: str, **params: Any) -> bytes:
    """GET a streaming route; checks the 200 and the non-JSON content type, returns the body."""
    response = await client.get(url, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    return response.content


async def post_stream(client: httpx.AsyncClient, url: str, body: Any, **params: Any) -> bytes:
    """POST to a streaming route (JSON body); checks the 200 and content type, returns the body."""
    response = await client.post(url, json=body, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    return response.content


def write_series(
    engine: Engine,
    run_id: str,
    name: str,
    values: Sequence[Any],
    *,
    steps: Sequence[int] | None = None,
    context: dict[str, Any] | None = None,
    dtype: str = "float",
    epochs: Sequence[int | None] | None = None,
    timestamps: Sequence[float | None] | None = None,
) -> SeriesKey:
    """Write a series as the ingest worker does: points, then the trace and series-stat index entries."""
    key = SeriesKey(run_id, context_to_id(context or {}), name)
    at = list(range(len(values))) if steps is None else list(steps)
    eps = list(epochs) if epochs is not None else [None] * len(at)
    ts = list(timestamps) if timestamps is not None else [None] * len(at)

    def apply(tr: Transaction) -> None:
        set_context(tr, run_id, context or {})
        points = [Point(s, v, e, t) for s, v, e, t in zip(at, values, eps, ts, strict=True)]
        write_run_series(tr, key, points, dtype)

    engine.transact(apply)
    return key
