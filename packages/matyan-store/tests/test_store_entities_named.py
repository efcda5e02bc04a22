"""Experiments and tags: unique names, partial updates, renames, deletes, ids kept, run counts, atomicity."""

from __future__ import annotations

import uuid

import pytest
from store_bookkeeping_fixtures import Boom, all_keys, kv

from matyan_store.engine import Engine, StoreError, Transaction
from matyan_store.entities import (
    UNSET,
    EntityError,
    EntityExists,
    EntityNotFound,
    Experiment,
    InvalidEntity,
    adjust_experiment_run_count,
    adjust_tag_run_count,
    create_experiment,
    create_note,
    create_tag,
    delete_experiment,
    delete_tag,
    get_experiment,
    get_experiment_by_name,
    get_note,
    get_tag,
    get_tag_by_name,
    list_experiments,
    list_notes_for_experiment,
    list_tags,
    set_experiment_run_count,
    set_tag_run_count,
    update_experiment,
    update_tag,
)

__all__ = ["kv"]


def stored_experiment(kv: Engine, experiment_id: str) -> Experiment:
    exp = kv.read(lambda tr: get_experiment(tr, experiment_id))
    assert exp is not None
    return exp


def test_create_and_get_experiment(kv: Engine) -> None:
    exp = kv.transact(lambda tr: create_experiment(tr, "baseline", "first try"))
    uuid.UUID(exp.id)  # a uuid4 string
    assert exp.name == "baseline"
    assert exp.description == "first try"
    assert exp.run_count == 0
    assert exp.archived is False
    assert exp.created_at > 0
    assert exp.updated_at == exp.created_at
    assert kv.read(lambda tr: get_experiment(tr, exp.id)) == exp
    assert kv.read(lambda tr: get_experiment_by_name(tr, "baseline")) == exp
    assert kv.read(lambda tr: get_experiment(tr, str(uuid.uuid4()))) is None
    assert kv.read(lambda tr: get_experiment_by_name(tr, "Baseline")) is None
    assert exp.to_dict() == {
        "id": exp.id,
        "name": "baseline",
        "description": "first try",
        "archived": False,
        "run_count": 0,
        "created_at": exp.created_at,
        "updated_at": exp.updated_at,
    }


def test_duplicate_experiment_name_names_entity_and_name(kv: Engine) -> None:
    kv.transact(lambda tr: create_experiment(tr, "dup"))
    with pytest.raises(EntityExists) as info:
        kv.transact(lambda tr: create_experiment(tr, "dup"))
    assert str(info.value) == "Experiment with name 'dup' already exists"
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, EntityError)
    assert not isinstance(info.value, StoreError)
    assert len(kv.read(list_experiments)) == 1


def test_duplicate_tag_name_message(kv: Engine) -> None:
    kv.transact(lambda tr: create_tag(tr, "release"))
    with pytest.raises(EntityExists, match=r"^Tag with name 'release' already exists$"):
        kv.transact(lambda tr: create_tag(tr, "release", "red"))


def test_given_ids_are_kept_and_cannot_be_reused(kv: Engine) -> None:
    exp = kv.transact(lambda tr: create_experiment(tr, "a", experiment_id="exp-1", created_at=123.5))
    tag = kv.transact(lambda tr: create_tag(tr, "t", tag_id="tag-1", created_at=7.0, updated_at=8.0))
    assert (exp.id, exp.created_at, exp.updated_at) == ("exp-1", 123.5, 123.5)
    assert (tag.id, tag.created_at, tag.updated_at) == ("tag-1", 7.0, 8.0)
    assert kv.read(lambda tr: get_experiment(tr, "exp-1")) == exp
    with pytest.raises(EntityExists, match="Experiment with id 'exp-1' already exists"):
        kv.transact(lambda tr: create_experiment(tr, "other", experiment_id="exp-1"))
    with pytest.raises(EntityExists, match="Tag with id 'tag-1'"):
        kv.transact(lambda tr: create_tag(tr, "other", tag_id="tag-1"))
    # The refused creates left no name entry behind.
    assert kv.read(lambda tr: get_experiment_by_name(tr, "other")) is None


@pytest.mark.parametrize("bad", ["", "x" * 3000])
def test_invalid_names_are_refused(kv: Engine, bad: str) -> None:
    with pytest.raises(InvalidEntity):
        kv.transact(lambda tr: create_experiment(tr, bad))
    with pytest.raises(InvalidEntity):
        kv.transact(lambda tr: create_tag(tr, bad))
    assert all_keys(kv) == []


