"""The non-streaming run routes (docs/http-contract.md, Routes) gathered into one router under ``/runs``.

The artifact downloads (raw bytes, a zip) are here too; the binary-codec streams (search, active,
logs, custom objects) live elsewhere.
"""

from __future__ import annotations

from fastapi import APIRouter

from matyan_api.routes import (
    runs_artifacts,
    runs_info,
    runs_metrics_json,
    runs_notes,
    runs_tags,
    runs_update,
)

__all__ = ["router"]

router = APIRouter()
for _part in (runs_update, runs_info, runs_tags, runs_notes, runs_metrics_json, runs_artifacts):
    router.include_router(_part.router)
