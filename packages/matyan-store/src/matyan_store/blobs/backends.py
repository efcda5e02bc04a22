"""Construction of the fsspec filesystem behind each ``BLOB_BACKEND_TYPE``.

Each backend is reduced to the same few facts: an fsspec filesystem used through its synchronous
API, the root path (bucket, container or directory) that keys are joined onto, the keyword arguments
that carry a content type on upload, a cheap probe proving the root is reachable with the given
credentials, and the ``scheme://root/key`` form shown to users.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from .errors import BlobStoreOpenError
from .settings import BlobBackendType, BlobSettings

# Directory listings are never cached: several processes (API, workers, CLI) write and delete blobs,
# and a stale listing would make delete_prefix miss keys.
_NO_LISTING_CACHE: dict[str, Any] = {"use_listings_cache": False, "skip_instance_cache": True}


@dataclass(frozen=True)
class Backend:
    """A configured, not yet probed, filesystem plus how keys map onto it."""

    kind: BlobBackendType
    fs: Any
    root: str
    display_scheme: str
    describe: str
    content_type_kwargs: Callable[[str], dict[str, Any]] = field(default=lambda _ct: {})

    def path(self, key: str) -> str:
        """The filesystem path of an already validated key (or prefix)."""
        return f"{self.root}/{key}" if key else self.root


def build_backend(settings: BlobSettings) -> Backend:
    """Create the filesystem for ``settings.blob_backend_type`` without touching the network.

    Raises :class:`BlobStoreOpenError` for an unknown backend type or a missing bucket/container
    name, with the offending environment variable in the message.
    """
    raw = settings.blob_backend_type.strip().lower()
    try:
        kind = BlobBackendType(raw)
    except ValueError:
        allowed = ", ".join(t.value for t in BlobBackendType)
        raise BlobStoreOpenError(
            f"unknown BLOB_BACKEND_TYPE {settings.blob_backend_type!r}; expected one of: {allowed}"
        ) from None
    match kind:
        case BlobBackendType.LOCAL:
            return _local(settings)
        case BlobBackendType.S3:
            return _s3(settings)
        case BlobBackendType.GCS:
            return _gcs(settings)
        case BlobBackendType.AZURE:
            return _azure(settings)


def _require(value: str, env_name: str, kind: str) -> str:
    value = value.strip()
    if not value:
        raise BlobStoreOpenError(f"BLOB_BACKEND_TYPE={kind} needs {env_name}, which is empty")
    if "/" in value:
        raise BlobStoreOpenError(f"{env_name} must be a bare bucket/container name, got {value!r}")
    return value


def _local(settings: BlobSettings) -> Backend:
    from fsspec.implementations.local import LocalFileSystem

    directory = settings.local_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BlobStoreOpenError(f"local blob directory {str(directory)!r} cannot be created: {exc}") from exc
    root = directory.resolve().as_posix().rstrip("/")
    fs = LocalFileSystem(auto_mkdir=True, **_NO_LISTING_CACHE)
    return Backend(
        kind=BlobBackendType.LOCAL,
        fs=fs,
        root=root,
        display_scheme="file://",
        describe=f"local directory {root!r} (BLOB_LOCAL_DIR)",
    )


def _s3(settings: BlobSettings) -> Backend:
    from s3fs import S3FileSystem

    bucket = _require(settings.s3_bucket, "S3_BUCKET", "s3")
    endpoint = settings.s3_endpoint.strip() or None
    timeout = settings.blob_open_timeout_seconds
    fs = S3FileSystem(
        # Blank credentials fall through to boto's own chain (AWS_ACCESS_KEY_ID, profiles, IAM role).
        key=settings.s3_access_key or None,
        secret=settings.s3_secret_key or None,
        endpoint_url=endpoint,
        client_kwargs={"region_name": settings.s3_region or None},
        config_kwargs={
            "signature_version": "s3v4",
            "connect_timeout": timeout,
            "read_timeout": max(timeout, 60.0),
            # boto retries on top of s3fs's own retry loop; keep the product small so an unreachable
            # endpoint fails in seconds rather than minutes.
            "retries": {"max_attempts": 2, "mode": "standard"},
        },
        **_NO_LISTING_CACHE,
    )
    return Backend(
        kind=BlobBackendType.S3,
        fs=fs,
        root=bucket,
        display_scheme="s3://",
        describe=f"S3 bucket {bucket!r} at S3_ENDPOINT={endpoint or '(AWS default)'!s}",
        content_type_kwargs=lambda ct: {"ContentType": ct},
    )


def _gcs(settings: BlobSettings) -> Backend:
    # The core class on purpose: gcsfs's package-level GCSFileSystem may be an experimental subclass
    # (GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT) that probes each bucket over gRPC and stalls on emulators.
    from gcsfs.core import GCSFileSystem

    bucket = _require(settings.gcs_bucket, "GCS_BUCKET", "gcs")
    emulator = settings.storage_emulator_host.strip()
    if emulator and not emulator.startswith(("http://", "https://")):
        emulator = f"http://{emulator}"
    kwargs: dict[str, Any] = {
        "requests_timeout": max(settings.blob_open_timeout_seconds, 60.0),
        **_NO_LISTING_CACHE,
    }
    if settings.gcs_project:
        # Only object operations are used, which need no project; left out, gcsfs uses the ADC one.
        kwargs["project"] = settings.gcs_project
    if emulator:
        # Emulators accept any request and real credentials would only add an OAuth round trip.
        kwargs.update(endpoint_url=emulator, token="anon")
    fs = GCSFileSystem(**kwargs)
    return Backend(
        kind=BlobBackendType.GCS,
        fs=fs,
        root=bucket,
        display_scheme="gs://",
        describe=f"GCS bucket {bucket!r}" + (f" at STORAGE_EMULATOR_HOST={emulator}" if emulator else ""),
        content_type_kwargs=lambda ct: {"content_type": ct},
    )


def _azure(settings: BlobSettings) -> Backend:
    from adlfs import AzureBlobFileSystem
    from azure.storage.blob import ContentSettings

    container = _require(settings.azure_container, "AZURE_CONTAINER", "azure")
    timeout = int(max(settings.blob_open_timeout_seconds, 1))
    common: dict[str, Any] = {"connection_timeout": timeout, **_NO_LISTING_CACHE}
    url = settings.azure_account_url.strip().rstrip("/")
    if settings.azure_conn_str:
        fs = AzureBlobFileSystem(connection_string=settings.azure_conn_str, **common)
        where = "AZURE_CONN_STR"
    elif url:
        parts = urlsplit(url)
        if not parts.scheme or not parts.netloc:
            raise BlobStoreOpenError(
                f"AZURE_ACCOUNT_URL must be a URL (https://<account>.blob.core.windows.net), got {url!r}"
            )
        account = settings.azure_account_name or _account_from_url(parts.netloc, parts.path)
        if settings.azure_account_key:
            # A connection string is the one adlfs input that keeps both the URL (http for emulators,
            # path-style accounts) and a shared key.
            conn = (
                f"DefaultEndpointsProtocol={parts.scheme};AccountName={account};"
                f"AccountKey={settings.azure_account_key};BlobEndpoint={url};"
            )
            fs = AzureBlobFileSystem(connection_string=conn, **common)
        else:
            from azure.identity.aio import DefaultAzureCredential

            fs = AzureBlobFileSystem(
                account_name=account,
                account_host=parts.netloc + parts.path,
                credential=DefaultAzureCredential(),
                **common,
            )
        where = f"AZURE_ACCOUNT_URL={url}"
    else:
        raise BlobStoreOpenError(
            "BLOB_BACKEND_TYPE=azure needs AZURE_CONN_STR or AZURE_ACCOUNT_URL, both are empty"
        )
    return Backend(
        kind=BlobBackendType.AZURE,
        fs=fs,
        root=container,
        display_scheme="azure://",
        describe=f"Azure container {container!r} ({where.split(';')[0]})",
        content_type_kwargs=lambda ct: {"content_settings": ContentSettings(content_type=ct)},
    )


def _account_from_url(netloc: str, path: str) -> str:
    # Path-style URLs (emulators) carry the account as the first path segment; otherwise it is the
    # first label of <account>.blob.core.windows.net.
    first_segment = path.strip("/").split("/")[0]
    if first_segment:
        return first_segment
    return netloc.split(".")[0].split(":")[0]


def probe(backend: Backend, timeout: float) -> None:
    """Check that the backend's root exists and is readable; raise one :class:`BlobStoreOpenError`.

    The probe runs in a daemon thread with a deadline because the cloud SDKs retry connection
    failures with backoff for tens of seconds; an unreachable endpoint must fail at open time, fast.
    """
    outcome: list[BaseException | dict[str, Any]] = []

    def run() -> None:
        try:
            outcome.append(_probe_once(backend))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, name=f"blob-probe-{backend.kind.value}", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        raise BlobStoreOpenError(
            f"cannot open blob store: {backend.describe} did not answer within {timeout:g}s "
            "(unreachable endpoint? see BLOB_OPEN_TIMEOUT_SECONDS)"
        )
    result = outcome[0]
    if isinstance(result, FileNotFoundError):
        raise BlobStoreOpenError(f"cannot open blob store: {backend.describe} does not exist") from result
    if isinstance(result, PermissionError) or _is_auth_failure(result):
        raise BlobStoreOpenError(
            f"cannot open blob store: access to {backend.describe} denied (check the credentials): {result}"
        ) from result
    if isinstance(result, BaseException):
        raise BlobStoreOpenError(
            f"cannot open blob store: {backend.describe} is unusable: {type(result).__name__}: {result}"
        ) from result
    if result.get("type") != "directory":
        raise BlobStoreOpenError(f"cannot open blob store: {backend.describe} is not a bucket/directory")


def _is_auth_failure(result: object) -> TypeGuard[BaseException]:
    # The SDKs do not share an exception type for "denied": botocore's is translated to
    # PermissionError by s3fs, Azure raises ClientAuthenticationError / HttpResponseError(403),
    # gcsfs raises HttpError with .code.
    if not isinstance(result, BaseException):
        return False
    if type(result).__name__ == "ClientAuthenticationError":
        return True
    status = getattr(result, "status_code", None) or getattr(result, "code", None)
    return status in (401, 403)


def _probe_once(backend: Backend) -> dict[str, Any]:
    if backend.kind is BlobBackendType.LOCAL and not os.access(backend.root, os.R_OK | os.W_OK | os.X_OK):
        raise PermissionError(f"{backend.root} is not readable and writable by this process")
    info: dict[str, Any] = backend.fs.info(backend.root)
    return info