def test_partial_update_changes_only_given_fields(kv: Engine) -> None:
    exp = kv.transact(lambda tr: create_experiment(tr, "e", "keep me", created_at=100.0))
    old, new = kv.transact(lambda tr: update_experiment(tr, exp.id, archived=True))
    assert old == exp
    assert new.archived is True
    assert new.description == "keep me"
    assert new.name == "e"
    assert new.created_at == 100.0
    assert new.updated_at > 100.0
    # None behaves as "not given" for these non-nullable fields.
    _, newer = kv.transact(lambda tr: update_experiment(tr, exp.id, name=None, description=None))
    assert (newer.name, newer.description, newer.archived) == ("e", "keep me", True)
    _, cleared = kv.transact(lambda tr: update_experiment(tr, exp.id, description=""))
    assert cleared.description == ""
    assert kv.read(lambda tr: get_experiment(tr, exp.id)) == cleared


def test_rename_moves_the_unique_name(kv: Engine) -> None:
    exp = kv.transact(lambda tr: create_experiment(tr, "old"))
    _, new = kv.transact(lambda tr: update_experiment(tr, exp.id, name="new"))
    assert new.name == "new"
    assert kv.read(lambda tr: get_experiment_by_name(tr, "old")) is None
    assert kv.read(lambda tr: get_experiment_by_name(tr, "new")) == new
    # The old name is free again.
    again = kv.transact(lambda tr: create_experiment(tr, "old"))
    assert again.id != exp.id
    # Renaming to its own name is fine.
    kv.transact(lambda tr: update_experiment(tr, exp.id, name="new"))


def test_rename_onto_taken_name_fails_and_changes_nothing(kv: Engine) -> None:
    a = kv.transact(lambda tr: create_experiment(tr, "a"))
    b = kv.transact(lambda tr: create_experiment(tr, "b"))
    with pytest.raises(EntityExists, match="Experiment with name 'b' already exists"):
        kv.transact(lambda tr: update_experiment(tr, a.id, name="b", description="changed"))
    assert kv.read(lambda tr: get_experiment(tr, a.id)) == a
    assert kv.read(lambda tr: get_experiment_by_name(tr, "b")) == b
    with pytest.raises(InvalidEntity):
        kv.transact(lambda tr: update_experiment(tr, a.id, name=""))


def test_update_and_delete_of_missing_raise_not_found(kv: Engine) -> None:
    with pytest.raises(EntityNotFound) as info:
        kv.transact(lambda tr: update_experiment(tr, "nope", name="x"))
    assert str(info.value) == "Experiment 'nope' not found"
    assert isinstance(info.value, KeyError)
    with pytest.raises(EntityNotFound, match="Tag 'nope' not found"):
        kv.transact(lambda tr: delete_tag(tr, "nope"))
    with pytest.raises(EntityNotFound):
        kv.transact(lambda tr: delete_experiment(tr, "nope"))
    with pytest.raises(EntityNotFound):
        kv.transact(lambda tr: update_tag(tr, "nope", color="red"))


def test_delete_experiment_removes_entity_name_count_and_its_notes(kv: Engine) -> None:
    exp = kv.transact(lambda tr: create_experiment(tr, "gone"))
    keep = kv.transact(lambda tr: create_experiment(tr, "kept"))
    kv.transact(lambda tr: adjust_experiment_run_count(tr, exp.id, 3))
    note = kv.transact(lambda tr: create_note(tr, content="n", experiment_id=exp.id))
    other_note = kv.transact(lambda tr: create_note(tr, content="m", experiment_id=keep.id))
    removed = kv.transact(lambda tr: delete_experiment(tr, exp.id))
    assert removed.id == exp.id
    assert removed.run_count == 3
    assert kv.read(lambda tr: get_experiment(tr, exp.id)) is None
    assert kv.read(lambda tr: get_experiment_by_name(tr, "gone")) is None
    assert kv.read(lambda tr: get_note(tr, note.id)) is None
    assert kv.read(lambda tr: list_notes_for_experiment(tr, exp.id)) == []
    assert kv.read(lambda tr: get_note(tr, other_note.id)) == other_note
    assert [e.id for e in kv.read(list_experiments)] == [keep.id]
    # Recreated under the same id (a restore), it starts from zero runs, not the old counter.
    again = kv.transact(lambda tr: create_experiment(tr, "gone", experiment_id=exp.id))
    assert again.run_count == 0


def test_list_is_ordered_by_id_with_counts(kv: Engine) -> None:
    ids = ["c", "a", "b"]
    kv.transact(lambda tr: [create_experiment(tr, f"name-{i}", experiment_id=i) for i in ids])
    kv.transact(lambda tr: adjust_experiment_run_count(tr, "b", 2))
    listed = kv.read(list_experiments)
    assert [e.id for e in listed] == ["a", "b", "c"]
    assert [e.run_count for e in listed] == [0, 2, 0]
    assert all(isinstance(e, Experiment) for e in listed)


