"""Planner outcomes (docs/http-contract.md, Query language), over a real LMDB store."""

from __future__ import annotations

import pytest
from api_query_store_fixtures import add_run, evaluate_all, evaluate_planned, query_engine

from matyan_api.query import (
    PlanResult,
    has_unindexed_sequence_predicate,
    needs_trace_evaluation,
    plan_query,
    prepare_query,
)
from matyan_store.engine import Engine
from matyan_store.engine.base import Transaction

__all__ = ["query_engine"]


def plan(engine: Engine, text: str) -> PlanResult:
    query = prepare_query(text)
    return engine.read(lambda tr: plan_query(tr, query))


def test_empty_query_lists_non_archived_runs(query_engine: Engine) -> None:
    def setup(tr: Transaction) -> None:
        add_run(tr, "d1", created_at=1.0)
        add_run(tr, "a1", created_at=2.0, archived=True)

    query_engine.transact(setup)
    assert plan(query_engine, "") == PlanResult(["d1"], True, None)
    assert plan(query_engine, "run.is_archived == True") == PlanResult(["a1"], True, None)
    assert plan(query_engine, "run.archived == True") == PlanResult(["a1"], True, None)


def test_hash_predicates(query_engine: Engine) -> None:
    def setup(tr: Transaction) -> None:
        add_run(tr, "abc123", created_at=1.0)
        add_run(tr, "arch", created_at=2.0, archived=True)

    query_engine.transact(setup)
    assert plan(query_engine, "run.hash == 'abc123'") == PlanResult(["abc123"], True, None)
    assert plan(query_engine, "run.hash == 'arch'") == PlanResult([], True, None)
    assert plan(query_engine, "run.hash == 'aaa' and run.hash == 'bbb'") == PlanResult([], True, None)
    both = plan(query_engine, "(run.hash == 'abc123' or run.hash == 'zzz') and run.is_archived == False")
    assert both == PlanResult(["abc123"], True, None)
    # The archived default intersects the unchecked ids with real runs.
    assert plan(query_engine, "run.hash == 'abc123' or run.hash == 'nope'") == PlanResult(
        ["abc123"], True, None
    )
    unchecked = plan(query_engine, "run.hash == 'nope' or run.hash == 'abc123' or run.archived == True")
    assert unchecked == PlanResult(["abc123", "arch", "nope"], True, None)  # unknown ids last


def test_unindexed_predicates_give_a_superset(query_engine: Engine) -> None:
    def setup(tr: Transaction) -> None:
        add_run(tr, "r1", created_at=1.0, name="my run")
        add_run(tr, "r2", created_at=2.0, name="other")
        add_run(tr, "r3", created_at=3.0, archived=True)

    query_engine.transact(setup)
    for text in ("run.name == 'my run'", "run.description == 'x'", "run.hparams.lr != 0.01"):
        result = plan(query_engine, text)
        assert result.candidates == ["r1", "r2"]
        assert not result.exact
    lazy = plan(query_engine, "run.is_archived == False or run.name == 'x'")
    assert lazy == PlanResult(None, False, None)
    assert plan(query_engine, "run.is_archived in [True, False]") == PlanResult(None, False, None)


def test_experiments_tags_active(query_engine: Engine) -> None:
    def setup(tr: Transaction) -> None:
        add_run(tr, "x1", created_at=3.0, experiment="baseline", tags=["good"])
        add_run(tr, "x2", created_at=1.0, experiment="other", tags=["good", "bad"], active=False)
        add_run(tr, "x3", created_at=2.0, experiment="baseline", tags=["bad"], active=False)

    query_engine.transact(setup)
    assert plan(query_engine, "run.experiment == 'baseline'").candidates == ["x3", "x1"]
    assert plan(query_engine, "run.experiment == 'missing'") == PlanResult([], True, None)
    assert plan(query_engine, "'good' in run.tags").candidates == ["x2", "x1"]
    assert plan(query_engine, "'nope' in run.tags").candidates == []
    assert plan(query_engine, "run.active == True").candidates == ["x1"]
    assert plan(query_engine, "run.active == False").candidates == ["x2", "x3"]
    assert plan(query_engine, "run.experiment == 'baseline' and 'bad' in run.tags") == PlanResult(
        ["x3"], True, None
    )
    union = plan(query_engine, "run.experiment == 'other' or 'good' in run.tags or 'bad' in run.tags")
    assert union == PlanResult(["x2", "x3", "x1"], True, None)  # de-duplicated, creation order


