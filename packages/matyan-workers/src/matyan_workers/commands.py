"""Commands matyan-workers adds to ``matyan-backend``: ``ingest-worker`` and ``control-worker``."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable

import cyclopts
from loguru import logger

from matyan_store.engine import open_engine
from matyan_store.log_setup import configure_logging
from matyan_store.settings import ProductionSettingsError
from matyan_workers.metrics_server import start_metrics_server
from matyan_workers.settings import WorkerSettings, check_worker_production

__all__ = ["control_worker", "ingest_worker", "register"]

PRODUCTION_CHECK_EXIT_CODE = 2


def _settings(command: str) -> WorkerSettings | None:
    settings = WorkerSettings()
    configure_logging(settings.log_level, environment=settings.store.environment)
    try:
        check_worker_production(settings)
    except ProductionSettingsError as exc:
        print(f"matyan-backend {command}: {exc}", file=sys.stderr)
        return None
    return settings


async def _until_signalled(run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(stop)


def ingest_worker() -> int:
    """Apply the data-ingestion topic to the store (exactly-once effect; offsets stored with the data)."""
    settings = _settings("ingest-worker")
    if settings is None:
        return PRODUCTION_CHECK_EXIT_CODE
    from matyan_workers.ingest.consumer import IngestWorker

    with open_engine(settings.store.engine) as engine:
        worker = IngestWorker(settings, engine)
        server = start_metrics_server(settings.metrics_port, lambda: worker.alive)
        if server is not None:
            logger.info("Prometheus metrics server started on :{}", settings.metrics_port)
        try:
            asyncio.run(_until_signalled(worker.run))
        finally:
            if server is not None:
                server.stop()
    logger.info("ingest worker stopped")
    return 0


def control_worker() -> int:
    """Carry out control events (blob cleanup of deleted runs)."""
    settings = _settings("control-worker")
    if settings is None:
        return PRODUCTION_CHECK_EXIT_CODE
    from matyan_store.blobs import open_blob_store_async
    from matyan_workers.control.consumer import ControlWorker

    with open_engine(settings.store.engine) as engine:
        holder: list[ControlWorker] = []
        server = start_metrics_server(settings.metrics_port, lambda: bool(holder) and holder[0].alive)

        async def run(stop: asyncio.Event) -> None:
            blobs = await open_blob_store_async(settings.store.blobs)
            try:
                worker = ControlWorker(settings, engine, blobs)
                holder.append(worker)
                await worker.run(stop)
            finally:
                await blobs.aclose()

        try:
            asyncio.run(_until_signalled(run))
        finally:
            if server is not None:
                server.stop()
    logger.info("control worker stopped")
    return 0


def register(app: cyclopts.App) -> None:
    """Add ``ingest-worker`` and ``control-worker`` to the ``matyan-backend`` CLI."""
    app.command(ingest_worker, name="ingest-worker")
    app.command(control_worker, name="control-worker")
