"""FastAPI dependencies: the process-wide store engine, blob store, Kafka publisher and settings.

They are opened once per process by the app's lifespan (or handed to
:func:`matyan_api.app.create_app`) and kept on ``app.state``. Use the ``Annotated`` aliases::

    @router.get("/x/")
    async def x(engine: EngineDep, offset: TimezoneOffset = 0) -> ...
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request

from matyan_api.errors import ApiError
from matyan_api.kafka_publisher import Publisher
from matyan_api.settings import ApiSettings
from matyan_store.blobs import BlobStore, BlobUriSigner
from matyan_store.engine import Engine

__all__ = [
    "BlobUriSignerDep",
    "BlobsDep",
    "EngineDep",
    "PublisherDep",
    "SettingsDep",
    "TimezoneOffset",
    "get_blob_uri_signer",
    "get_blobs",
    "get_engine",
    "get_publisher",
    "get_settings",
]


def _state(request: Request, name: str) -> Any:
    value = getattr(request.app.state, name, None)
    if value is None:
        # Only before the lifespan has opened it (or after it closed it).
        raise ApiError(503, f"the API is not ready: {name} is not open")
    return value


def get_engine(request: Request) -> Engine:
    """The store engine (``app.state.engine``)."""
    engine: Engine = _state(request, "engine")
    return engine


def get_blobs(request: Request) -> BlobStore:
    """The blob store (``app.state.blobs``)."""
    blobs: BlobStore = _state(request, "blobs")
    return blobs


def get_blob_uri_signer(request: Request) -> BlobUriSigner:
    """The signer of image/audio blob URIs (``app.state.blob_uri_signer``, made from the settings once)."""
    signer: BlobUriSigner | None = getattr(request.app.state, "blob_uri_signer", None)
    if signer is None:
        signer = BlobUriSigner.from_settings(get_settings(request).store.blobs)
        request.app.state.blob_uri_signer = signer
    return signer


def get_publisher(request: Request) -> Publisher:
    """The Kafka publisher (``app.state.publisher``)."""
    publisher: Publisher = _state(request, "publisher")
    return publisher


def get_settings(request: Request) -> ApiSettings:
    """The process settings (``app.state.settings``)."""
    settings: ApiSettings = _state(request, "settings")
    return settings


EngineDep = Annotated[Engine, Depends(get_engine)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]
BlobUriSignerDep = Annotated[BlobUriSigner, Depends(get_blob_uri_signer)]
PublisherDep = Annotated[Publisher, Depends(get_publisher)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]

TimezoneOffset = Annotated[
    int,
    Header(
        alias="X-Timezone-Offset",
        description="Client timezone offset in minutes, JS getTimezoneOffset() convention (UTC+3 is -180).",
    ),
]
"""The ``X-Timezone-Offset`` header (integer minutes; a non-integer is a 422). Give it ``= 0``."""
