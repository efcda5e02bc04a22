"""The FastAPI application: :func:`create_app` and its lifespan.

The lifespan opens, once per process, whatever :func:`create_app` was not given: the store engine
(``open_engine(settings.store.engine)``), the blob store and the Kafka publisher, and closes what it opened
on shutdown. Routes reach them through :mod:`matyan_api.deps` (``app.state.engine``, ``.blobs``,
``.publisher``, ``.settings``). Granian serves it through the factory target
``matyan_api.app:create_app``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from loguru import logger
from opentelemetry.sdk.trace import TracerProvider

from matyan_api import health, metrics
from matyan_api.auth.middleware import AuthMiddleware, SessionKeys
from matyan_api.auth.routes import auth_router
from matyan_api.auth.settings import AuthSettings
from matyan_api.deps import search_pool_of
from matyan_api.errors import CatchAllErrorsMiddleware, install_error_handlers
from matyan_api.event_outbox import EventOutboxDrainer
from matyan_api.json_encoding import SafeJSONResponse, reject_lone_surrogates
from matyan_api.kafka_publisher import KafkaPublisher, Publisher
from matyan_api.middleware import (
    BodyTimeoutMiddleware,
    PathNormalizeMiddleware,
    RequestMetricsMiddleware,
    RequestSpanMiddleware,
)
from matyan_api.routes import REST_PREFIX, REST_ROUTERS
from matyan_api.routes.version import backend_version
from matyan_api.settings import ApiSettings
from matyan_api.ui import UiPageMiddleware, ui_router, ui_static_root
from matyan_store.blobs import BlobStore, open_blob_store_async
from matyan_store.engine import Engine, open_engine

__all__ = ["create_app"]


def create_app(
    settings: ApiSettings | None = None,
    *,
    engine: Engine | None = None,
    blobs: BlobStore | None = None,
    publisher: Publisher | None = None,
    tracer_provider: TracerProvider | None = None,
    serve_ui: bool | None = None,
    auth: AuthSettings | None = None,
) -> FastAPI:
    """Build the API application.

    Anything given here is used as is and left open at shutdown (it belongs to the caller); anything
    not given is opened by the lifespan from ``settings`` (read from the environment when ``None``).
    ``tracer_provider`` overrides the OTLP exporter that ``OTEL_EXPORTER_OTLP_ENDPOINT`` would enable.
    ``serve_ui`` (default: ``settings.matyan_serve_ui``, ``MATYAN_SERVE_UI``) also serves the web UI at ``/``
    when the ``matyan_ui`` package is installed. ``auth`` (default: read from ``MATYAN_AUTH*``) says
    whether requests need a token or a UI session (:mod:`matyan_api.auth`).
    """
    settings = settings if settings is not None else ApiSettings()
    auth = auth if auth is not None else AuthSettings()
    session_keys = SessionKeys()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if app.state.engine is None:
                opened = await asyncio.to_thread(open_engine, settings.store.engine)
                stack.callback(_close_engine, app, opened)
                app.state.engine = opened
                app.state.engine_target = settings.store.engine
            if app.state.blobs is None:
                opened_blobs = await open_blob_store_async(settings.store.blobs)
                stack.push_async_callback(_close_blobs, app, opened_blobs)
                app.state.blobs = opened_blobs
            if app.state.publisher is None:
                kafka = KafkaPublisher(settings.kafka)
                await kafka.start()
                stack.push_async_callback(_stop_publisher, app, kafka)
                app.state.publisher = kafka
            if owned_tracing is not None:
                stack.callback(owned_tracing.shutdown)
            # Publishes the events a broker outage left in the store's outbox.
            drainer = EventOutboxDrainer(app.state.engine, app.state.publisher)
            drainer.start()
            stack.push_async_callback(drainer.stop)
            stack.push_async_callback(_close_search_pool, app)
            # Starts the first search process in the background: start-up does not wait for it.
            search_pool_of(app).warm()
            logger.info("matyan-api {} ready", backend_version())
            yield

    app = FastAPI(
        title="Matyan backend",
        version=backend_version(),
        lifespan=lifespan,
        # Routes are declared with a trailing slash and the middleware adds it: never redirect.
        redirect_slashes=False,
        # One rule for values JSON cannot carry, on every route (docs/http-contract.md, Values).
        default_response_class=SafeJSONResponse,
        dependencies=[Depends(reject_lone_surrogates)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.blobs = blobs
    app.state.publisher = publisher
    app.state.search_pool = None
    app.state.engine_target = None

    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(auth_router(auth, session_keys))
    for router in REST_ROUTERS:
        app.include_router(router, prefix=REST_PREFIX)
    ui_root = None
    ui_host_base = settings.matyan_ui_api_host_base.strip() or None
    if serve_ui if serve_ui is not None else settings.matyan_serve_ui:
        ui_root = ui_static_root()
        if ui_root is None:
            logger.warning("the UI was asked for but the matyan_ui package is not installed")
        else:
            # Last: its catch-all page route must not shadow any API route.
            app.include_router(ui_router(ui_root, host_base=ui_host_base))

    owned_tracing = None
    if tracer_provider is None:
        from matyan_api.tracing import otlp_tracer_provider

        owned_tracing = tracer_provider = otlp_tracer_provider(settings)

    # add_middleware puts each one outside the previous: innermost first.
    if ui_root is not None:
        app.add_middleware(UiPageMiddleware, root=ui_root, host_base=ui_host_base)
    app.add_middleware(AuthMiddleware, settings=auth, ui_served=ui_root is not None, keys=session_keys)
    app.add_middleware(CatchAllErrorsMiddleware)
    app.add_middleware(BodyTimeoutMiddleware, timeout_s=settings.http_body_timeout_s)
    if tracer_provider is not None:
        app.add_middleware(RequestSpanMiddleware, tracer_provider=tracer_provider)
    app.add_middleware(RequestMetricsMiddleware, enabled=settings.metrics_enabled)
    app.add_middleware(PathNormalizeMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    return app


async def _close_search_pool(app: FastAPI) -> None:
    pool = getattr(app.state, "search_pool", None)
    app.state.search_pool = None
    if pool is not None:
        await pool.close()


def _close_engine(app: FastAPI, engine: Engine) -> None:
    app.state.engine = None
    engine.close()


async def _close_blobs(app: FastAPI, blobs: BlobStore) -> None:
    app.state.blobs = None
    await blobs.aclose()


async def _stop_publisher(app: FastAPI, publisher: Publisher) -> None:
    app.state.publisher = None
    await publisher.stop()
