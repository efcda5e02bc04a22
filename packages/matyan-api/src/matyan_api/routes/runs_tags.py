"""Tags on a run: add by name (creating the tag if needed) and remove by id (docs/http-contract.md, Routes).

Both are idempotent in the store: adding a tag twice links it once and counts the run once; removing
a tag that is not linked changes nothing.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from matyan_api.deps import EngineDep
from matyan_api.errors import ApiError
from matyan_api.routes.runs_common import require_run
from matyan_store import entities
from matyan_store.engine import Transaction
from matyan_store.runs import add_run_tag, remove_run_tag

__all__ = ["RunTagAddedOut", "RunTagIn", "RunTagRemovedOut", "router"]

router = APIRouter(prefix="/runs", tags=["runs"])


class RunTagIn(BaseModel):
    """Body of ``POST /runs/{run_id}/tags/new/``."""

    tag_name: str


class RunTagAddedOut(BaseModel):
    """Answer of a tag's addition: the run, the (found or created) tag and ``"OK"``."""

    id: str
    tag_id: str
    status: str = "OK"


class RunTagRemovedOut(BaseModel):
    """Answer of a tag's removal; ``removed`` is always true."""

    id: str
    removed: bool = True
    status: str = "OK"


@router.post("/{run_id}/tags/new/")
async def add_tag_to_run(run_id: str, body: RunTagIn, engine: EngineDep) -> RunTagAddedOut:
    """Link the tag named ``tag_name`` (trimmed; created if absent) to the run; 404 for a missing run."""
    name = body.tag_name.strip()
    if not name:
        raise ApiError(422, "tag_name must not be empty")

    def apply(tr: Transaction) -> str:
        require_run(tr, run_id)
        tag = entities.get_tag_by_name(tr, name)
        tag_id = entities.create_tag(tr, name).id if tag is None else tag.id
        add_run_tag(tr, run_id, tag_id)
        return tag_id

    tag_id = await engine.atransact(apply)
    return RunTagAddedOut(id=run_id, tag_id=tag_id)


@router.delete("/{run_id}/tags/{tag_id}/")
async def remove_tag_from_run(run_id: str, tag_id: str, engine: EngineDep) -> RunTagRemovedOut:
    """Unlink a tag from the run; ``removed`` is true even if it was not linked. 404 for a missing run."""

    def apply(tr: Transaction) -> None:
        require_run(tr, run_id)
        remove_run_tag(tr, run_id, tag_id)

    await engine.atransact(apply)
    return RunTagRemovedOut(id=run_id)
