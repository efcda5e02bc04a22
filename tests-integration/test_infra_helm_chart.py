"""The Helm chart: schema, values, templates and a lint by Helm's own Go library.

No helm binary can be installed here; the `helm-sdkpy` wheel ships Helm's Go library, whose lint
renders every template with the chart's values, parses the output as YAML and validates the values
against values.schema.json, all without a cluster. It reports only which file failed (its messages
carry no text), so the checks below also test the parts a lint cannot see: that templates use only
values that exist, that every value is documented, and that the variable names are the backend's.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import helm_sdkpy  # type: ignore[import-untyped]
import jsonschema
import pytest
import yaml
from infra_test_support import CHART, THIRD_PARTY_ENV_NAMES, backend_env_names

TEMPLATES = CHART / "templates"
PRODUCTION_EXAMPLE = CHART / "values-production.example.yaml"
LINT_ERROR = 3  # Helm's support.ErrorSev
LINT_WARNING = 2


def _load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's values merge: maps merge key by key, anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads((CHART / "values.schema.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _template_text() -> str:
    return "\n".join(path.read_text() for path in sorted(TEMPLATES.iterdir()) if path.is_file())


def _leaf_paths(values: dict[str, Any], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            paths.extend(_leaf_paths(value, path + "."))
        else:
            paths.append(path)
    return paths


# --- values and schema ----------------------------------------------------------------------------


def test_default_values_validate_against_the_schema() -> None:
    _validator().validate(_load(CHART / "values.yaml"))


def test_production_example_validates_against_the_schema() -> None:
    _validator().validate(_merge(_load(CHART / "values.yaml"), _load(PRODUCTION_EXAMPLE)))


@pytest.mark.parametrize(
    ("override", "why"),
    [
        ({"blob": {"backend": "ftp"}}, "unknown blob backend"),
        ({"environment": "prod"}, "environment is production or development"),
        ({"kafka": {"bootstrapServer": "x:1"}}, "a misspelt key must not be ignored"),
        ({"cleanupTombstones": {"schedule": "weekly"}}, "not a cron schedule"),
        ({"api": {"port": 0}}, "port out of range"),
        ({"ingestWorker": {"maxTxnBytes": 20_000_000}}, "above FoundationDB's transaction limit"),
    ],
)
def test_schema_rejects_wrong_values(override: dict[str, Any], why: str) -> None:
    values = _merge(_load(CHART / "values.yaml"), override)
    assert list(_validator().iter_errors(values)), why


def test_defaults_are_production_and_the_cleanup_jobs_match_the_spec() -> None:
    values = _load(CHART / "values.yaml")
    assert values["environment"] == "production"
    assert values["cleanupOrphanBlobs"] == {
        "enabled": True,
        "schedule": "0 3 * * *",
        "lockTtlSeconds": 3600,
        "limit": 0,
        "dryRun": False,
    }
    assert values["cleanupTombstones"] == {
        "enabled": True,
        "schedule": "0 4 * * 0",
        "olderThanHours": 168,
        "lockTtlSeconds": 600,
        "dryRun": False,
    }
    assert values["kafka"]["topics"] == {"dataIngestion": "data-ingestion", "controlEvents": "control-events"}
    assert values["blob"]["backend"] in ("s3", "gcs", "azure")


def test_every_value_is_documented_in_the_chart_readme() -> None:
    readme = (CHART / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Za-z0-9_.]+)` \|", readme, flags=re.MULTILINE))
    values = _load(CHART / "values.yaml")
    for path in _leaf_paths(values):
        parts = path.split(".")
        prefixes = {".".join(parts[:n]) for n in range(1, len(parts) + 1)}
        assert prefixes & documented, f"{path} is not in the README's table"
    for entry in documented:
        node: Any = values
        for part in entry.split("."):
            assert isinstance(node, dict), f"README documents {entry}, which does not exist"
            assert part in node, f"README documents {entry}, which does not exist"
            node = node[part]


# --- templates ------------------------------------------------------------------------------------


def test_templates_reference_only_existing_values() -> None:
    values = _load(CHART / "values.yaml")
    references = set(re.findall(r"\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)", _template_text()))
    assert len(references) > 40, "the scan found too little to mean anything"
    for reference in sorted(references):
        node: Any = values
        for part in reference.split("."):
            assert isinstance(node, dict), f".Values.{reference} is not in values.yaml"
            assert part in node, f".Values.{reference} is not in values.yaml"
            node = node[part]


def test_required_kinds_exist() -> None:
    kinds: dict[str, int] = {}
    for path in TEMPLATES.glob("*.yaml"):
        for kind in re.findall(r"^kind: (\w+)$", path.read_text(), flags=re.MULTILINE):
            kinds[kind] = kinds.get(kind, 0) + 1
    assert kinds.get("Service") == 1
    assert kinds.get("ConfigMap") == 1
    assert kinds.get("ServiceAccount") == 1
    # The workers' Deployments and the CronJobs come from one shared definition each.
    assert "kind: Deployment" in (TEMPLATES / "_worker.tpl").read_text()
    assert "kind: CronJob" in (TEMPLATES / "_cronjob.tpl").read_text()
    for name, command in (("ingest-worker", "ingest-worker"), ("control-worker", "control-worker")):
        text = (TEMPLATES / f"{name}-deployment.yaml").read_text()
        assert 'include "matyan.workerDeployment"' in text
        assert f'"command" "{command}"' in text
    for job in ("cleanup-orphan-blobs", "cleanup-tombstones"):
        text = (TEMPLATES / f"{job}-cronjob.yaml").read_text()
        assert 'include "matyan.cleanupCronJob"' in text
        assert f'list "{job}"' in text
    assert "concurrencyPolicy: Forbid" in (TEMPLATES / "_cronjob.tpl").read_text()
    assert "kind: Deployment" in (TEMPLATES / "api-deployment.yaml").read_text()


def test_cronjobs_pass_the_cli_options_of_the_spec() -> None:
    orphan = (TEMPLATES / "cleanup-orphan-blobs-cronjob.yaml").read_text()
    assert '"--lock-ttl-seconds"' in orphan
    assert '"--limit"' in orphan
    assert '"--dry-run"' in orphan
    tombstones = (TEMPLATES / "cleanup-tombstones-cronjob.yaml").read_text()
    assert '"--older-than-hours"' in tombstones
    assert '"--lock-ttl-seconds"' in tombstones
    assert "image.ops" in (TEMPLATES / "_cronjob.tpl").read_text()


def test_probes_and_metrics() -> None:
    api = (TEMPLATES / "api-deployment.yaml").read_text()
    assert re.search(r"livenessProbe:\s+httpGet:\s+path: /health/live/\s+port: http", api)
    assert re.search(r"readinessProbe:\s+httpGet:\s+path: /health/ready/\s+port: http", api)
    assert "prometheus.io/scrape" in api
    assert "prometheus.io/path: /metrics/" in api
    worker = (TEMPLATES / "_worker.tpl").read_text()
    assert len(re.findall(r"Probe:\s+httpGet:\s+path: /health/\s+port: metrics", worker)) == 2
    assert "containerPort: {{ $v.metricsPort }}" in worker
    assert "name: METRICS_PORT" in worker
    assert "prometheus.io/port: {{ $v.metricsPort | quote }}" in worker


def test_environment_variable_names_are_the_backends() -> None:
    text = _template_text()
    names = set(re.findall(r"- name: ([A-Z][A-Z0-9_]+)$", text, flags=re.MULTILINE))
    names |= set(re.findall(r'"name" "([A-Z][A-Z0-9_]+)"', text))
    allowed = backend_env_names() | THIRD_PARTY_ENV_NAMES
    assert names - allowed == set()
    for required in (
        "MATYAN_ENVIRONMENT",
        "MATYAN_STORE_ENGINE",
        "FDB_CLUSTER_FILE",
        "KAFKA_BOOTSTRAP_SERVERS",
        "KAFKA_DATA_INGESTION_TOPIC",
        "KAFKA_CONTROL_EVENTS_TOPIC",
        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD",
        "BLOB_BACKEND_TYPE",
        "S3_ACCESS_KEY",
        "GCS_BUCKET",
        "AZURE_CONN_STR",
        "BLOB_URI_SECRET",
        "CORS_ORIGINS",
        "METRICS_PORT",
        "INGEST_MAX_TXN_BYTES",
    ):
        assert required in names, required
    helpers = (TEMPLATES / "_helpers.tpl").read_text()
    # Secrets come from Secrets, never from plain values.
    for secret in ("BLOB_URI_SECRET", "S3_SECRET_KEY", "KAFKA_SASL_PASSWORD", "AZURE_CONN_STR"):
        assert re.search(rf"- name: {secret}\n\s+valueFrom:\n\s+secretKeyRef:", helpers), secret


# --- Helm's own lint --------------------------------------------------------------------------------


def _lint(chart: Path) -> list[dict[str, Any]]:
    config = helm_sdkpy.Configuration(namespace="default", kubeconfig=str(chart / "no-kubeconfig"))
    result: dict[str, Any] = asyncio.run(helm_sdkpy.Lint(config).run(str(chart)))
    assert result["TotalChartsLinted"] == 1
    messages: list[dict[str, Any]] = result["Messages"] or []
    return messages


def _chart_copy(tmp_path: Path, values: dict[str, Any] | None = None) -> Path:
    chart = tmp_path / "matyan"
    shutil.copytree(CHART, chart)
    if values is not None:
        (chart / "values.yaml").write_text(yaml.safe_dump(values))
    return chart


def _problems(messages: list[dict[str, Any]]) -> list[str]:
    return [str(m["Path"]) for m in messages if int(m["Severity"]) >= LINT_WARNING]


def test_helm_lint_with_default_values(tmp_path: Path) -> None:
    assert _problems(_lint(_chart_copy(tmp_path))) == []


def test_helm_lint_with_the_production_example(tmp_path: Path) -> None:
    values = _merge(_load(CHART / "values.yaml"), _load(PRODUCTION_EXAMPLE))
    assert _problems(_lint(_chart_copy(tmp_path, values))) == []


@pytest.mark.parametrize("backend", ["gcs", "azure"])
def test_helm_lint_with_the_other_blob_backends(tmp_path: Path, backend: str) -> None:
    values = _merge(
        _load(CHART / "values.yaml"),
        {
            "blob": {
                "backend": backend,
                "gcs": {"credentialsSecret": "gcs-key"},
                "azure": {"existingSecret": "az"},
            },
            "kafka": {"sasl": {"enabled": True}},
            "fdb": {"clusterFile": "test:abc@10.0.0.1:4500\n"},
            "cleanupOrphanBlobs": {"dryRun": True},
        },
    )
    assert _problems(_lint(_chart_copy(tmp_path, values))) == []


def test_helm_lint_catches_a_broken_template_and_bad_values(tmp_path: Path) -> None:
    # Controls: the lint must really render templates and check the schema.
    broken = _chart_copy(tmp_path / "broken")
    (broken / "templates" / "zz-broken.yaml").write_text(
        "kind: ConfigMap\n  data: {{ .Values.nope.deeper }}\n"
    )
    failed = [m for m in _lint(broken) if int(m["Severity"]) == LINT_ERROR]
    assert failed, "a template failing to render must be reported"
    bad_values = _merge(_load(CHART / "values.yaml"), {"blob": {"backend": "ftp"}})
    failed = [m for m in _lint(_chart_copy(tmp_path / "bad", bad_values)) if int(m["Severity"]) == LINT_ERROR]
    assert any(m["Path"] == "values.yaml" for m in failed)
