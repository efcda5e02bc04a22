"""The API process's settings: its own (CORS, metrics, tracing, query timing, caches) plus those it shares.

:class:`ApiSettings` also carries the store's settings (:attr:`ApiSettings.store`) and Kafka's
(:attr:`ApiSettings.kafka`), each read from the same environment, so ``create_app`` and ``start`` take one
object. Variable names are the contract's: no prefix, case-insensitive, ``.env`` read.
"""

from __future__ import annotations

from typing import Final

from pydantic import Field, field_validator

from matyan_api.auth.settings import AuthSettings
from matyan_api.search_pool.settings import SearchSettings
from matyan_models.kafka_settings import KafkaSettings
from matyan_store.settings import ProcessSettings, StoreSettings, check_production

__all__ = ["DEFAULT_CORS_ORIGINS", "ApiSettings", "check_api_production"]

DEFAULT_CORS_ORIGINS: Final = (
    "http://localhost:3000",
    "http://localhost:8000",
    "http://localhost:8080",
    "http://127.0.0.1:8000",
    "http://localhost:53800",
    "http://127.0.0.1:53800",
)


class ApiSettings(ProcessSettings):
    """What the API reads (see the module docstring)."""

    store: StoreSettings = Field(default_factory=StoreSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)

    log_level: str = "INFO"
    metrics_enabled: bool = True
    otel_exporter_otlp_endpoint: str = ""
    cors_origins: list[str] = Field(default_factory=lambda: list(DEFAULT_CORS_ORIGINS))

    project_params_cache_ttl: int = 30
    project_params_cache_maxsize: int = 32
    query_timing_enabled: bool = False
    matyan_serve_ui: bool = False
    """Also serve the web UI at ``/`` (``matyan-backend start --ui`` sets it for granian's workers)."""
    matyan_ui_api_host_base: str = ""
    """A fixed API host base for the UI page; empty: the page's own origin."""

    # HTTP limits of ``matyan-backend start`` (docs/configuration.md, HTTP limits): slow clients cannot
    # hold the server. Headers must arrive within the first, a request body within the second; each
    # worker serves at most ``http_max_connections`` connections, more wait in the listen backlog.
    http_header_timeout_s: float = Field(default=10.0, gt=0, le=60)
    http_body_timeout_s: float = Field(default=30.0, ge=0)
    http_max_connections: int = Field(default=4096, ge=1)
    http_backlog: int = Field(default=4096, ge=128)

    # Accepted under the contract's names so a deployment that sets them still starts; nothing reads them.
    server_url: str = "http://localhost:53800"
    run_search_queue_maxsize: int = 256
    lazy_metric_queue_maxsize: int = 256
    custom_search_queue_maxsize: int = 128
    metric_candidate_run_concurrency: int = 2
    metric_trace_chunk_concurrency: int = 2

    @field_validator("matyan_serve_ui", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        # An empty MATYAN_SERVE_UI has always meant "no UI", not a malformed boolean.
        return False if isinstance(value, str) and not value.strip() else value

    def production_problems(self) -> list[str]:
        """The API's own settings production mode refuses (the store's and Kafka's are listed by theirs)."""
        if "*" in (origin.strip() for origin in self.cors_origins):
            # With credentials allowed, "*" makes the CORS middleware echo every origin back: any site
            # could then send requests carrying the user's cookies.
            return ['CORS_ORIGINS contains "*" while the API allows credentials: list the UI\'s origins']
        return []


def check_api_production(settings: ApiSettings, auth: AuthSettings) -> None:
    """:func:`~matyan_store.settings.check_production` over the store's, Kafka's, the API's and auth's."""
    check_production(settings.store, settings.kafka, settings, auth)
