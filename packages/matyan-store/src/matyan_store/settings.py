"""Process-wide settings of the backend (API, workers, ops), with the contract's variable names.

Every process reads the same environment: the engine (:class:`~matyan_store.engine.EngineSettings`), the
blob store (:class:`~matyan_store.blobs.BlobSettings`) and the rest below (Kafka, ingestion, metrics,
CORS, cleanup jobs). No prefix, case-insensitive, ``.env`` read, unknown variables ignored, as the
reference does. With ``MATYAN_ENVIRONMENT=production`` a process refuses development defaults: call
:func:`check_production` at start-up, which lists every problem in one message.
"""

from __future__ import annotations

from functools import cached_property

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from matyan_store.blobs.settings import DEV_BLOB_URI_SECRET, BlobSettings
from matyan_store.engine.settings import EngineSettings

__all__ = [
    "DEFAULT_CORS_ORIGINS",
    "ProductionSettingsError",
    "Settings",
    "check_production",
    "production_problems",
]

DEV_KAFKA_BOOTSTRAP = "localhost:9092"
DEV_S3_ENDPOINT = "http://localhost:9000"
DEV_S3_CREDENTIAL = "rustfsadmin"

DEFAULT_CORS_ORIGINS = (
    "http://localhost:3000",
    "http://localhost:8000",
    "http://localhost:8080",
    "http://127.0.0.1:8000",
    "http://localhost:53800",
    "http://127.0.0.1:53800",
)


class ProductionSettingsError(ValueError):
    """Production mode was asked for with development defaults still in place."""


class Settings(BaseSettings):
    """Settings shared by every backend process (see the module docstring)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    environment: str = Field(
        default="development", validation_alias=AliasChoices("matyan_environment", "environment")
    )
    log_level: str = "INFO"
    server_url: str = "http://localhost:53800"
    # Production normally runs FoundationDB; the embedded engine there must be asked for explicitly.
    matyan_allow_embedded_in_production: bool = False

    kafka_bootstrap_servers: str = DEV_KAFKA_BOOTSTRAP
    kafka_data_ingestion_topic: str = "data-ingestion"
    kafka_control_events_topic: str = "control-events"
    kafka_security_protocol: str = ""
    kafka_sasl_mechanism: str = ""
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = Field(default="", repr=False)

    ingest_batch_size: int = Field(default=200, ge=1)
    ingest_batch_timeout_ms: int = Field(default=100, ge=0)
    ingest_max_messages_per_txn: int = Field(default=100, ge=1)
    ingest_max_txn_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)

    metrics_enabled: bool = True
    metrics_port: int = Field(default=9090, ge=0, le=65535)
    otel_exporter_otlp_endpoint: str = ""

    project_params_cache_ttl: int = 30
    project_params_cache_maxsize: int = 32
    run_search_queue_maxsize: int = 256
    lazy_metric_queue_maxsize: int = 256
    custom_search_queue_maxsize: int = 128
    metric_candidate_run_concurrency: int = 2
    metric_trace_chunk_concurrency: int = 2
    query_timing_enabled: bool = False

    tombstone_cleanup_older_than_hours: int = Field(default=168, ge=0)
    cleanup_job_lock_ttl_seconds: int = Field(default=0, ge=0)

    cors_origins: list[str] = Field(default_factory=lambda: list(DEFAULT_CORS_ORIGINS))

    @property
    def is_production(self) -> bool:
        """Whether ``MATYAN_ENVIRONMENT`` (or ``ENVIRONMENT``) says production."""
        return self.environment.strip().lower() == "production"

    @cached_property
    def engine(self) -> EngineSettings:
        """The engine's settings, read from the same environment."""
        return EngineSettings()

    @cached_property
    def blobs(self) -> BlobSettings:
        """The blob store's settings, read from the same environment."""
        return BlobSettings()


def production_problems(
    settings: Settings, engine: EngineSettings | None = None, blobs: BlobSettings | None = None
) -> list[str]:
    """Every development default that production mode refuses, each naming its variable."""
    engine = engine or settings.engine
    blobs = blobs or settings.blobs
    problems: list[str] = []
    secret = blobs.blob_uri_secret.strip()
    if not secret:
        problems.append("BLOB_URI_SECRET is empty: set a Fernet key of your own")
    elif secret == DEV_BLOB_URI_SECRET:
        problems.append("BLOB_URI_SECRET is the development key: set a Fernet key of your own")
    if settings.kafka_bootstrap_servers.strip() == DEV_KAFKA_BOOTSTRAP:
        problems.append(f"KAFKA_BOOTSTRAP_SERVERS is the development default {DEV_KAFKA_BOOTSTRAP}")
    engine_name = engine.matyan_store_engine.strip().lower()
    if engine_name.startswith("fdb"):
        # "fdb:///path/to/fdb.cluster" names the cluster file itself.
        if engine_name in ("fdb", "fdb://") and not engine.fdb_cluster_file.strip():
            problems.append("FDB_CLUSTER_FILE is empty: point it at the cluster file")
    elif not settings.matyan_allow_embedded_in_production:
        problems.append(
            "MATYAN_STORE_ENGINE is the embedded engine: use fdb, or set "
            "MATYAN_ALLOW_EMBEDDED_IN_PRODUCTION=true"
        )
    backend = blobs.blob_backend_type.strip().lower()
    if backend == "s3":
        if blobs.s3_access_key == DEV_S3_CREDENTIAL:
            problems.append("S3_ACCESS_KEY is the development default")
        if blobs.s3_secret_key == DEV_S3_CREDENTIAL:
            problems.append("S3_SECRET_KEY is the development default")
        if blobs.s3_endpoint.strip() == DEV_S3_ENDPOINT:
            problems.append(f"S3_ENDPOINT is the development default {DEV_S3_ENDPOINT}")
    elif backend == "gcs":
        if not blobs.gcs_bucket.strip():
            problems.append("GCS_BUCKET is empty")
    elif backend == "azure":
        if not blobs.azure_container.strip():
            problems.append("AZURE_CONTAINER is empty")
        if not blobs.azure_conn_str.strip() and not blobs.azure_account_url.strip():
            problems.append("AZURE_CONN_STR or AZURE_ACCOUNT_URL must be set")
    elif backend == "local" and not settings.matyan_allow_embedded_in_production:
        problems.append(
            "BLOB_BACKEND_TYPE is local: use s3, gcs or azure, or set "
            "MATYAN_ALLOW_EMBEDDED_IN_PRODUCTION=true"
        )
    return problems


def check_production(settings: Settings) -> None:
    """Raise :class:`ProductionSettingsError` listing every problem when production mode is misconfigured."""
    if not settings.is_production:
        return
    problems = production_problems(settings)
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise ProductionSettingsError(
            f"refusing to start in production mode with development settings:\n{listed}"
        )
