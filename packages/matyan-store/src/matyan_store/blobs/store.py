"""The blob store: one interface over the local directory, S3, GCS and Azure backends.

:class:`SyncBlobStore` does the work through fsspec's synchronous API (the cloud filesystems run
their own event loop in a background thread). :class:`BlobStore` is the interface for asyncio code:
every call is handed to a dedicated thread pool, so blob I/O never blocks the event loop and never
starves other users of the default executor.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import functools
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import IO, Any, Self

from loguru import logger

from .backends import Backend, build_backend, probe
from .errors import BlobError, BlobNotFoundError, BlobStoreOpenError
from .keys import PARTIAL_MARKER, validate_key, validate_prefix
from .settings import BlobBackendType, BlobSettings

DEFAULT_CHUNK_SIZE = 1024 * 1024
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Bulk deletes are sent in slices of this many keys: S3's DeleteObjects accepts at most 1000.
_DELETE_BATCH = 1000

Bytes = bytes | bytearray | memoryview


class SyncBlobStore:
    """Blocking blob operations; use from worker threads, the CLI, or through :class:`BlobStore`."""

    def __init__(self, backend: Backend) -> None:
        """Wrap an already built (and normally probed) backend; see :func:`open_sync_blob_store`."""
        self._backend = backend
        self._fs: Any = backend.fs
        self._local = backend.kind is BlobBackendType.LOCAL

    @property
    def kind(self) -> BlobBackendType:
        """Which backend this store talks to."""
        return self._backend.kind

    @property
    def root(self) -> str:
        """The bucket, container, or absolute local directory holding the blobs."""
        return self._backend.root

    def display_uri(self, key: str) -> str:
        """The ``s3://bucket/key`` / ``gs://`` / ``azure://container/key`` / ``file://`` form of a key."""
        return f"{self._backend.display_scheme}{self._backend.path(validate_key(key))}"

    # -- writing -----------------------------------------------------------------------------

    def put(self, key: str, data: Bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        """Store ``data`` under ``key``, replacing any previous blob; readers never see a partial blob."""
        path = self._backend.path(validate_key(key))
        payload = bytes(data)
        if self._local:
            self._put_local(path, payload)
        else:
            # Object stores replace objects atomically; the content type is metadata only (the API
            # serves artifacts with the type recorded in the run's __blobs__ attribute).
            self._fs.pipe_file(path, payload, **self._backend.content_type_kwargs(content_type))

    def _put_local(self, path: str, payload: bytes) -> None:
        directory = os.path.dirname(path)
        tmp = os.path.join(directory, f"{PARTIAL_MARKER}{uuid.uuid4().hex}")
        for attempt in range(3):
            try:
                os.makedirs(directory, exist_ok=True)
                with open(tmp, "wb") as f:
                    f.write(payload)
                os.replace(tmp, path)
                return
            except FileNotFoundError:
                # A concurrent delete pruned the freshly created directory; create it again.
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                if attempt == 2:
                    raise
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise

    # -- reading -----------------------------------------------------------------------------

    def get(self, key: str) -> bytes:
        """Return the whole blob; raise :class:`BlobNotFoundError` if it does not exist."""
        path = self._backend.path(validate_key(key))
        try:
            data: bytes = self._fs.cat_file(path)
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise BlobNotFoundError(key) from exc
        return data

    def open_read(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> IO[bytes]:
        """Open a blob for sequential reading; raise :class:`BlobNotFoundError` if it does not exist."""
        path = self._backend.path(validate_key(key))
        try:
            if self._local:
                return open(path, "rb")  # the caller owns and closes the handle
            # cache_type="none": each read() becomes exactly one ranged GET of the size asked for,
            # which is what a chunked stream wants (no read-ahead double buffering).
            handle: IO[bytes] = self._fs.open(path, "rb", block_size=chunk_size, cache_type="none")
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise BlobNotFoundError(key) from exc
        return handle

    def iter_chunks(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the blob in chunks of at most ``chunk_size`` bytes (opening it eagerly)."""
        handle = self.open_read(key, chunk_size)
        return _chunks(handle, chunk_size)

    def exists(self, key: str) -> bool:
        """Whether a blob (not merely a "directory" of blobs) exists under ``key``."""
        return self._file_info(validate_key(key)) is not None

    def size(self, key: str) -> int:
        """The blob's size in bytes; raise :class:`BlobNotFoundError` if it does not exist."""
        info = self._file_info(validate_key(key))
        if info is None:
            raise BlobNotFoundError(key)
        return int(info["size"])

    def _file_info(self, key: str) -> dict[str, Any] | None:
        try:
            info: dict[str, Any] = self._fs.info(self._backend.path(key))
        except FileNotFoundError:
            return None
        return info if info.get("type") == "file" else None

    def list(self, prefix: str = "") -> list[str]:
        """All keys below ``prefix`` (recursively), relative to the store root, sorted.

        ``prefix`` names a directory: ``"run1"`` and ``"run1/"`` list ``run1/...`` and never
        ``run10/...``. The empty prefix lists the whole store.
        """
        prefix = validate_prefix(prefix, allow_empty=True)
        base = self._backend.path(prefix)
        try:
            found: Iterable[str] = self._fs.find(base, withdirs=False)
        except FileNotFoundError:
            return []
        strip = self._backend.root + "/"
        under = strip + prefix + "/" if prefix else strip
        keys = []
        for full in found:
            full = full.rstrip("/")
            if not full.startswith(under):
                continue
            key = full[len(strip) :]
            if self._local and os.path.basename(key).startswith(PARTIAL_MARKER):
                continue
            keys.append(key)
        return sorted(keys)

    # -- deleting ----------------------------------------------------------------------------

    def delete(self, key: str) -> None:
        """Delete one blob; a missing blob is not an error."""
        path = self._backend.path(validate_key(key))
        if self._local:
            self._delete_local(path)
            return
        with contextlib.suppress(FileNotFoundError):
            self._fs.rm_file(path)

    def _delete_local(self, path: str) -> bool:
        try:
            os.unlink(path)
        except (FileNotFoundError, IsADirectoryError):
            return False
        # Prune emptied run directories so deleted runs leave nothing behind; rmdir refuses
        # non-empty directories, which is exactly the stop condition.
        parent = os.path.dirname(path)
        while parent != self._backend.root and parent.startswith(self._backend.root + "/"):
            try:
                os.rmdir(parent)
            except OSError:
                break
            parent = os.path.dirname(parent)
        return True

    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete the given blobs in batches; return how many were deleted without error.

        Missing keys are not errors. On object stores a key that did not exist may count as
        deleted (S3 reports no difference), as in the reference backend.
        """
        valid = [validate_key(k) for k in keys]
        if self._local:
            return sum(self._delete_local(self._backend.path(k)) for k in valid)
        deleted = 0
        for start in range(0, len(valid), _DELETE_BATCH):
            batch = valid[start : start + _DELETE_BATCH]
            try:
                self._fs.rm([self._backend.path(k) for k in batch])
                deleted += len(batch)
            except Exception as exc:
                # The bulk call does not say which keys failed; retry one by one to count exactly.
                logger.warning("bulk blob delete failed ({}), retrying key by key", exc)
                deleted += self._delete_each(batch)
        return deleted

    def _delete_each(self, keys: builtins.list[str]) -> int:
        deleted = 0
        for key in keys:
            try:
                self._fs.rm_file(self._backend.path(key))
                deleted += 1
            except FileNotFoundError:
                continue
            except Exception as exc:
                logger.warning("could not delete blob {!r}: {}", key, exc)
        return deleted

    def delete_prefix(self, prefix: str) -> int:
        """Delete every blob below ``prefix`` (directory semantics, see :meth:`list`); return the count.

        The empty prefix is refused: wiping a whole store takes an explicit loop over :meth:`list`.
        """
        prefix = validate_prefix(prefix, allow_empty=False)
        return self.delete_many(self.list(prefix))

    def close(self) -> None:
        """Release the filesystem; the store must not be used afterwards."""
        self._fs = None


def _chunks(handle: IO[bytes], chunk_size: int) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(chunk_size):
            yield chunk


class BlobReader:
    """An open blob, read as an async iterator of chunks; close it with ``aclose`` or ``async with``."""

    def __init__(self, store: BlobStore, handle: IO[bytes], chunk_size: int) -> None:
        """Use :meth:`BlobStore.open_stream` rather than constructing this directly."""
        self._store = store
        self._handle: IO[bytes] | None = handle
        self._chunk_size = chunk_size

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        if self._handle is None:
            raise StopAsyncIteration
        chunk = await self._store._run(self._handle.read, self._chunk_size)
        if not chunk:
            await self.aclose()
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        """Close the underlying handle; idempotent."""
        handle, self._handle = self._handle, None
        if handle is not None:
            await self._store._run(handle.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class BlobStore:
    """The asyncio interface to blob storage. Every method runs the blocking call on a private pool.

    Obtain one with :func:`open_blob_store`; the blocking API is available as :attr:`sync`.
    """

    def __init__(self, sync: SyncBlobStore, *, io_threads: int = 16) -> None:
        """Wrap ``sync``; blocking calls run on a pool of ``io_threads`` threads."""
        self._sync = sync
        self._executor = ThreadPoolExecutor(max_workers=io_threads, thread_name_prefix="blob-io")

    @property
    def sync(self) -> SyncBlobStore:
        """The blocking interface over the same backend (for threads, the CLI, backups)."""
        return self._sync

    @property
    def kind(self) -> BlobBackendType:
        """Which backend this store talks to."""
        return self._sync.kind

    def display_uri(self, key: str) -> str:
        """See :meth:`SyncBlobStore.display_uri` (pure string work, no I/O)."""
        return self._sync.display_uri(key)

    async def _run[**P, R](self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def put(self, key: str, data: Bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        """Store ``data`` under ``key``, replacing any previous blob."""
        await self._run(self._sync.put, key, data, content_type)

    async def get(self, key: str) -> bytes:
        """Return the whole blob; raise :class:`BlobNotFoundError` if missing."""
        return await self._run(self._sync.get, key)

    async def open_stream(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> BlobReader:
        """Open a blob for chunked reading; raises :class:`BlobNotFoundError` now, before any chunk.

        Opening eagerly lets an HTTP handler answer 404 before it starts a streaming response.
        """
        handle = await self._run(self._sync.open_read, key, chunk_size)
        return BlobReader(self, handle, chunk_size)

    async def stream(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Yield the blob in chunks of at most ``chunk_size`` bytes (for large blobs)."""
        async with await self.open_stream(key, chunk_size) as reader:
            async for chunk in reader:
                yield chunk

    async def exists(self, key: str) -> bool:
        """Whether a blob exists under ``key``."""
        return await self._run(self._sync.exists, key)

    async def size(self, key: str) -> int:
        """The blob's size in bytes; raise :class:`BlobNotFoundError` if missing."""
        return await self._run(self._sync.size, key)

    async def list(self, prefix: str = "") -> builtins.list[str]:
        """All keys below ``prefix``, relative to the store root, sorted (see :meth:`SyncBlobStore.list`)."""
        return await self._run(self._sync.list, prefix)

    async def delete(self, key: str) -> None:
        """Delete one blob; a missing blob is not an error."""
        await self._run(self._sync.delete, key)

    async def delete_many(self, keys: Iterable[str]) -> int:
        """Delete the given blobs; return how many were deleted without error."""
        return await self._run(self._sync.delete_many, list(keys))

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every blob below ``prefix``; return how many were deleted."""
        return await self._run(self._sync.delete_prefix, prefix)

    async def aclose(self) -> None:
        """Stop the private thread pool and release the filesystem."""
        await asyncio.to_thread(self._executor.shutdown, wait=True)
        self._sync.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def open_sync_blob_store(settings: BlobSettings | None = None) -> SyncBlobStore:
    """Build the configured backend and probe it; raise one :class:`BlobStoreOpenError` if unusable.

    The error names the setting at fault: an unknown ``BLOB_BACKEND_TYPE``, an empty bucket or
    container, a bucket/container that does not exist, denied credentials, or an endpoint that does
    not answer within ``BLOB_OPEN_TIMEOUT_SECONDS``.
    """
    settings = settings if settings is not None else BlobSettings()
    try:
        backend = build_backend(settings)
    except BlobError:
        raise
    except Exception as exc:
        raise BlobStoreOpenError(
            f"cannot configure BLOB_BACKEND_TYPE={settings.blob_backend_type}: {type(exc).__name__}: {exc}"
        ) from exc
    probe(backend, settings.blob_open_timeout_seconds)
    logger.info("blob store opened: {}", backend.describe)
    return SyncBlobStore(backend)


def open_blob_store(settings: BlobSettings | None = None) -> BlobStore:
    """Open the configured blob store for asyncio use (this call itself blocks while probing).

    Fails at once with one :class:`BlobStoreOpenError`; see :func:`open_sync_blob_store`.
    """
    settings = settings if settings is not None else BlobSettings()
    return BlobStore(open_sync_blob_store(settings), io_threads=settings.blob_io_threads)


async def open_blob_store_async(settings: BlobSettings | None = None) -> BlobStore:
    """:func:`open_blob_store` without blocking the running event loop (e.g. in an app lifespan)."""
    return await asyncio.to_thread(open_blob_store, settings)
