"""Blob storage settings, read from the environment with the reference backend's variable names.

The names of the reference backend (``BLOB_BACKEND_TYPE``, ``S3_*``, ``GCS_BUCKET``, ``AZURE_*``,
``BLOB_URI_SECRET``) are a contract and are kept exactly; the reference reads them with no prefix and
case-insensitively, and so do we. The additions this backend needs are ``BLOB_LOCAL_DIR`` /
``MATYAN_DATA_DIR`` (the embedded ``local`` backend), ``GCS_PROJECT``, ``STORAGE_EMULATOR_HOST``,
``AZURE_ACCOUNT_NAME`` / ``AZURE_ACCOUNT_KEY``, ``BLOB_URI_TTL_SECONDS``,
``BLOB_OPEN_TIMEOUT_SECONDS`` and ``BLOB_IO_THREADS``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

# The reference's development Fernet key (docs/configuration.md, Blob store). Production mode must refuse it;
# that check lives with the process-wide production validation, not here.
DEV_BLOB_URI_SECRET = "Juw5-cLlemQI2jAWvceOUB3_CrVfBmI99YIzkpGUXR4="


class BlobBackendType(StrEnum):
    """The storage backends ``BLOB_BACKEND_TYPE`` may name."""

    LOCAL = "local"
    S3 = "s3"
    GCS = "gcs"
    AZURE = "azure"


class BlobSettings(BaseSettings):
    """Everything the blob layer reads from the environment.

    ``blob_backend_type`` is kept as a plain string on purpose: an unknown value is reported by
    :func:`matyan_store.blobs.open_blob_store` as one clear error naming ``BLOB_BACKEND_TYPE``, in
    the same place as every other "this store cannot be used" problem.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # The reference defaults to "s3"; here the embedded single-machine setup is the default, and it
    # keeps blobs in a local directory (docs/storage.md, Blobs).
    blob_backend_type: str = "local"

    # local
    blob_local_dir: str = ""
    matyan_data_dir: str = "matyan-data"

    # s3 (names and defaults as in the reference, docs/configuration.md)
    s3_endpoint: str = "http://localhost:9000"
    s3_access_key: str = Field(default="rustfsadmin", repr=False)
    s3_secret_key: str = Field(default="rustfsadmin", repr=False)
    s3_bucket: str = "matyan-artifacts"
    s3_region: str = "us-east-1"

    # gcs: credentials come from Application Default Credentials, as in the reference.
    gcs_bucket: str = "matyan-artifacts"
    gcs_project: str = Field(default="", validation_alias=AliasChoices("gcs_project", "google_cloud_project"))
    storage_emulator_host: str = ""

    # azure: a connection string wins; otherwise the account URL with a key, or with
    # DefaultAzureCredential when no key is given (as in the reference).
    azure_conn_str: str = Field(default="", repr=False)
    azure_account_url: str = ""
    azure_account_name: str = ""
    azure_account_key: str = Field(default="", repr=False)
    azure_container: str = "matyan-artifacts"

    # signed blob URIs
    blob_uri_secret: str = Field(default=DEV_BLOB_URI_SECRET, repr=False)
    blob_uri_ttl_seconds: int = Field(default=24 * 3600, gt=0)

    # operations
    blob_open_timeout_seconds: float = Field(default=15.0, gt=0)
    blob_io_threads: int = Field(default=16, ge=1)

    @classmethod
    def from_values(cls, **values: Any) -> BlobSettings:
        """Settings from ``values`` and the defaults only, ignoring environment variables and ``.env``.

        For tests and tools that configure a store explicitly and must not be redirected by
        whatever happens to be set in the process environment.
        """
        return _ExplicitBlobSettings(**values)

    def local_dir(self) -> Path:
        """The directory of the ``local`` backend: ``BLOB_LOCAL_DIR``, else ``<MATYAN_DATA_DIR>/blobs``."""
        if self.blob_local_dir:
            return Path(self.blob_local_dir).expanduser()
        return Path(self.matyan_data_dir).expanduser() / "blobs"


class _ExplicitBlobSettings(BlobSettings):
    """BlobSettings whose only source is the constructor's arguments (see ``from_values``)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)
