"""The docker-compose stack: parses, is wired together, and speaks the backend's configuration names.

The stack is not started here (no Docker engine on our machines); these checks catch what usually
breaks such a file: a service depending on one that does not exist, a variable name the settings do
not read, topic or bucket names that differ between the init jobs and the services.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet
from infra_test_support import (
    COMPOSE_FILE,
    DOCKERFILE,
    FRONTIER_ENV_NAMES,
    backend_env_names,
    parse_dockerfile,
)

from matyan_store.blobs.settings import DEV_BLOB_URI_SECRET

BACKEND_SERVICES = ("api", "ingest-worker", "control-worker")


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(compose, dict)
    found = compose["services"]
    assert isinstance(found, dict)
    return found


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "use the mapping form so anchors can merge"
    return {str(k): str(v) for k, v in env.items()}


def _depends(service: dict[str, Any]) -> dict[str, str]:
    depends = service.get("depends_on", {})
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: spec["condition"] for name, spec in depends.items()}


def test_the_whole_stack_is_there(services: dict[str, dict[str, Any]]) -> None:
    assert {"fdb", "kafka", "minio", "frontier", *BACKEND_SERVICES} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["fdb"]["image"].startswith("foundationdb/foundationdb:7.3.")


def test_dependencies_exist_and_backends_wait_for_the_init_jobs(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for dependency in _depends(service):
            assert dependency in services, f"{name} depends on unknown {dependency}"
    for name in BACKEND_SERVICES:
        depends = _depends(services[name])
        for init in ("fdb-init", "kafka-init", "minio-init"):
            assert depends.get(init) == "service_completed_successfully", (name, init)
    # The frontier has no retry: the broker and its topic must exist first
    # (docs/architecture.md, The frontier).
    assert _depends(services["frontier"]).get("kafka-init") == "service_completed_successfully"


def test_built_services_use_targets_of_our_dockerfile(services: dict[str, dict[str, Any]]) -> None:
    stages = parse_dockerfile(DOCKERFILE.read_text())
    expected = {"api": "api", "ingest-worker": "worker", "control-worker": "worker", "frontier": "frontier"}
    for name, target in expected.items():
        build = services[name]["build"]
        assert build["dockerfile"] == "infra/docker/Dockerfile"
        assert build["context"] == "../.."
        assert build["target"] == target
        assert target in stages
    assert services["ingest-worker"]["command"] == ["ingest-worker"]
    assert services["control-worker"]["command"] == ["control-worker"]


@pytest.mark.parametrize("name", BACKEND_SERVICES)
def test_backend_env_uses_only_the_backends_variable_names(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    env = _env(services[name])
    assert set(env) - backend_env_names() == set()
    assert env["MATYAN_STORE_ENGINE"] == "fdb"
    assert env["BLOB_BACKEND_TYPE"] == "s3"
    Fernet(env["BLOB_URI_SECRET"].encode())  # a valid key
    assert env["BLOB_URI_SECRET"] != DEV_BLOB_URI_SECRET


def test_frontier_env_uses_only_its_variable_names(services: dict[str, dict[str, Any]]) -> None:
    env = _env(services["frontier"])
    assert set(env) - FRONTIER_ENV_NAMES == set()
    # A comma list makes the released frontier fail at import: it must be JSON
    # (docs/architecture.md, The frontier).
    assert isinstance(json.loads(env["CORS_ORIGINS"]), list)
    assert env["S3_PUBLIC_ENDPOINT"].startswith("http://localhost:")


def test_services_agree_on_kafka_topics_and_bucket(services: dict[str, dict[str, Any]]) -> None:
    kafka_env = _env(services["kafka"])
    advertised = dict(item.split("://", 1) for item in kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    topics_script = " ".join(services["kafka-init"]["entrypoint"])
    created = dict(re.findall(r"--topic (\S+) --partitions (\d+)", topics_script))
    bucket_script = " ".join(services["minio-init"]["entrypoint"])
    for name in (*BACKEND_SERVICES, "frontier"):
        env = _env(services[name])
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == advertised["PLAINTEXT"], name
        assert env["KAFKA_DATA_INGESTION_TOPIC"] in created
        assert f"local/{env['S3_BUCKET']}" in bucket_script
        assert env["S3_ACCESS_KEY"] == _env(services["minio"])["MINIO_ROOT_USER"]
        assert env["S3_SECRET_KEY"] == _env(services["minio"])["MINIO_ROOT_PASSWORD"]
    assert created == {"data-ingestion": "6", "control-events": "1"}
    for name in BACKEND_SERVICES:
        assert _env(services[name])["KAFKA_CONTROL_EVENTS_TOPIC"] in created
    assert "EXTERNAL://localhost:9094" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]


def test_backends_read_the_cluster_file_fdb_writes(services: dict[str, dict[str, Any]]) -> None:
    fdb_volume = next(v for v in services["fdb"]["volumes"] if v.endswith(":/var/fdb"))
    volume_name = fdb_volume.split(":")[0]
    for name in BACKEND_SERVICES:
        env = _env(services[name])
        assert env["FDB_CLUSTER_FILE"] == "/var/fdb/fdb.cluster"
        assert f"{volume_name}:/var/fdb:ro" in services[name]["volumes"]


def test_ports_and_metrics(services: dict[str, dict[str, Any]]) -> None:
    assert "53800:53800" in services["api"]["ports"]
    assert "53801:53801" in services["frontier"]["ports"]
    ports = {}
    for name in ("ingest-worker", "control-worker"):
        port = _env(services[name])["METRICS_PORT"]
        assert f"{port}:{port}" in services[name]["ports"]
        ports[name] = port
    assert ports == {"ingest-worker": "9101", "control-worker": "9102"}
