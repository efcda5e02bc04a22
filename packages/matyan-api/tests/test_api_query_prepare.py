"""Query preparation: prefix, rewrites, the archived default and syntax errors.

See docs/http-contract.md, Query language.
"""

from __future__ import annotations

import ast

import pytest

from matyan_api.query import QuerySyntaxError, RunView, extract_expression, prepare_query


def test_select_if_prefix() -> None:
    assert extract_expression("SELECT metric IF run.name == 'a'") == "run.name == 'a'"
    assert extract_expression("select anything if  x > 1 ") == "x > 1"
    assert extract_expression("SELECT metric") == ""
    assert extract_expression("  select x if y") == "select x if y"  # the prefix test does not trim
    assert extract_expression("  run.name == 'a' ") == "run.name == 'a'"


def test_empty_query_is_just_not_archived() -> None:
    assert prepare_query("").unparse() == "run.is_archived == False"
    assert prepare_query(None).unparse() == "run.is_archived == False"
    assert prepare_query("SELECT metric").unparse() == "run.is_archived == False"


def test_archived_default_is_added_unless_compared() -> None:
    assert prepare_query("run.name == 'a'").unparse() == "run.is_archived == False and run.name == 'a'"
    assert prepare_query("run.archived == True").unparse() == "run.archived == True"
    assert prepare_query("True == run.is_archived").unparse() == "True == run.is_archived"
    assert prepare_query("run.is_archived in [True, False]").unparse() == "run.is_archived in [True, False]"
    # Not a comparison operand: the default still applies.
    assert prepare_query("run.archived").unparse() == "run.is_archived == False and run.archived"
    assert prepare_query("run['archived'] == True").unparse().startswith("run.is_archived == False and")


def test_chained_comparisons_become_ands() -> None:
    tree = prepare_query("0 < run.hparams.lr <= 1", tz_offset_minutes=0).tree
    assert ast.unparse(tree) == "run.is_archived == False and (0 < run.hparams.lr and run.hparams.lr <= 1)"
    three = prepare_query("run.archived == 1 < 2 < 3").unparse()
    assert three == "run.archived == 1 and 1 < 2 and (2 < 3)"


@pytest.mark.parametrize(("offset", "stamp"), [(0, 1773100800.0), (-180, 1773090000.0), (180, 1773111600.0)])
def test_datetime_literals_use_the_js_offset_convention(offset: int, stamp: float) -> None:
    query = prepare_query("run.created_at >= datetime(2026, 3, 10)", tz_offset_minutes=offset)
    assert query.unparse() == f"run.is_archived == False and run.created_at >= {stamp}"


def test_non_literal_datetime_stays_a_call_and_never_matches() -> None:
    query = prepare_query("run.created_at >= datetime(2026, 3, run.hparams.day)")
    assert "datetime(" in query.unparse()
    run = RunView("h", {"created_at": 2e9}, {"hparams": {"day": 1}})
    assert query.evaluate(run) is False  # datetime vs float comparison raises
    assert "datetime(2026, 13, 1)" in prepare_query("run.created_at > datetime(2026, 13, 1)").unparse()


def test_python_syntax_error_body() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        prepare_query("run.name ==")
    err = info.value
    assert err.message.startswith("Invalid query syntax: ")
    assert err.line == 1
    assert err.offset is not None
    assert err.statement == "run.name =="
    body = err.to_body()
    assert body == {"error": {"code": "bad_request", "message": err.message}, "detail": err.message}
    assert err.details()["name"] == "SyntaxError"


@pytest.mark.parametrize(
    "text",
    [
        "run._x == 1",
        "run.__class__",
        "__import__('os')",
        "run.hparams.__dict__",
        "(x for x in [1]).gi_frame",
        "f'{run.name:>{9}}' == ''",
        "f'{run.name:>99999999}' == ''",
    ],
)
def test_restricted_compile_errors_are_syntax_errors(text: str) -> None:
    with pytest.raises(QuerySyntaxError, match=r".+"):
        prepare_query(text)


def test_sequence_names_are_recorded() -> None:
    assert prepare_query("metric.name == 'loss'").sequence_names == frozenset({"metric"})
    assert prepare_query("images.context.subset == 'train'").sequence_names == frozenset({"images"})
    assert not prepare_query("run.name == 'metric.x'").has_sequence_predicate
