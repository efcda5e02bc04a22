"""The store's settings and the production check every backend process runs at start-up.

:class:`StoreSettings` holds only what the store reads: the environment (``MATYAN_ENVIRONMENT`` or
``ENVIRONMENT``), the engine (:class:`~matyan_store.engine.EngineSettings`), the blob store
(:class:`~matyan_store.blobs.BlobSettings`) and ``MATYAN_ALLOW_EMBEDDED_IN_PRODUCTION``. Kafka, CORS,
ingestion, metrics, query and cleanup settings belong to the packages that read them. No prefix,
case-insensitive, ``.env`` read, unknown variables ignored.

With ``MATYAN_ENVIRONMENT=production`` a process refuses development defaults: its start command calls
:func:`check_production` with the store's settings and those of its own package, and gets every problem
of all of them in one message.

A process's settings that carry the store's (and Kafka's) settings as fields derive from
:class:`ProcessSettings`, so those fields are built from their own variables and never parsed from a
variable named after the field (``STORE``, ``KAFKA``).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Protocol

from pydantic import AliasChoices, Field
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from matyan_store.blobs.settings import DEV_BLOB_URI_SECRET, BlobSettings
from matyan_store.engine.settings import EngineSettings

__all__ = [
    "HasProductionProblems",
    "ProcessSettings",
    "ProductionSettingsError",
    "StoreSettings",
    "check_production",
]

DEV_S3_ENDPOINT = "http://localhost:9000"
DEV_S3_CREDENTIAL = "rustfsadmin"


class ProductionSettingsError(ValueError):
    """Production mode was asked for with development defaults still in place."""


class HasProductionProblems(Protocol):
    """A package's settings, able to list what production mode refuses in them."""

    def production_problems(self) -> list[str]:
        """Every development default production mode refuses, each naming its variable."""
        ...


def _holds_settings(field: FieldInfo) -> bool:
    return isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings)


class _OwnFieldsEnv(EnvSettingsSource):
    """Environment variables for the fields that are plain values; a field holding another settings
    class is skipped, so its default factory reads that class's own variables."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Nothing for a field holding settings (a ``STORE=x`` variable is not JSON to parse)."""
        if _holds_settings(field):
            return None, field_name, False
        return super().get_field_value(field, field_name)


class _OwnFieldsDotEnv(DotEnvSettingsSource, _OwnFieldsEnv):
    """The ``.env`` file, read as :class:`_OwnFieldsEnv` reads the environment."""


class ProcessSettings(BaseSettings):
    """Base of a process's settings: its own variables plus fields holding other settings classes.

    pydantic-settings would also read such a field from a variable of the field's name as JSON, so
    ``STORE=x`` or ``KAFKA=x`` in the environment would stop the process at start. Here those fields are
    only ever given as arguments (``ApiSettings(kafka=...)``) or built by their default factory from
    their own variables. Constructor arguments come first, then the environment, then ``.env``.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The default sources, with the environment and ``.env`` skipping fields that hold settings."""
        return (
            init_settings,
            _OwnFieldsEnv(settings_cls),
            _OwnFieldsDotEnv(settings_cls),
            file_secret_settings,
        )


class StoreSettings(BaseSettings):
    """The environment, the engine and the blob store (see the module docstring)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    environment: str = Field(
        default="development", validation_alias=AliasChoices("matyan_environment", "environment")
    )
    # Production normally runs FoundationDB; the embedded engine there must be asked for explicitly.
    matyan_allow_embedded_in_production: bool = False

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
        self, engine: EngineSettings | None = None, blobs: BlobSettings | None = None
    ) -> list[str]:
        """Every development default of the store that production mode refuses, each naming its variable.

        ``engine`` and ``blobs`` default to :attr:`engine` and :attr:`blobs`.
        """
        engine = engine or self.engine
        blobs = blobs or self.blobs
        return [
            *_blob_secret_problems(blobs),
            *_engine_problems(engine, self.matyan_allow_embedded_in_production),
            *_blob_backend_problems(blobs, self.matyan_allow_embedded_in_production),
        ]


def _blob_secret_problems(blobs: BlobSettings) -> list[str]:
    secret = blobs.blob_uri_secret.strip()
    if not secret:
        return ["BLOB_URI_SECRET is empty: set a Fernet key of your own"]
    if secret == DEV_BLOB_URI_SECRET:
        return ["BLOB_URI_SECRET is the development key: set a Fernet key of your own"]
    return []


def _engine_problems(engine: EngineSettings, allow_embedded: bool) -> list[str]:
    engine_name = engine.matyan_store_engine.strip().lower()
    if engine_name.startswith("fdb"):
        # "fdb:///path/to/fdb.cluster" names the cluster file itself.
        if engine_name in ("fdb", "fdb://") and not engine.fdb_cluster_file.strip():
            return ["FDB_CLUSTER_FILE is empty: point it at the cluster file"]
        return []
    if allow_embedded:
        return []
    return [
        "MATYAN_STORE_ENGINE is the embedded engine: use fdb, or set MATYAN_ALLOW_EMBEDDED_IN_PRODUCTION=true"
    ]


def _blob_backend_problems(blobs: BlobSettings, allow_embedded: bool) -> list[str]:
    problems: list[str] = []
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
    elif backend == "local" and not allow_embedded:
        problems.append(
            "BLOB_BACKEND_TYPE is local: use s3, gcs or azure, "
            "or set MATYAN_ALLOW_EMBEDDED_IN_PRODUCTION=true"
        )
    return problems


def check_production(store: StoreSettings, *packages: HasProductionProblems) -> None:
    """Refuse production mode with development defaults left in the store's or any package's settings.

    Does nothing unless ``store`` says production. Otherwise raises :class:`ProductionSettingsError`
    listing every problem of the store and of ``packages`` (the process's own package and the shared
    settings it reads, such as Kafka's), one ``  - ...`` line each.
    """
    if not store.is_production:
        return
    problems = store.production_problems()
    for settings in packages:
        problems.extend(settings.production_problems())
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise ProductionSettingsError(
            f"refusing to start in production mode with development settings:\n{listed}"
        )
