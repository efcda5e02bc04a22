"""Dashboards, dashboard apps, reports, notes and project settings against the real LMDB engine."""

from __future__ import annotations

import pytest
from store_bookkeeping_fixtures import Boom, all_keys, kv

from matyan_store.engine import Engine, Transaction
from matyan_store.entities import (
    DEFAULT_PROJECT_NAME,
    EntityExists,
    EntityNotFound,
    InvalidEntity,
    create_dashboard,
    create_dashboard_app,
    create_note,
    create_report,
    delete_dashboard,
    delete_dashboard_app,
    delete_note,
    delete_notes_for_run,
    delete_report,
    get_dashboard,
    get_dashboard_app,
    get_note,
    get_pinned_sequences,
    get_project,
    get_report,
    list_dashboard_apps,
    list_dashboards,
    list_notes,
    list_notes_for_experiment,
    list_notes_for_run,
    list_reports,
    set_pinned_sequences,
    set_project,
    update_dashboard,
    update_dashboard_app,
    update_note,
    update_report,
)
from matyan_store.entities.common import CHUNK_BYTES

__all__ = ["kv"]


# -- dashboards ---------------------------------------------------------------------------------------


def test_dashboard_crud_soft_delete_and_partial_update(kv: Engine) -> None:
    d = kv.transact(lambda tr: create_dashboard(tr, "board", None, app_id="app-1"))
    assert (d.name, d.description, d.app_id, d.archived) == ("board", "", "app-1", False)
    assert d.created_at > 0
    assert kv.read(lambda tr: get_dashboard(tr, d.id)) == d
    old, new = kv.transact(lambda tr: update_dashboard(tr, d.id, description="about"))
    assert old == d
    assert (new.name, new.description, new.app_id) == ("board", "about", "app-1")
    _, soft = kv.transact(lambda tr: update_dashboard(tr, d.id, archived=True))
    assert soft.archived
    assert soft.description == "about"
    assert kv.read(lambda tr: list_dashboards(tr, include_archived=False)) == []
    assert kv.read(list_dashboards) == [soft]
    _, unlinked = kv.transact(lambda tr: update_dashboard(tr, d.id, app_id=None))
    assert unlinked.app_id is None
    assert unlinked.archived
    assert kv.transact(lambda tr: delete_dashboard(tr, d.id)) == unlinked
    assert kv.read(lambda tr: get_dashboard(tr, d.id)) is None
    with pytest.raises(EntityNotFound, match="Dashboard 'x' not found"):
        kv.transact(lambda tr: update_dashboard(tr, "x", name="n"))
    with pytest.raises(EntityNotFound):
        kv.transact(lambda tr: delete_dashboard(tr, d.id))
    assert all_keys(kv) == []


def test_dashboard_ids_preserved_and_unique(kv: Engine) -> None:
    d = kv.transact(lambda tr: create_dashboard(tr, "b", dashboard_id="dash-9", created_at=5.0))
    assert (d.id, d.created_at, d.updated_at) == ("dash-9", 5.0, 5.0)
    with pytest.raises(EntityExists, match="Dashboard with id 'dash-9' already exists"):
        kv.transact(lambda tr: create_dashboard(tr, "other", dashboard_id="dash-9"))
    assert kv.read(lambda tr: get_dashboard(tr, "dash-9")) == d


def test_dashboard_app_state_round_trips_and_replaces_wholesale(kv: Engine) -> None:
    state = {"chart": {"zoom": [1, 2.5], "smooth": None}, "query": "run.hparams.lr > 0.1", "on": True}
    app = kv.transact(lambda tr: create_dashboard_app(tr, "metrics", state, app_id="app-1"))
    assert app.id == "app-1"
    assert app.dashboard_id is None
    assert kv.read(lambda tr: get_dashboard_app(tr, "app-1")) == app
    _, new = kv.transact(lambda tr: update_dashboard_app(tr, app.id, state={"only": 1}))
    assert new.state == {"only": 1}
    assert new.type == "metrics"
    _, typed = kv.transact(lambda tr: update_dashboard_app(tr, app.id, type="images", dashboard_id="d1"))
    assert (typed.type, typed.state, typed.dashboard_id) == ("images", {"only": 1}, "d1")
    empty = kv.transact(lambda tr: create_dashboard_app(tr, "params"))
    assert empty.state == {}
    assert [a.id for a in kv.read(list_dashboard_apps)] == sorted([app.id, empty.id])
    with pytest.raises(InvalidEntity, match="state must be a dict"):
        kv.transact(lambda tr: create_dashboard_app(tr, "metrics", [1, 2]))  # type: ignore[arg-type]
    kv.transact(lambda tr: delete_dashboard_app(tr, app.id))
    assert kv.read(lambda tr: get_dashboard_app(tr, app.id)) is None
    with pytest.raises(EntityNotFound, match="Dashboard app 'app-1' not found"):
        kv.transact(lambda tr: delete_dashboard_app(tr, app.id))


