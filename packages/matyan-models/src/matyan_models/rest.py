"""REST run-creation bodies of matyan-api-models 0.2.1 (nothing in client or frontier 0.3.0 uses them)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from matyan_models.typing import validate_hex_run_id


class RunCreateRequest(BaseModel):
    """Body of a REST run creation.

    As in 0.2.1, ``id`` is required and must be 32 lowercase hex characters (``uuid4().hex``); ``None`` is a
    type error here (only the unused ``typing.RunId`` alias turns ``None`` into a new id).
    """

    id: str
    project: str = Field(min_length=1)
    experiment: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str

    @field_validator("id")
    @classmethod
    def validate_id(cls, value: str) -> str:
        return validate_hex_run_id(value)


class RunCreateResponse(BaseModel):
    creation_timestamp: int


__all__ = ["RunCreateRequest", "RunCreateResponse"]
