"""``/api/v1/rest/reports``: CRUD of saved reports."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from matyan_api.deps import EngineDep
from matyan_api.routes.entity_common import found_or_404
from matyan_store.engine import ReadTransaction, Transaction
from matyan_store.entities import (
    Report,
    create_report,
    delete_report,
    get_report,
    list_reports,
    update_report,
)

__all__ = ["router"]

router = APIRouter(prefix="/reports", tags=["reports"])


class ReportOut(BaseModel):
    """A report."""

    id: str
    name: str
    code: str | None
    description: str | None
    updated_at: float | None
    created_at: float | None


class ReportCreateIn(BaseModel):
    """``POST /reports/`` body; omitted fields are stored as ``""``."""

    name: str
    code: str | None = None
    description: str | None = None


class ReportUpdateIn(BaseModel):
    """``PUT /reports/{id}/`` body: absent or null fields are left as they are."""

    name: str | None = None
    code: str | None = None
    description: str | None = None


def _out(r: Report) -> ReportOut:
    return ReportOut(
        id=r.id,
        name=r.name,
        code=r.code,
        description=r.description,
        updated_at=r.updated_at,
        created_at=r.created_at,
    )


def _require(tr: ReadTransaction, report_id: str) -> Report:
    return found_or_404(get_report(tr, report_id))


@router.get("/")
async def list_all(engine: EngineDep) -> list[ReportOut]:
    """Every report (ordered by id)."""
    return [_out(r) for r in await engine.aread(list_reports)]


@router.post("/", status_code=status.HTTP_201_CREATED)
async def create(body: ReportCreateIn, engine: EngineDep) -> ReportOut:
    """Create a report."""
    report = await engine.atransact(
        lambda tr: create_report(tr, body.name, body.code or "", body.description or "")
    )
    return _out(report)


@router.get("/{report_id}/")
async def get_one(report_id: str, engine: EngineDep) -> ReportOut:
    """One report, or 404."""
    return _out(await engine.aread(partial(_require, report_id=report_id)))


@router.put("/{report_id}/")
async def update(report_id: str, body: ReportUpdateIn, engine: EngineDep) -> ReportOut:
    """Change the given fields."""

    def write(tr: Transaction) -> Report:
        _require(tr, report_id)
        return update_report(tr, report_id, name=body.name, code=body.code, description=body.description)[1]

    return _out(await engine.atransact(write))


@router.delete("/{report_id}/", status_code=status.HTTP_204_NO_CONTENT)
async def delete(report_id: str, engine: EngineDep) -> Response:
    """Delete the report for good."""

    def write(tr: Transaction) -> None:
        _require(tr, report_id)
        delete_report(tr, report_id)

    await engine.atransact(write)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
