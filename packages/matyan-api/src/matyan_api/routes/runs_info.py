"""``GET /runs/{run_id}/info/``: a run's params, traces per sequence type, props and artifacts.

See docs/http-contract.md, Routes.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from matyan_api.deps import BlobsDep, EngineDep
from matyan_api.json_encoding import SafeJSONResponse, json_safe
from matyan_api.routes.runs_common import json_number, require_run
from matyan_api.routes.runs_props import RunPropsOut, run_props
from matyan_models.sequence_kinds import (
    BLOBS_ATTR,
    SEQUENCE_KINDS,
    SYSTEM_PARAMS_ATTR,
    SequenceKind,
    sequence_kind,
)
from matyan_store.blobs import BlobError, BlobStore
from matyan_store.engine import ReadTransaction
from matyan_store.runs import get_contexts, get_run_attrs
from matyan_store.sequences import SeriesKey, SeriesSummary, list_run_series

__all__ = [
    "ArtifactOut",
    "RunInfoOut",
    "TraceSummaryOut",
    "artifact_refs",
    "artifacts_json",
    "json_safe",
    "router",
    "traces_json",
]

router = APIRouter(prefix="/runs", tags=["runs"])

# Custom-object blobs are recorded under ``seq/...`` and are not artifacts of their own.
_SEQ_BLOB_PREFIX = "seq/"


class TraceSummaryOut(BaseModel):
    """One series in the info's ``traces``; ``last_value`` is 0.0 when not a number, null when not finite."""

    name: str
    context: dict[str, Any]
    last_value: float | None


class ArtifactOut(BaseModel):
    """One artifact of the run: file name, path and the blob's display URI."""

    name: str
    path: str
    uri: str


class RunInfoOut(BaseModel):
    """``GET /runs/{run_id}/info/``; ``traces`` holds the requested sequence types, in canonical order."""

    params: dict[str, Any]
    traces: dict[SequenceKind, list[TraceSummaryOut]]
    props: RunPropsOut
    artifacts: list[ArtifactOut]


def _last_value(value: Any) -> float | None:
    # Our rule (docs/http-contract.md, Quirk decisions): the stored last value, else 0.0 (objects, custom
    # series). A non-finite float has no JSON form and comes out as null rather than a made-up number.
    number = json_number(value)
    if number is None and not (isinstance(value, float) and not math.isfinite(value)):
        return 0.0
    return number


def traces_json(
    series: list[tuple[SeriesKey, SeriesSummary]],
    contexts: Mapping[int, dict[str, Any]],
    buckets: tuple[str, ...],
) -> dict[str, list[dict[str, Any]]]:
    """The info's ``traces``: every series in ``buckets`` as ``{name, context, last_value}``.

    Series come in (context id, name) order, as the store lists them; log series are hidden.
    """
    out: dict[str, list[dict[str, Any]]] = {bucket: [] for bucket in buckets}
    for key, summary in series:
        bucket = sequence_kind(summary.dtype)
        if bucket is None or bucket not in out:
            continue
        out[bucket].append(
            {
                "name": key.name,
                "context": json_safe(contexts.get(key.context_id, {})),
                "last_value": _last_value(summary.last_value),
            }
        )
    return out


def _blob_key(ref: Any) -> str | None:
    if not isinstance(ref, Mapping):
        return None
    # ``blob_key`` is the newer clients' name for ``s3_key``.
    key = ref.get("s3_key") or ref.get("blob_key")
    return key if isinstance(key, str) and key else None


def artifact_refs(blob_refs: Any) -> dict[str, dict[str, Any]]:
    """The run's artifacts by path (sorted): ``{path: {"key", "content_type"}}`` from ``attrs["__blobs__"]``.

    Custom-object blobs (``seq/...``) and entries without a blob key are left out.
    """
    if not isinstance(blob_refs, Mapping):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in blob_refs if isinstance(p, str)):
        if path.startswith(_SEQ_BLOB_PREFIX):
            continue
        ref = blob_refs[path]
        key = _blob_key(ref)
        if key is None:
            continue
        content_type = ref.get("content_type")
        out[path] = {"key": key, "content_type": content_type if isinstance(content_type, str) else None}
    return out


def artifacts_json(blob_refs: Any, blobs: BlobStore | None) -> list[dict[str, Any]]:
    """The info's ``artifacts``: ``[{name, path, uri}]`` from ``attrs["__blobs__"]``, by path.

    ``uri`` is the backend's display form (``s3://bucket/key``, ``gs://``, ``azure://``, ``file://``).
    """
    out: list[dict[str, Any]] = []
    for path, ref in artifact_refs(blob_refs).items():
        uri = ref["key"]  # a key the store would refuse still names the artifact: shown as recorded
        if blobs is not None:
            with contextlib.suppress(BlobError):
                uri = blobs.display_uri(ref["key"])
        out.append({"name": path.rsplit("/", 1)[-1], "path": path, "uri": uri})
    return out


def _requested_buckets(sequence: list[str] | None) -> tuple[str, ...]:
    if not sequence:
        return SEQUENCE_KINDS
    wanted = set(sequence)
    return tuple(bucket for bucket in SEQUENCE_KINDS if bucket in wanted)


# The model documents the answer; the route renders its plain dict itself: a run may have thousands of
# traces and params, and validating them through the model would only slow the answer down.
@router.get("/{run_id}/info/", response_model=RunInfoOut)
async def get_run_info(
    run_id: str,
    engine: EngineDep,
    blobs: BlobsDep,
    skip_system: bool = False,
    sequence: Annotated[list[str] | None, Query()] = None,
) -> JSONResponse:
    """Params (minus ``__blobs__``, and ``__system_params`` with ``skip_system``), traces, props, artifacts.

    ``sequence`` (repeatable) limits which ``traces`` keys are present. 404 for a missing run or one
    pending deletion.
    """
    buckets = _requested_buckets(sequence)

    def read(tr: ReadTransaction) -> dict[str, Any]:
        meta = require_run(tr, run_id)
        attrs = get_run_attrs(tr, run_id)
        params = dict(attrs) if isinstance(attrs, Mapping) else {}
        blob_refs = params.pop(BLOBS_ATTR, None)
        if skip_system:
            params.pop(SYSTEM_PARAMS_ATTR, None)
        return {
            "params": json_safe(params),
            "traces": traces_json(list_run_series(tr, run_id), get_contexts(tr, run_id), buckets),
            "props": run_props(tr, meta),
            "artifacts": blob_refs,
        }

    info = await engine.aread(read)
    info["artifacts"] = artifacts_json(info["artifacts"], blobs)
    return SafeJSONResponse(info)
