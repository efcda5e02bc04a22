"""Logging set-up shared by every backend process (loguru to stderr).

Loguru's defaults print the values of local variables in tracebacks (``diagnose``) and extend them
past the catching frame (``backtrace``). Values of locals can hold query text, parameters or
secrets, so both are on only when ``MATYAN_ENVIRONMENT`` is ``development``.
"""

from __future__ import annotations

import sys

from loguru import logger

__all__ = ["configure_logging"]


def configure_logging(level: str, *, environment: str) -> None:
    """Log to stderr at ``level``; tracebacks show variable values only when ``environment`` is
    ``development`` (``StoreSettings.environment``)."""
    development = environment.strip().lower() == "development"
    logger.remove()
    logger.add(
        sys.stderr,
        level=level.upper(),
        backtrace=development,
        diagnose=development,
    )