def test_large_app_state_spans_several_values(kv: Engine) -> None:
    # Bigger than one engine value (100 kB): stored in parts, read back whole.
    state = {"rows": [f"row-{i:06d}" for i in range(30_000)]}
    app = kv.transact(lambda tr: create_dashboard_app(tr, "table", state))
    assert len(all_keys(kv)) >= 3
    assert kv.read(lambda tr: get_dashboard_app(tr, app.id)) == app
    # Shrinking it drops the trailing parts.
    kv.transact(lambda tr: update_dashboard_app(tr, app.id, state={"rows": []}))
    assert len(all_keys(kv)) == 1
    assert kv.read(list_dashboard_apps)[0].state == {"rows": []}
    assert CHUNK_BYTES < 100_000


# -- reports ------------------------------------------------------------------------------------------


def test_report_crud(kv: Engine) -> None:
    r = kv.transact(lambda tr: create_report(tr, "weekly", "# hi", None))
    assert (r.name, r.code, r.description) == ("weekly", "# hi", "")
    _, new = kv.transact(lambda tr: update_report(tr, r.id, code="# bye"))
    assert (new.name, new.code, new.description) == ("weekly", "# bye", "")
    assert new.updated_at >= r.updated_at
    assert new.created_at == r.created_at
    kept = kv.transact(lambda tr: create_report(tr, "restored", report_id="rep-1", created_at=1.0))
    assert kept.id == "rep-1"
    with pytest.raises(EntityExists):
        kv.transact(lambda tr: create_report(tr, "again", report_id="rep-1"))
    assert [x.id for x in kv.read(list_reports)] == sorted([r.id, "rep-1"])
    assert kv.transact(lambda tr: delete_report(tr, r.id)) == new
    assert kv.read(lambda tr: get_report(tr, r.id)) is None
    with pytest.raises(EntityNotFound, match="Report"):
        kv.transact(lambda tr: update_report(tr, r.id, name="x"))


# -- notes --------------------------------------------------------------------------------------------


def test_notes_by_owner(kv: Engine) -> None:
    def setup(tr: Transaction) -> None:
        create_note(tr, content="r1-b", run_id="run-1", note_id="b")
        create_note(tr, content="r1-a", run_id="run-1", note_id="a")
        create_note(tr, content="r2", run_id="run-2", note_id="c")
        create_note(tr, content="e1", experiment_id="exp-1", note_id="d")

    kv.transact(setup)
    assert [n.content for n in kv.read(lambda tr: list_notes_for_run(tr, "run-1"))] == ["r1-a", "r1-b"]
    assert [n.id for n in kv.read(lambda tr: list_notes_for_run(tr, "run-2"))] == ["c"]
    assert [n.id for n in kv.read(lambda tr: list_notes_for_experiment(tr, "exp-1"))] == ["d"]
    assert kv.read(lambda tr: list_notes_for_run(tr, "unknown")) == []
    assert kv.read(lambda tr: list_notes_for_experiment(tr, "run-1")) == []
    assert [n.id for n in kv.read(list_notes)] == ["a", "b", "c", "d"]
    note = kv.read(lambda tr: get_note(tr, "d"))
    assert note is not None
    assert note.experiment_id == "exp-1"
    assert note.run_id is None
    assert note.to_dict()["content"] == "e1"


