"""The routers mounted under ``/api/v1/rest``, in registration order.

One line per router. Run routes register before the others, as in the reference (route order only
matters among templates of equal shape).
"""

from __future__ import annotations

from fastapi import APIRouter

from matyan_api.routes import (
    blob_batch,
    dashboards,
    experiments,
    projects,
    reports,
    runs,
    runs_custom_objects,
    runs_custom_search,
    runs_logs,
    runs_metric_search,
    runs_search,
    tags,
    version,
)

__all__ = ["REST_PREFIX", "REST_ROUTERS"]

REST_PREFIX = "/api/v1/rest"

REST_ROUTERS: list[APIRouter] = [
    # runs: added by the run-routes work (routes/runs*.py), one line per router, here.
    runs_search.router,
    runs_metric_search.router,
    runs_logs.router,
    runs_custom_search.router,
    blob_batch.router,
    runs_custom_objects.router,
    runs.router,
    projects.router,
    experiments.router,
    tags.router,
    dashboards.router,
    dashboards.apps_router,
    reports.router,
    version.router,
]
