"""Exceptions raised by the blob storage layer.

Every error the layer raises on purpose derives from :class:`BlobError`, so callers can catch the
whole family in one place; the more specific classes also derive from the matching built-in
(``ValueError``, ``FileNotFoundError``) so generic handlers keep working.
"""

from __future__ import annotations


class BlobError(Exception):
    """Base class of every error raised on purpose by :mod:`matyan_store.blobs`."""


class InvalidBlobKeyError(BlobError, ValueError):
    """A blob key or prefix is empty, absolute, or would escape the bucket root."""


class BlobNotFoundError(BlobError, FileNotFoundError):
    """The blob named by a key does not exist."""

    def __init__(self, key: str) -> None:
        super().__init__(f"blob not found: {key!r}")
        self.key = key


class BlobStoreOpenError(BlobError):
    """The configured blob store cannot be used: bad settings, missing bucket, unreachable, or denied."""


class BlobUriError(BlobError, ValueError):
    """A signed blob URI cannot be resolved."""


class InvalidBlobUriError(BlobUriError):
    """The token is malformed, tampered with, signed with another secret, or of the wrong kind."""


class ExpiredBlobUriError(BlobUriError):
    """The token is authentic but older than its time to live."""


class BlobUriSecretError(BlobError, ValueError):
    """``BLOB_URI_SECRET`` is empty or not a Fernet key."""
