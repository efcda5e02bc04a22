"""Entities: experiments, tags, dashboards, dashboard apps, reports, notes and the project settings.

Every function takes a transaction first and never opens one, so callers combine entity writes with
run, index and offset writes atomically::

    exp = engine.transact(lambda tr: create_experiment(tr, "baseline"))
    old, new = engine.transact(lambda tr: update_experiment(tr, exp.id, archived=True))

Errors: :class:`EntityExists` (a ``ValueError``; its message is the API's, e.g. ``Experiment with name
'x' already exists``), :class:`EntityNotFound` (a ``KeyError``) and :class:`InvalidEntity` (a
``ValueError``), all :class:`EntityError`, distinct from the engines' ``StoreError``. Updates take
keyword fields defaulting to :data:`UNSET` and change only what is given. See :mod:`.common` for the
key layout.
"""

from matyan_store.entities.common import (
    UNSET,
    EntityError,
    EntityExists,
    EntityNotFound,
    InvalidEntity,
    Unset,
)
from matyan_store.entities.dashboards import (
    Dashboard,
    DashboardApp,
    create_dashboard,
    create_dashboard_app,
    delete_dashboard,
    delete_dashboard_app,
    get_dashboard,
    get_dashboard_app,
    list_dashboard_apps,
    list_dashboards,
    update_dashboard,
    update_dashboard_app,
)
from matyan_store.entities.experiments import (
    Experiment,
    adjust_experiment_run_count,
    create_experiment,
    delete_experiment,
    get_experiment,
    get_experiment_by_name,
    list_experiments,
    set_experiment_run_count,
    update_experiment,
)
from matyan_store.entities.notes import (
    Note,
    create_note,
    delete_note,
    delete_notes_for_experiment,
    delete_notes_for_run,
    get_note,
    list_notes,
    list_notes_for_experiment,
    list_notes_for_run,
    update_note,
)
from matyan_store.entities.project import (
    DEFAULT_PROJECT_NAME,
    get_pinned_sequences,
    get_project,
    set_pinned_sequences,
    set_project,
)
from matyan_store.entities.reports import (
    Report,
    create_report,
    delete_report,
    get_report,
    list_reports,
    update_report,
)
from matyan_store.entities.tags import (
    Tag,
    adjust_tag_run_count,
    create_tag,
    delete_tag,
    get_tag,
    get_tag_by_name,
    list_tags,
    set_tag_run_count,
    update_tag,
)

__all__ = [
    "DEFAULT_PROJECT_NAME",
    "UNSET",
    "Dashboard",
    "DashboardApp",
    "EntityError",
    "EntityExists",
    "EntityNotFound",
    "Experiment",
    "InvalidEntity",
    "Note",
    "Report",
    "Tag",
    "Unset",
    "adjust_experiment_run_count",
    "adjust_tag_run_count",
    "create_dashboard",
    "create_dashboard_app",
    "create_experiment",
    "create_note",
    "create_report",
    "create_tag",
    "delete_dashboard",
    "delete_dashboard_app",
    "delete_experiment",
    "delete_note",
    "delete_notes_for_experiment",
    "delete_notes_for_run",
    "delete_report",
    "delete_tag",
    "get_dashboard",
    "get_dashboard_app",
    "get_experiment",
    "get_experiment_by_name",
    "get_note",
    "get_pinned_sequences",
    "get_project",
    "get_report",
    "get_tag",
    "get_tag_by_name",
    "list_dashboard_apps",
    "list_dashboards",
    "list_experiments",
    "list_notes",
    "list_notes_for_experiment",
    "list_notes_for_run",
    "list_reports",
    "list_tags",
    "set_experiment_run_count",
    "set_pinned_sequences",
    "set_project",
    "set_tag_run_count",
    "update_dashboard",
    "update_dashboard_app",
    "update_experiment",
    "update_note",
    "update_report",
    "update_tag",
]
