"""Evaluating queries over run and sequence views, and the sandbox's limits.

See docs/http-contract.md, Query language.
"""

from __future__ import annotations

import pytest

from matyan_api.query import RunView, SequenceView, TraceInfo, prepare_query

TRACES = [
    TraceInfo("loss", {}, "float", last=0.25, last_step=9),
    TraceInfo("loss", {"subset": "train"}, "float", last=0.5, last_step=9, min=0.1, max=2.0),
    TraceInfo("acc", {"subset": "val"}, "float", last=0.9, last_step=4),
]


def make_run(**meta: object) -> RunView:
    base: dict[str, object] = {
        "name": "gamma",
        "description": "desc",
        "created_at": 1000.0,
        "finalized_at": 1060.0,
        "active": False,
        "archived": False,
    }
    base.update(meta)
    attrs = {
        "hparams": {"lr": 0.01, "batch_size": 32, "optimizer": "adam", "nested": {"depth": 3}, "items": 7},
        "dataset": {"name": "mnist"},
        "seed": 1,
    }
    return RunView("abc123", base, attrs, ["good", "baseline"], "exp-a", TRACES)


def ok(text: str, run: RunView | None = None, seq: SequenceView | None = None) -> bool:
    return prepare_query(text).evaluate(run or make_run(), seq)


@pytest.mark.parametrize(
    "text",
    [
        "run.hparams.lr == 0.01",
        'run["hparams"]["lr"] < 0.1',
        "run.hparams['batch_size'] >= 32",
        "run.hparams.nested.depth == 3",
        "run.hparams.nested == {'depth': 3}",
        "'lr' in run.hparams",
        "run.hparams.items == 7",  # any name is a key, even one that looks like a method
        "run.hparams.missing is None",
        "run.dataset.name == 'mnist' and run.seed == 1",
        "run.name == 'gamma' and run.hash == 'abc123' and run.description == 'desc'",
        "run.experiment == 'exp-a'",
        "'good' in run.tags and run.tags.contains('baseline') and len(run.tags) == 2",
        "run.created_at == 1000.0 and run.creation_time == 1000.0",
        "run.end_time == 1060.0 and run.duration == 60.0",
        "run.active == False and run.archived == False and run.is_archived == False",
        "run.metrics['loss'].last == 0.25",
        "run.metrics['loss', {'subset': 'train'}].last_step == 9",
        "not run.metrics['nope']",
        "run.created_at > datetime(1969, 12, 31)",
        "sorted(run.tags) == ['baseline', 'good']",
        "max([1, 2]) == 2 and sum(x for x in range(10)) == 45 and any([0, 1])",
        "math.floor(run.hparams.lr * 1000) == 10",
        "run.name.startswith('gam') and run.name.upper() == 'GAMMA'",
    ],
)
def test_matches(text: str) -> None:
    assert ok(text)


@pytest.mark.parametrize(
    "text",
    [
        "run.hparams.lr != 0.01",
        "run.hparams.missing > 0.1",  # None > float raises: no match
        "run.hparams.missing.deeper == 1",
        "1 / 0",
        "run.experiment == 'other'",
        "'bad' in run.tags",
        "metric.name == 'loss'",  # not bound in run-only evaluation
        "'{0.__class__}'.format(run) != ''",
        "str.format('{}', 1) == '1'",
        "'x'.ljust(10**9) == ''",
        "'x' * 10**9 == ''",
        "2 ** 10**7 > 0",
        "1 << 10**8 > 0",
        "pow(3, 10**8) > 0",
        "'%999999999d' % 1 == ''",
        "('a' * 1000).replace('a', 'a' * 10000) == ''",
        "math.factorial(10**6) > 0",
        "random.randbytes(10**9) == b''",
        "len(list(range(10**6))) > 0",
        "__builtins__ is None",
    ],
)
def test_does_not_match(text: str) -> None:
    try:
        query = prepare_query(text)
    except Exception:  # refused at compile time is as good as no match
        return
    assert query.evaluate(make_run()) is False


def test_unfinished_run_duration_and_end_time() -> None:
    assert ok("run.duration == 0.0 and run.end_time is None", make_run(finalized_at=None))


def test_archived_runs_need_an_explicit_mention() -> None:
    archived = make_run(archived=True)
    assert not ok("run.name == 'gamma'", archived)
    assert ok("run.is_archived == True", archived)
    assert ok("run.archived == True and run.name == 'gamma'", archived)


def test_sequence_fields() -> None:
    run = make_run()
    seq = SequenceView(TRACES[1], run)
    assert ok("metric.name == 'loss' and metric.context.subset == 'train'", run, seq)
    assert ok("metric.last > 0.3 and metric.last_step == 9 and metric.min == 0.1", run, seq)
    assert ok("metric.context == {'subset': 'train'} and metric.run.name == 'gamma'", run, seq)
    assert not ok("metric.context.subset == 'val'", run, seq)
    images = prepare_query("images.name == 'loss'")
    assert images.evaluate(run, seq, seq_name="images")
    with pytest.raises(ValueError, match="unknown sequence name"):
        images.evaluate(run, seq, seq_name="os")


def test_run_level_meaning_of_a_sequence_predicate() -> None:
    run = make_run()
    seqs = [SequenceView(t, run) for t in TRACES]
    assert prepare_query("metric.last > 0.8").matches_run(run, seqs)
    assert not prepare_query("metric.last > 0.95").matches_run(run, seqs)
    assert not prepare_query("metric.name == 'loss'").matches_run(run, [])
    assert prepare_query("run.name == 'gamma'").matches_run(run, [])


def test_step_budget_stops_long_loops() -> None:
    query = prepare_query("sum(1 for a in range(999) for b in range(999)) > 0", max_steps=10_000)
    assert query.evaluate(make_run()) is False
    small = prepare_query("sum(1 for a in range(99) for b in range(99)) == 9801", max_steps=20_000)
    assert small.evaluate(make_run()) is True


def test_views_hide_internals() -> None:
    run = make_run()
    for text in ("run._meta", "run._attrs", "run.hparams._data", "run.tags._names"):
        with pytest.raises(Exception, match="_"):
            prepare_query(text)
    # attribute lookups through the view never reach a private slot
    assert run.hparams is not None
    with pytest.raises(AttributeError):
        _ = run._nothing