def test_note_update_delete_and_run_cleanup(kv: Engine) -> None:
    n = kv.transact(lambda tr: create_note(tr, content="draft", run_id="run-1"))
    old, new = kv.transact(lambda tr: update_note(tr, n.id, content="final"))
    assert old == n
    assert new.content == "final"
    assert new.run_id == "run-1"
    assert kv.read(lambda tr: list_notes_for_run(tr, "run-1")) == [new]
    kv.transact(lambda tr: delete_note(tr, n.id))
    assert kv.read(lambda tr: get_note(tr, n.id)) is None
    assert kv.read(lambda tr: list_notes_for_run(tr, "run-1")) == []
    with pytest.raises(EntityNotFound, match=f"Note '{n.id}' not found"):
        kv.transact(lambda tr: delete_note(tr, n.id))
    with pytest.raises(EntityNotFound):
        kv.transact(lambda tr: update_note(tr, n.id, content="x"))

    kv.transact(lambda tr: [create_note(tr, content=str(i), run_id="run-2") for i in range(3)])
    other = kv.transact(lambda tr: create_note(tr, content="other", run_id="run-3"))
    assert kv.transact(lambda tr: delete_notes_for_run(tr, "run-2")) == 3
    assert kv.read(lambda tr: list_notes_for_run(tr, "run-2")) == []
    assert kv.read(list_notes) == [other]
    assert kv.transact(lambda tr: delete_notes_for_run(tr, "run-2")) == 0


def test_note_needs_an_owner_and_keeps_given_id(kv: Engine) -> None:
    with pytest.raises(InvalidEntity, match="owner"):
        kv.transact(lambda tr: create_note(tr, content="orphan"))
    n = kv.transact(lambda tr: create_note(tr, content="x", run_id="r", note_id="note-1", created_at=3.0))
    assert (n.id, n.created_at) == ("note-1", 3.0)
    with pytest.raises(EntityExists, match="Note with id 'note-1'"):
        kv.transact(lambda tr: create_note(tr, content="y", experiment_id="e", note_id="note-1"))
    # The refused note left no owner entry for "e".
    assert kv.read(lambda tr: list_notes_for_experiment(tr, "e")) == []


# -- project ------------------------------------------------------------------------------------------


def test_project_defaults_and_updates(kv: Engine) -> None:
    assert kv.read(get_project) == {
        "name": DEFAULT_PROJECT_NAME,
        "path": "",
        "description": "",
        "telemetry_enabled": 0,
    }
    saved = kv.transact(lambda tr: set_project(tr, name="Vision", description="cats"))
    assert saved["name"] == "Vision"
    assert saved["description"] == "cats"
    kv.transact(lambda tr: set_project(tr, description="dogs", owner="ml-team"))
    info = kv.read(get_project)
    assert (info["name"], info["description"], info["owner"], info["path"]) == (
        "Vision",
        "dogs",
        "ml-team",
        "",
    )
    kv.transact(lambda tr: set_project(tr, name=None, owner=None))
    info = kv.read(get_project)
    assert info["name"] == DEFAULT_PROJECT_NAME
    assert "owner" not in info
    assert info["description"] == "dogs"
    kv.transact(lambda tr: set_project(tr, name=""))
    assert kv.read(get_project)["name"] == DEFAULT_PROJECT_NAME


def test_pinned_sequences_round_trip(kv: Engine) -> None:
    assert kv.read(get_pinned_sequences) == []
    pinned = [{"name": "loss", "context": {"subset": "train"}}, {"name": "acc", "context": {}}]
    assert kv.transact(lambda tr: set_pinned_sequences(tr, pinned)) == pinned
    assert kv.read(get_pinned_sequences) == pinned
    kv.transact(lambda tr: set_pinned_sequences(tr, []))
    assert kv.read(get_pinned_sequences) == []
    with pytest.raises(InvalidEntity):
        kv.transact(lambda tr: set_pinned_sequences(tr, {"name": "x"}))  # type: ignore[arg-type]


# -- atomicity ----------------------------------------------------------------------------------------


def test_failed_transaction_leaves_no_documents(kv: Engine) -> None:
    report = kv.transact(lambda tr: create_report(tr, "keep"))

    def fails(tr: Transaction) -> None:
        create_dashboard(tr, "d")
        create_dashboard_app(tr, "metrics", {"a": 1})
        create_note(tr, content="n", run_id="r")
        update_report(tr, report.id, name="changed")
        set_project(tr, name="changed")
        set_pinned_sequences(tr, [{"name": "loss", "context": {}}])
        delete_notes_for_run(tr, "r")
        raise Boom

    before = all_keys(kv)
    with pytest.raises(Boom):
        kv.transact(fails)
    assert all_keys(kv) == before
    assert kv.read(lambda tr: get_report(tr, report.id)) == report
    assert kv.read(get_project)["name"] == DEFAULT_PROJECT_NAME
    assert kv.read(get_pinned_sequences) == []