def test_hparams_dot_and_bracket(query_engine: Engine) -> None:
    def setup(tr: Transaction) -> None:
        add_run(tr, "hq1", created_at=1.0, hparams={"lr": 0.001, "batch_size": 64, "optimizer": "adam"})
        add_run(tr, "hq2", created_at=2.0, hparams={"lr": 0.01, "batch_size": 32, "optimizer": "sgd"})
        add_run(tr, "hq3", created_at=3.0, hparams={"lr": 1, "batch_size": float("nan")})

    query_engine.transact(setup)
    assert plan(query_engine, "run.hparams.lr == 0.001") == PlanResult(["hq1"], True, None)
    assert plan(query_engine, "run['hparams']['lr'] == 0.001") == PlanResult(["hq1"], True, None)
    assert plan(query_engine, "run.hparams.lr < 0.01").candidates == ["hq1"]
    assert plan(query_engine, "run.hparams.lr <= 0.01").candidates == ["hq1", "hq2"]
    assert plan(query_engine, "run.hparams.lr >= 0.01").candidates == ["hq2", "hq3"]
    assert plan(query_engine, "run.hparams.lr == 1.0").candidates == ["hq3"]  # 1 == 1.0
    assert plan(query_engine, "run.hparams.lr > 0").candidates == ["hq1", "hq2", "hq3"]
    assert plan(query_engine, "run.hparams.optimizer == 'adam'").candidates == ["hq1"]
    assert plan(query_engine, "run.hparams.optimizer > 0").candidates == []
    # NaN cannot be ordered by the index: that run is always a candidate, and the answer not exact.
    bs = plan(query_engine, "run.hparams.batch_size > 32")
    assert bs.candidates == ["hq1", "hq3"]
    assert not bs.exact
    assert query_engine.read(
        lambda tr: evaluate_planned(tr, prepare_query("run.hparams.batch_size > 32"))
    ) == ["hq1"]
    reversed_operands = plan(query_engine, "0.01 > run.hparams.lr")
    assert not reversed_operands.exact


def test_created_at_ranges(query_engine: Engine) -> None:
    def setup(tr: Transaction) -> None:
        for i in range(5):
            add_run(tr, f"c{i}", created_at=100.0 + i)

    query_engine.transact(setup)
    assert plan(query_engine, "run.created_at >= 102").candidates == ["c2", "c3", "c4"]
    assert plan(query_engine, "run.creation_time > 102").candidates == ["c3", "c4"]
    assert plan(query_engine, "run.created_at < 101.5").candidates == ["c0", "c1"]
    assert plan(query_engine, "run.created_at == 103.0") == PlanResult(["c3"], True, None)
    chained = plan(query_engine, "100 < run.created_at <= 101")  # the reversed half is unindexed
    assert chained.candidates == ["c0", "c1"]
    assert not chained.exact


def test_metric_name_predicates(query_engine: Engine) -> None:
    def setup(tr: Transaction) -> None:
        add_run(tr, "m1", created_at=1.0, experiment="exp-a", traces=["loss", "acc"])
        add_run(tr, "m2", created_at=2.0, experiment="exp-b", traces=["loss"])
        add_run(tr, "m3", created_at=3.0, experiment="exp-a", traces=["acc"])

    query_engine.transact(setup)
    assert plan(query_engine, "metric.name == 'loss'") == PlanResult(["m1", "m2"], True, frozenset({"loss"}))
    assert plan(query_engine, "metric.name == 'loss' and run.experiment == 'exp-a'") == PlanResult(
        ["m1"], True, frozenset({"loss"})
    )
    assert plan(query_engine, "metric.name == 'loss' or metric.name == 'acc'") == PlanResult(
        ["m1", "m2", "m3"], True, frozenset({"loss", "acc"})
    )
    starts = plan(query_engine, "metric.name.startswith('lo')")
    assert starts.trace_names is None
    assert plan(query_engine, "metric.context.subset == 'train'").trace_names is None
    # One trace cannot be called both; the run-level intersection must be re-checked.
    both = plan(query_engine, "metric.name == 'loss' and metric.name == 'acc'")
    assert both.candidates == ["m1"]
    assert not both.exact
    assert both.trace_names == frozenset()
    mixed = plan(query_engine, "metric.name == 'loss' or run.experiment == 'exp-a'")
    assert mixed.trace_names is None
    assert not mixed.exact


def test_sequence_predicate_checks() -> None:
    def unindexed(text: str) -> bool:
        return has_unindexed_sequence_predicate(prepare_query(text))

    assert not unindexed("metric.name == 'loss'")
    assert not unindexed("run.name == 'x'")
    assert unindexed("metric.context.foo == 1")
    assert unindexed("metric.name.startswith('l')")
    assert unindexed("metric.last > 0.3")
    assert unindexed("metric is None")
    exact_names = PlanResult(["a"], True, frozenset({"loss"}))
    assert not needs_trace_evaluation(prepare_query("metric.name == 'loss'"), exact_names)
    assert needs_trace_evaluation(prepare_query("metric.last > 1"), PlanResult(None, False, None))
    assert not needs_trace_evaluation(prepare_query("run.name == 'x'"), PlanResult(None, False, None))
    assert needs_trace_evaluation(
        prepare_query("metric.name == 'loss' or run.name == 'x'"), PlanResult(["a"], True, None)
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "run.hparams.lr > 0.005 and 'good' in run.tags",
        "run.experiment == 'baseline' or run.hparams.optimizer == 'sgd'",
        "run.name == 'r2' or run.archived == True",
        "not run.active == True",
    ],
)
def test_planned_answer_equals_full_evaluation(query_engine: Engine, text: str) -> None:
    def setup(tr: Transaction) -> None:
        add_run(tr, "r1", created_at=1.0, experiment="baseline", tags=["good"], hparams={"lr": 0.01})
        add_run(tr, "r2", created_at=2.0, hparams={"lr": 0.001, "optimizer": "sgd"}, active=False)
        add_run(tr, "r3", created_at=3.0, archived=True, tags=["good"], hparams={"lr": "high"})

    query_engine.transact(setup)
    query = prepare_query(text)
    assert query_engine.read(lambda tr: evaluate_planned(tr, query)) == query_engine.read(
        lambda tr: evaluate_all(tr, query)
    )
