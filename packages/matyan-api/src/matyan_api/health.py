"""Liveness and readiness probes (root level, not under ``/api/v1``)."""

from __future__ import annotations

import asyncio
from typing import Any, Final, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from matyan_api.kafka_publisher import Publisher
from matyan_store.blobs import BlobStore
from matyan_store.engine import Engine
from matyan_store.entities import get_project

__all__ = ["LiveOut", "ReadyChecksOut", "ReadyOut", "router"]

CHECK_TIMEOUT_S: Final = 5.0
# Never written: asking whether it exists is the cheapest round trip to the blob backend.
_BLOB_PROBE_KEY: Final = "_health/probe"

router = APIRouter(tags=["health"])


class LiveOut(BaseModel):
    """``GET /health/live/``."""

    status: Literal["ok"] = "ok"


class ReadyChecksOut(BaseModel):
    """Each dependency's check: ``"ok"`` or the reason it failed; Kafka as per-producer readiness."""

    fdb: str
    blobs: str
    kafka: dict[str, bool] | str


class ReadyOut(BaseModel):
    """``GET /health/ready/``, with 200 (``ok``) and 503 (``degraded``) alike."""

    status: Literal["ok", "degraded"]
    checks: ReadyChecksOut


@router.get("/health/live/")
async def live() -> LiveOut:
    """The process answers."""
    return LiveOut()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {CHECK_TIMEOUT_S:g} s"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def _check_store(engine: Engine | None) -> str:
    if engine is None:
        return "not open"
    try:
        await asyncio.wait_for(engine.aread(get_project), CHECK_TIMEOUT_S)
    except Exception as exc:
        return _reason(exc)
    return "ok"


async def _check_blobs(blobs: BlobStore | None) -> str:
    if blobs is None:
        return "not open"
    try:
        await asyncio.wait_for(blobs.exists(_BLOB_PROBE_KEY), CHECK_TIMEOUT_S)
    except Exception as exc:
        return _reason(exc)
    return "ok"


def _check_kafka(publisher: Publisher | None) -> dict[str, bool] | str:
    if publisher is None:
        return "not open"
    try:
        return publisher.readiness()
    except Exception as exc:
        return _reason(exc)


@router.get(
    "/health/ready/",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "a dependency is down"}},
)
async def ready(request: Request) -> JSONResponse:
    """200 when the store, the blob store and both Kafka producers answer; 503 ``degraded`` otherwise.

    ``checks.fdb`` keeps the reference's key for the metadata store, whichever engine runs it; each
    failed check holds the reason instead of ``"ok"``.
    """
    state = request.app.state
    store, blobs = await asyncio.gather(
        _check_store(getattr(state, "engine", None)), _check_blobs(getattr(state, "blobs", None))
    )
    kafka = _check_kafka(getattr(state, "publisher", None))
    checks: dict[str, Any] = {"fdb": store, "blobs": blobs, "kafka": kafka}
    healthy = store == "ok" and blobs == "ok" and isinstance(kafka, dict) and all(kafka.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks}, status_code=200 if healthy else 503
    )
