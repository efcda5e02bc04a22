"""Blob storage: one interface over a local directory, S3, GCS and Azure (fsspec), plus signed URIs.

Typical use::

    settings = BlobSettings()                      # BLOB_BACKEND_TYPE, S3_*, GCS_*, AZURE_*, ...
    store = await open_blob_store_async(settings)  # fails now, with one clear error, if unusable
    await store.put("run1/model.pt", data)
    async for chunk in store.stream("run1/model.pt"):
        ...
    signer = BlobUriSigner.from_settings(settings)
    token = signer.make_blob_uri("run1/model.pt")
    key = signer.resolve_blob_uri(token)
"""

from .errors import (
    BlobError,
    BlobNotFoundError,
    BlobStoreOpenError,
    BlobUriError,
    BlobUriSecretError,
    ExpiredBlobUriError,
    InvalidBlobKeyError,
    InvalidBlobUriError,
)
from .keys import key_in_run, run_prefix, validate_key, validate_prefix
from .settings import DEV_BLOB_URI_SECRET, BlobBackendType, BlobSettings
from .store import (
    DEFAULT_CHUNK_SIZE,
    BlobReader,
    BlobStore,
    SyncBlobStore,
    open_blob_store,
    open_blob_store_async,
    open_sync_blob_store,
)
from .uris import BlobUriSigner, SeqBlobRef

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEV_BLOB_URI_SECRET",
    "BlobBackendType",
    "BlobError",
    "BlobNotFoundError",
    "BlobReader",
    "BlobSettings",
    "BlobStore",
    "BlobStoreOpenError",
    "BlobUriError",
    "BlobUriSecretError",
    "BlobUriSigner",
    "ExpiredBlobUriError",
    "InvalidBlobKeyError",
    "InvalidBlobUriError",
    "SeqBlobRef",
    "SyncBlobStore",
    "key_in_run",
    "open_blob_store",
    "open_blob_store_async",
    "open_sync_blob_store",
    "run_prefix",
    "validate_key",
    "validate_prefix",
]
