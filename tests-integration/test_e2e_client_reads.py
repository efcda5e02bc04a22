"""The released ``matyan-client`` 0.3.0 read API against our API, value for value.

One run is logged through the released client and frontier into our stack (full_stack_fixture.py); these
tests read it back only through the client's read side: ``Repo`` (``iter_runs``, ``query_runs``,
``get_run``, the metric and custom-object queries) and read-only ``Run`` objects, plus the client's own
HTTP transport for the reads it has no public wrapper for (logs, log records, metric batch, image blobs).
Every value is compared with what ``full_stack_training.py`` logged.

Known limits of the released client, not of our API (so not asserted as such):
- a read-only ``Run``'s ``name``/``experiment``/``creation_time`` are local attributes, never fetched; the
  backend's values are in ``Run.props``;
- its log-records decoder merges a record's nested fields shallowly, so of a nested dict (``args``,
  ``logger_info``) only the leaves of the last streamed key survive; we check the survivors.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import full_stack_training as script
import numpy as np
import pytest
import released_stack_training as base
from full_stack_fixture import IngestedStack, ingested_stack
from matyan_client import Repo
from matyan_client.run import Run
from matyan_dev_services import KafkaService, S3Service

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack(
    kafka_service: KafkaService, s3_service: S3Service, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IngestedStack]:
    with ingested_stack(kafka_service, s3_service, tmp_path_factory.mktemp("client-reads")) as running:
        yield running


@pytest.fixture(scope="module")
def repo(stack: IngestedStack) -> Iterator[Repo]:
    client = Repo(stack.api_base)
    yield client
    client.close()
    # Every Run the client hands out (read-only ones too) stays in a class-level list until closed; one
    # left open is finalised at interpreter exit, logging to a stderr pytest has already closed.
    for run in list(Run._instances):
        run.close()


def _numpy(encoded: dict[str, Any]) -> list[float]:
    # The stream's numpy encoding: raw little-endian bytes with dtype and length beside them.
    assert encoded["type"] == "numpy", encoded
    array = np.frombuffer(encoded["blob"], dtype=encoded["dtype"])
    assert array.shape == (encoded["shape"],)
    return [float(v) for v in array]


def _listed(tree: dict[int, Any]) -> list[Any]:
    # The stream decoder turns lists into {index: item} dicts.
    assert list(tree) == list(range(len(tree))), tree
    return list(tree.values())


def _only_run(results: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    assert [r["hash"] for r in results] == [run_id], results
    return results[0]


def _expected_props_subset() -> dict[str, Any]:
    return {"name": base.RUN_NAME, "active": False, "archived": False, "description": ""}


def test_repo_lists_and_reads_the_run(stack: IngestedStack, repo: Repo) -> None:
    assert [run.hash for run in repo.iter_runs()] == [stack.run_id]
    assert repo.list_all_runs() == [stack.run_id]
    assert repo.total_runs_count() == 1
    assert repo.list_active_runs() == []
    assert repo.run_exists(stack.run_id)
    assert not repo.run_exists("0" * 32)
    assert repo.get_run("0" * 32) is None

    run = repo.get_run(stack.run_id)
    assert isinstance(run, Run)
    assert run["hparams"] == base.HPARAMS
    assert run["hparams.schedule.milestones"] == base.HPARAMS["schedule"]["milestones"]
    assert run["seed"] == base.SEED
    assert run.tags == [base.TAG]
    props = run.props
    assert {k: props[k] for k in _expected_props_subset()} == _expected_props_subset()
    assert props["experiment"]["name"] == base.EXPERIMENT
    assert [t["name"] for t in props["tags"]] == [base.TAG]
    assert props["end_time"] >= props["creation_time"] > 0

    metrics = {(m["name"], tuple(sorted(m["context"].items()))): m["last_value"] for m in run.metrics()}
    assert metrics == {
        ("loss", tuple(base.LOSS_CONTEXT.items())): base.expected_loss()[1][-1],
        ("accuracy", ()): float(base.accuracy_at(base.AUTO_STEPS - 1)),
    }
    assert run.get_metric("loss", base.LOSS_CONTEXT) is not None
    assert run.get_metric("loss") is None  # the empty context is another sequence
    sequences = run.collect_sequence_info(("texts", "images", "distributions"))
    assert {kind: [t["name"] for t in traces] for kind, traces in sequences.items()} == {
        "texts": [base.TEXT_NAME],
        "images": [script.IMAGE_NAME],
        "distributions": [base.DIST_NAME],
    }


def test_query_runs_filters_and_pages(stack: IngestedStack, repo: Repo) -> None:
    everything = repo.query_runs("")
    assert isinstance(everything, list)
    found = _only_run(everything, stack.run_id)
    assert found["props"]["name"] == base.RUN_NAME
    assert found["params"]["seed"] == base.SEED
    assert found["params"]["hparams"]["lr"] == base.HPARAMS["lr"]
    assert found["params"]["hparams"]["schedule"]["milestones"] == {0: 30, 1: 60}
    assert [t["name"] for t in _listed(found["props"]["tags"])] == [base.TAG]

    matching = repo.query_runs(f'run.hparams.optimizer == "{base.HPARAMS["optimizer"]}"')
    assert isinstance(matching, list)
    _only_run(matching, stack.run_id)
    assert repo.query_runs('run.hparams.optimizer == "sgd"') == []
    pages = list(repo.query_runs("", paginated=True, limit=1))
    assert [[r["hash"] for r in page] for page in pages] == [[stack.run_id]]


def test_metric_query_returns_every_logged_point(stack: IngestedStack, repo: Repo) -> None:
    steps, values, epochs = base.expected_loss()
    # The public query_metrics uses the server's default density; the transport call beneath it takes
    # the UI's `p` too, and above the point count nothing is sampled away.
    full = _only_run(repo._http.search_metrics('metric.name == "loss"', p=1000), stack.run_id)
    (trace,) = _listed(full["traces"])
    assert trace["name"] == "loss"
    assert trace["context"] == base.LOSS_CONTEXT
    assert _numpy(trace["iters"]) == [float(s) for s in steps]
    assert _numpy(trace["values"]) == values
    got_epochs = _numpy(trace["epochs"])
    assert [None if math.isnan(e) else int(e) for e in got_epochs] == epochs

    accuracy = _only_run(repo._http.search_metrics('metric.name == "accuracy"', p=1000), stack.run_id)
    (acc_trace,) = _listed(accuracy["traces"])
    assert _numpy(acc_trace["iters"]) == [float(s) for s in range(base.AUTO_STEPS)]
    assert _numpy(acc_trace["values"]) == [float(base.accuracy_at(i)) for i in range(base.AUTO_STEPS)]

    # The default density samples loss, but every sampled point is a logged one.
    sampled = _only_run(repo.query_metrics('metric.name == "loss"'), stack.run_id)
    (sampled_trace,) = _listed(sampled["traces"])
    pairs = set(zip(_numpy(sampled_trace["iters"]), _numpy(sampled_trace["values"]), strict=True))
    assert pairs
    assert pairs <= set(zip([float(s) for s in steps], values, strict=True))

    assert repo.query_metrics('metric.name == "no such metric"') == []

    batch = repo._http.get_run_metric_batch(
        stack.run_id, [{"name": "loss", "context": base.LOSS_CONTEXT}], record_density=1000
    )
    assert [(t["name"], t["iters"], t["values"]) for t in batch] == [("loss", steps, values)]


def test_text_and_distribution_queries(stack: IngestedStack, repo: Repo) -> None:
    texts = _only_run(repo.query_texts(f'texts.name == "{base.TEXT_NAME}"'), stack.run_id)
    (text_trace,) = _listed(texts["traces"])
    assert text_trace["name"] == base.TEXT_NAME
    assert _listed(text_trace["iters"]) == list(base.TEXT_STEPS)
    assert [_listed(step)[0]["data"] for step in _listed(text_trace["values"])] == list(
        base.TEXT_STEPS.values()
    )

    dists = _only_run(repo.query_distributions(""), stack.run_id)
    (dist_trace,) = _listed(dists["traces"])
    assert dist_trace["name"] == base.DIST_NAME
    assert _listed(dist_trace["iters"]) == [0]
    (dist,) = _listed(dist_trace["values"])
    assert dist["bin_count"] == len(base.DIST_HIST)
    assert tuple(_listed(dist["range"])) == base.DIST_RANGE
    assert _numpy(dist["data"]) == [float(v) for v in base.DIST_HIST]


def test_image_query_and_blobs(stack: IngestedStack, repo: Repo) -> None:
    images = _only_run(repo.query_images(f'images.name == "{script.IMAGE_NAME}"'), stack.run_id)
    (trace,) = _listed(images["traces"])
    assert trace["name"] == script.IMAGE_NAME
    assert _listed(trace["iters"]) == list(script.IMAGE_CAPTIONS)
    shown = [_listed(step)[0] for step in _listed(trace["values"])]
    assert [(i["caption"], i["format"], i["width"], i["height"]) for i in shown] == [
        (caption, "PNG", script.IMAGE_SIZE, script.IMAGE_SIZE) for caption in script.IMAGE_CAPTIONS.values()
    ]
    uris = [i["blob_uri"] for i in shown]
    blobs = repo._http.get_blob_batch("images", uris)
    assert [blobs.get(uri) for uri in uris] == [script.image_bytes(step) for step in script.IMAGE_CAPTIONS]


def test_logs_and_log_records(stack: IngestedStack, repo: Repo) -> None:
    lines = repo._http.get_run_logs(stack.run_id)
    assert [step for step, _ in lines] == list(range(len(lines)))
    # The client's terminal capture may add an empty line at close; every other line is a printed one.
    assert [line for _, line in lines if line] == script.PRINTED_LINES
    assert [line for line in stack.script_stdout.splitlines() if line] == script.PRINTED_LINES

    count, records = repo._http.get_run_log_records(stack.run_id)
    assert count == 1
    ((step, record),) = records
    assert step == 0
    assert record["message"] == base.LOG_MESSAGE
    assert record["log_level"] == "INFO"
    assert record["is_notified"] is True
    assert record["timestamp"] > 0
    # Only some nested leaves survive the client's decoder (see the module docstring); they must match.
    assert record["args"]
    assert record["args"].items() <= base.LOG_EXTRA.items()
    assert record["logger_info"]
    for index, value in record["logger_info"].items():
        # logger_info is [file, line] of the log_info call in the training script.
        if index == 0:
            assert value == script.__file__
        else:
            assert index == 1
            assert isinstance(value, int)
            assert value > 0


def test_artifacts(stack: IngestedStack, repo: Repo, tmp_path_factory: pytest.TempPathFactory) -> None:
    run = repo.get_run(stack.run_id)
    assert run is not None
    assert [(a["name"], a["path"]) for a in run.artifacts] == [("model.txt", base.ARTIFACT_NAME)]
    assert run.get_artifact(base.ARTIFACT_NAME) == base.ARTIFACT_BYTES
    target = tmp_path_factory.mktemp("artifacts")
    run.download_artifact(base.ARTIFACT_NAME, target / "one")
    assert (target / "one").read_bytes() == base.ARTIFACT_BYTES
    files = run.download_artifacts(target / "all")
    assert [(p.relative_to(target / "all").as_posix(), p.read_bytes()) for p in files] == [
        (base.ARTIFACT_NAME, base.ARTIFACT_BYTES)
    ]
