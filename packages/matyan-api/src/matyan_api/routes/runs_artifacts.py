"""Artifact downloads of a run: one file as raw bytes, or all of them as a zip.

See docs/http-contract.md, Routes.

Artifacts are the run's ``attrs["__blobs__"]`` entries outside ``seq/`` (the same list the info route
shows). Bytes are streamed from the blob store in chunks; the zip is built on the fly (entries
stored uncompressed with Zip64 headers, mode 0o600, mtime now), so neither is held in memory whole.

Artifact paths, keys and content types are recorded by clients, so they are untrusted:

- only a key under the run's own ``<run_id>/`` prefix is served (another run's blob is "not found");
- zip entry names are made relative and traversal-free (:func:`zip_entry_name`), duplicates numbered;
- every download is ``Content-Disposition: attachment`` with ``X-Content-Type-Options: nosniff``, so a
  ``text/html`` artifact is never rendered by the browser in the API's origin;
- a stored content type that is not a valid media type (CR/LF, ...) is served as
  ``application/octet-stream``.
"""

from __future__ import annotations

import io
import re
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
from matyan_api.routes.runs_info import artifact_refs
from matyan_models.sequence_kinds import BLOBS_ATTR
from matyan_store.blobs import BlobError, BlobReader, BlobStore, key_in_run
from matyan_store.engine import ReadTransaction
from matyan_store.runs import get_run_attrs

__all__ = ["content_disposition", "router", "safe_content_type", "zip_entry_name"]

router = APIRouter(prefix="/runs", tags=["runs"])

DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"
# A regular file readable and writable by its owner only.
_ZIP_FILE_MODE: Final = 0o100600
_NO_SNIFF: Final = {"X-Content-Type-Options": "nosniff"}
# RFC 9110 media type: type "/" subtype *( ";" parameter ), tokens and quoted strings only.
_TOKEN: Final = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED: Final = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"'
_MEDIA_TYPE: Final = re.compile(rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))*")
_DRIVE: Final = re.compile(r"^[A-Za-z]:")
_FALLBACK_NAME: Final = "artifact"


def safe_content_type(content_type: str | None) -> str:
    """The stored content type if it is a valid media type, else ``application/octet-stream``."""
    if content_type and _MEDIA_TYPE.fullmatch(content_type):
        return content_type
    return DEFAULT_CONTENT_TYPE


def zip_entry_name(path: str, taken: set[str]) -> str:
    """A safe, unused zip entry name for an artifact path; adds it to ``taken``.

    Backslashes count as separators; empty, ``.`` and ``..`` segments, a leading ``/`` and a drive
    letter are dropped and control characters replaced, so an entry can only extract below the
    directory it is unpacked into. A name already used gets `` (2)``, `` (3)``, ... before its suffix.
    """
    cleaned = "".join("_" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in path.replace("\\", "/"))
    segments = [seg for seg in cleaned.split("/") if seg not in ("", ".", "..")]
    if segments and _DRIVE.match(segments[0]):
        segments[0] = segments[0][2:]
        if not segments[0]:
            segments.pop(0)
    name = "/".join(segments) or _FALLBACK_NAME
    if name in taken:
        head, dot, suffix = name.rpartition(".")
        if not head or "/" in suffix:
            head, dot, suffix = name, "", ""
        number = 2
        while (candidate := f"{head} ({number}){dot}{suffix}") in taken:
            number += 1
        name = candidate
    taken.add(name)
    return name


def content_disposition(filename: str) -> str:
    """``attachment; filename="<name>"``, plus an RFC 5987 ``filename*`` when the name is not plain ASCII."""
    filename = filename or _FALLBACK_NAME
    plain = filename.isascii() and filename.isprintable() and '"' not in filename and "\\" not in filename
    if plain:
        return f'attachment; filename="{filename}"'
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def _artifacts(engine: EngineDep, run_id: str) -> dict[str, dict[str, Any]]:
    """The run's artifacts whose blob lies under its own prefix (404 for a missing run)."""

    def read(tr: ReadTransaction) -> Any:
        require_run(tr, run_id)
        return get_run_attrs(tr, run_id, (BLOBS_ATTR,))

    refs = artifact_refs(await engine.aread(read))
    return {path: ref for path, ref in refs.items() if key_in_run(ref["key"], run_id)}


async def _chunks(reader: BlobReader) -> AsyncIterator[bytes]:
    async with reader:
        async for chunk in reader:
            yield chunk


@router.get(
    "/{run_id}/artifacts/download/",
    response_class=StreamingResponse,
    responses={200: {"content": {DEFAULT_CONTENT_TYPE: {}}, "description": "The artifact's bytes."}},
)
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
    filename = zip_entry_name(path, set()).rsplit("/", 1)[-1]
    return StreamingResponse(
        _chunks(reader),
        media_type=safe_content_type(ref["content_type"]),
        headers={"Content-Disposition": content_disposition(filename), **_NO_SNIFF},
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
    taken: set[str] = set()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for path, ref in refs.items():
            try:
                reader = await blobs.open_stream(ref["key"])
            except BlobError as exc:
                # The listing was already promised; a blob gone since is left out rather than
                # cutting the download short.
                logger.warning("artifact {!r} of run {!r} is not in the blob store: {}", path, run_id, exc)
                continue
            info = zipfile.ZipInfo(zip_entry_name(path, taken), date_time=now)
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


@router.get(
    "/{run_id}/artifacts/download-all/",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "Every artifact in one zip."}},
)
async def download_all_artifacts(run_id: str, engine: EngineDep, blobs: BlobsDep) -> StreamingResponse:
    """Every artifact of the run in one zip named ``<run_id>-artifacts.zip``; 404 if there are none."""
    refs = await _artifacts(engine, run_id)
    if not refs:
        raise ApiError(404)
    return StreamingResponse(
        _zip_stream(refs, blobs, run_id),
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(f"{run_id}-artifacts.zip"), **_NO_SNIFF},
    )