def test_run_count_adjusts_and_clamps_at_zero(kv: Engine) -> None:
    exp = kv.transact(lambda tr: create_experiment(tr, "e"))
    kv.transact(lambda tr: adjust_experiment_run_count(tr, exp.id, +1))
    kv.transact(lambda tr: adjust_experiment_run_count(tr, exp.id, +1))
    assert stored_experiment(kv, exp.id).run_count == 2
    kv.transact(lambda tr: adjust_experiment_run_count(tr, exp.id, -5))
    assert stored_experiment(kv, exp.id).run_count == 0
    # After a clamp the count is really 0, not -3: one more run counts as one.
    kv.transact(lambda tr: adjust_experiment_run_count(tr, exp.id, +1))
    assert stored_experiment(kv, exp.id).run_count == 1
    kv.transact(lambda tr: set_experiment_run_count(tr, exp.id, 42))
    assert stored_experiment(kv, exp.id).run_count == 42
    with pytest.raises(ValueError, match=">= 0"):
        kv.transact(lambda tr: set_experiment_run_count(tr, exp.id, -1))


def test_adjusting_a_missing_entity_writes_nothing(kv: Engine) -> None:
    kv.transact(lambda tr: adjust_experiment_run_count(tr, "ghost", +1))
    kv.transact(lambda tr: adjust_tag_run_count(tr, "ghost", +1))
    kv.transact(lambda tr: set_tag_run_count(tr, "ghost", 3))
    assert all_keys(kv) == []


def test_tag_crud_and_partial_update(kv: Engine) -> None:
    tag = kv.transact(lambda tr: create_tag(tr, "release", "#f00", "shipped"))
    assert (tag.color, tag.description, tag.archived, tag.run_count) == ("#f00", "shipped", False, 0)
    old, new = kv.transact(lambda tr: update_tag(tr, tag.id, color="#0f0", archived=UNSET))
    assert old == tag
    assert (new.name, new.color, new.description, new.archived) == ("release", "#0f0", "shipped", False)
    _, renamed = kv.transact(lambda tr: update_tag(tr, tag.id, name="release-2", archived=True))
    assert kv.read(lambda tr: get_tag_by_name(tr, "release")) is None
    assert kv.read(lambda tr: get_tag_by_name(tr, "release-2")) == renamed
    assert renamed.archived is True
    assert renamed.color == "#0f0"
    kv.transact(lambda tr: adjust_tag_run_count(tr, tag.id, 2))
    kv.transact(lambda tr: adjust_tag_run_count(tr, tag.id, -1))
    counted = kv.read(lambda tr: get_tag(tr, tag.id))
    assert counted is not None
    assert counted.run_count == 1
    none_tag = kv.transact(lambda tr: create_tag(tr, "plain", None, None))
    assert (none_tag.color, none_tag.description) == ("", "")
    assert [t.id for t in kv.read(list_tags)] == sorted([tag.id, none_tag.id])
    removed = kv.transact(lambda tr: delete_tag(tr, tag.id))
    assert removed.name == "release-2"
    assert kv.read(lambda tr: get_tag(tr, tag.id)) is None
    assert kv.read(lambda tr: get_tag_by_name(tr, "release-2")) is None
    kv.transact(lambda tr: delete_tag(tr, none_tag.id))
    assert all_keys(kv) == []


def test_exception_inside_transaction_leaves_nothing(kv: Engine) -> None:
    exp = kv.transact(lambda tr: create_experiment(tr, "stable", "before"))

    def fails(tr: Transaction) -> None:
        create_experiment(tr, "half-done")
        create_tag(tr, "half-tag")
        update_experiment(tr, exp.id, name="renamed", description="after")
        adjust_experiment_run_count(tr, exp.id, 5)
        raise Boom

    before = all_keys(kv)
    with pytest.raises(Boom):
        kv.transact(fails)
    assert all_keys(kv) == before
    assert kv.read(lambda tr: get_experiment(tr, exp.id)) == exp
    assert kv.read(lambda tr: get_experiment_by_name(tr, "half-done")) is None
    assert kv.read(lambda tr: get_tag_by_name(tr, "half-tag")) is None
    assert kv.read(lambda tr: get_experiment_by_name(tr, "renamed")) is None


def test_deleting_everything_leaves_an_empty_store(kv: Engine) -> None:
    exp = kv.transact(lambda tr: create_experiment(tr, "e"))
    kv.transact(lambda tr: adjust_experiment_run_count(tr, exp.id, 2))
    kv.transact(lambda tr: update_experiment(tr, exp.id, name="f"))
    kv.transact(lambda tr: delete_experiment(tr, exp.id))
    assert all_keys(kv) == []


def test_long_ids_and_names_read_as_missing(kv: Engine) -> None:
    huge = "x" * 20_000  # longer than a key may be: a lookup answers "missing", not an engine error
    assert kv.read(lambda tr: get_experiment(tr, huge)) is None
    assert kv.read(lambda tr: get_experiment_by_name(tr, huge)) is None
    assert kv.read(lambda tr: get_tag(tr, huge)) is None
    with pytest.raises(InvalidEntity):
        kv.transact(lambda tr: create_experiment(tr, "ok", experiment_id=huge))
