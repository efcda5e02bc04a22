"""Legacy REST response bodies of matyan-api-models 0.2.1 (unused by the released UI and client)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ReadMetricResponse(BaseModel):
    value: float
    timestamp: int


class ReadHParamsResponse(BaseModel):
    value: dict[Any, Any]


class LogHParamsResponse(BaseModel):
    status: int


class LogMetricResponse(BaseModel):
    status: int


__all__ = ["LogHParamsResponse", "LogMetricResponse", "ReadHParamsResponse", "ReadMetricResponse"]
