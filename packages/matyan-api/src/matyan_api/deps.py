"""FastAPI dependencies: the process-wide store engine, blob store, Kafka publisher and settings.

They are opened once per process by the app's lifespan (or handed to
:func:`matyan_api.app.create_app`) and kept on ``app.state``. Use the ``Annotated`` aliases::

    @router.get("/x/")
    async def x(engine: EngineDep, offset: TimezoneOffset = 0) -> ...
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request

from matyan_api.errors import ApiError
from matyan_api.kafka_publisher import Publisher
from matyan_api.search_pool.pool import SearchPool
from matyan_api.search_pool.worker import WorkerConfig, engine_target
from matyan_api.settings import ApiSettings
from matyan_store.blobs import BlobStore, BlobUriSigner
from matyan_store.engine import Engine

__all__ = [
    "BlobUriSignerDep",
    "BlobsDep",
    "EngineDep",
    "PublisherDep",
    "SearchPoolDep",
    "SettingsDep",
    "TimezoneOffset",
    "blob_uri_signer_of",
    "get_blob_uri_signer",
    "get_blobs",
    "get_engine",
    "get_publisher",
    "get_search_pool",
    "get_settings",
    "search_pool_of",
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


def blob_uri_signer_of(app: FastAPI) -> BlobUriSigner:
    """The signer of image/audio blob URIs (``app.state.blob_uri_signer``, made from the settings once)."""
    signer: BlobUriSigner | None = getattr(app.state, "blob_uri_signer", None)
    if signer is None:
        signer = BlobUriSigner.from_settings(app.state.settings.store.blobs)
        app.state.blob_uri_signer = signer
    return signer


def get_blob_uri_signer(request: Request) -> BlobUriSigner:
    """The app's blob URI signer (see :func:`blob_uri_signer_of`)."""
    return blob_uri_signer_of(request.app)


def get_publisher(request: Request) -> Publisher:
    """The Kafka publisher (``app.state.publisher``)."""
    publisher: Publisher = _state(request, "publisher")
    return publisher


def search_pool_of(app: FastAPI) -> SearchPool:
    """The app's search pool (``app.state.search_pool``), made on first use.

    Its processes open the store the app has open: ``app.state.engine_target`` (the settings the
    lifespan opened the engine with), else the location of the engine handed to the app.
    """
    state = app.state
    pool: SearchPool | None = getattr(state, "search_pool", None)
    if pool is None:
        engine: Engine | None = getattr(state, "engine", None)
        if engine is None:
            raise ApiError(503, "the API is not ready: engine is not open")
        target = getattr(state, "engine_target", None) or engine_target(engine)
        limits = state.settings.search
        config = WorkerConfig(
            engine=target,
            settings=state.settings,
            signer=blob_uri_signer_of(app),
            cpu_seconds=limits.matyan_search_cpu_seconds,
            memory_mb=limits.matyan_search_memory_mb,
        )
        pool = state.search_pool = SearchPool(config, limits)
    return pool


def get_search_pool(request: Request) -> SearchPool:
    """The search pool (see :func:`search_pool_of`)."""
    return search_pool_of(request.app)


def get_settings(request: Request) -> ApiSettings:
    """The process settings (``app.state.settings``)."""
    settings: ApiSettings = _state(request, "settings")
    return settings


EngineDep = Annotated[Engine, Depends(get_engine)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]
BlobUriSignerDep = Annotated[BlobUriSigner, Depends(get_blob_uri_signer)]
PublisherDep = Annotated[Publisher, Depends(get_publisher)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
SearchPoolDep = Annotated[SearchPool, Depends(get_search_pool)]

TimezoneOffset = Annotated[
    int,
    Header(
        alias="X-Timezone-Offset",
        description="Client timezone offset in minutes, JS getTimezoneOffset() convention (UTC+3 is -180).",
    ),
]
"""The ``X-Timezone-Offset`` header (integer minutes; a non-integer is a 422). Give it ``= 0``."""
