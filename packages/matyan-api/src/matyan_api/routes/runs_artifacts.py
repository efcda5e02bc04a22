"""Artifact downloads of a run: one file as raw bytes, or all of them as a zip.

See docs/http-contract.md, Routes.

Artifacts are the run's ``attrs["__blobs__"]`` entries outside ``seq/`` (the same list the info route
shows). Bytes are streamed from the blob store in chunks; the zip is built on the fly (entries
stored uncompressed with Zip64 headers, mode 0o600, mtime now), so neither is held in memory whole.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from loguru import logger

from matyan_api.deps import BlobsDep, EngineDep
from matyan_api.errors import ApiError
from matyan_api.routes.runs_common import require_run
from matyan_api.routes.runs_info import BLOBS_ATTR, artifact_refs
from matyan_store.blobs import BlobError, BlobReader, BlobStore
from matyan_store.engine import ReadTransaction
from matyan_store.runs import get_run_attrs

__all__ = ["content_disposition", "router"]

router = APIRouter(prefix="/runs", tags=["runs"])

DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"
# A regular file readable and writable by its owner only.
_ZIP_FILE_MODE: Final = 0o100600


def content_disposition(filename: str) -> str:
    """``attachment; filename="<name>"``, plus an RFC 5987 ``filename*`` when the name is not plain ASCII."""
    plain = filename.isascii() and filename.isprintable() and '"' not in filename and "\\" not in filename
    if plain:
        return f'attachment; filename="{filename}"'
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def _artifacts(engine: EngineDep, run_id: str) -> dict[str, dict[str, Any]]:
    def read(tr: ReadTransaction) -> Any:
        require_run(tr, run_id)
        return get_run_attrs(tr, run_id, (BLOBS_ATTR,))

    return artifact_refs(await engine.aread(read))


async def _chunks(reader: BlobReader) -> AsyncIterator[bytes]:
    async with reader:
        async for chunk in reader:
            yield chunk


@router.get("/{run_id}/artifacts/download/")
async def download_artifact(
    run_id: str, path: Annotated[str, Query()], engine: EngineDep, blobs: BlobsDep
) -> StreamingResponse:
    """The artifact's bytes with its content type; 404 if the run, the artifact or its blob is missing."""
    ref = (await _artifacts(engine, run_id)).get(path)
    if ref is None:
        raise ApiError(404)
    try:
        reader = await blobs.open_stream(ref["key"])
    except BlobError:  # missing, or a key the store refuses
        raise ApiError(404) from None
    return StreamingResponse(
        _chunks(reader),
        media_type=ref["content_type"] or DEFAULT_CONTENT_TYPE,
        headers={"Content-Disposition": content_disposition(path.rsplit("/", 1)[-1])},
    )


class _Sink(io.RawIOBase):
    """An unseekable in-memory sink that ``zipfile`` writes into and the response drains."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._buffer += chunk
        self._written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        # zipfile records entry offsets from tell(); an unseekable stream only needs the byte count.
        return self._written

    def drain(self) -> bytes:
        out = bytes(self._buffer)
        self._buffer.clear()
        return out


async def _zip_stream(
    refs: Mapping[str, dict[str, Any]], blobs: BlobStore, run_id: str
) -> AsyncIterator[bytes]:
    sink = _Sink()
    t = time.localtime()
    now = (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for path, ref in refs.items():
            try:
                reader = await blobs.open_stream(ref["key"])
            except BlobError as exc:
                # The listing was already promised; a blob gone since is left out rather than
                # cutting the download short.
                logger.warning("artifact {!r} of run {!r} is not in the blob store: {}", path, run_id, exc)
                continue
            info = zipfile.ZipInfo(path, date_time=now)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = _ZIP_FILE_MODE << 16
            with archive.open(info, mode="w", force_zip64=True) as entry:
                async for chunk in _chunks(reader):
                    entry.write(chunk)
                    if data := sink.drain():
                        yield data
            if data := sink.drain():
                yield data
    if data := sink.drain():
        yield data


@router.get("/{run_id}/artifacts/download-all/")
async def download_all_artifacts(run_id: str, engine: EngineDep, blobs: BlobsDep) -> StreamingResponse:
    """Every artifact of the run in one zip named ``<run_id>-artifacts.zip``; 404 if there are none."""
    refs = await _artifacts(engine, run_id)
    if not refs:
        raise ApiError(404)
    return StreamingResponse(
        _zip_stream(refs, blobs, run_id),
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(f"{run_id}-artifacts.zip")},
    )
