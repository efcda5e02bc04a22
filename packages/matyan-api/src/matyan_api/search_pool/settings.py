"""The search pool's settings, read from the environment (documented in docs/configuration.md).

``MATYAN_SEARCH_WORKERS`` processes per API worker process (default: the number of cores), and the
limits of one search request: wall time, CPU time and memory. A request over a limit is stopped, its
process killed and replaced.
"""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SearchSettings"]


class SearchSettings(BaseSettings):
    """How many search processes, and what one search may use."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # 0: the number of cores.
    matyan_search_workers: int = Field(default=0, ge=0)
    # From the moment a process takes the request until its last byte (a slow client counts).
    matyan_search_wall_seconds: float = Field(default=120.0, gt=0)
    matyan_search_cpu_seconds: int = Field(default=60, ge=1)
    # Address space a search may add on top of what its process uses at rest (store maps included).
    matyan_search_memory_mb: int = Field(default=2048, ge=64)
    # How long the response is held back, waiting for the search's first output, so that an error
    # found early is an enveloped 4xx instead of an error frame inside a 200 stream.
    matyan_search_hold_seconds: float = Field(default=5.0, ge=0)

    @property
    def workers(self) -> int:
        """The pool size: ``MATYAN_SEARCH_WORKERS``, or the number of cores when it is 0."""
        return self.matyan_search_workers or os.cpu_count() or 1
