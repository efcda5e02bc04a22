"""Each package's settings hold what that package reads; the store's hold the store's only.

The layering test sees imports, not configuration: a Kafka or CORS field added to the store's settings
would make every package depend on everyone's configuration again without breaking it. The README's
configuration table and the settings classes must also name the same variables.
"""

from __future__ import annotations

import re

from infra_test_support import REPO, backend_env_names, settings_env_names
from pydantic_settings import BaseSettings

from matyan_api.settings import ApiSettings
from matyan_models.kafka_settings import KafkaSettings
from matyan_ops.settings import OpsSettings
from matyan_store.blobs.settings import BlobSettings
from matyan_store.engine.settings import EngineSettings
from matyan_store.settings import StoreSettings
from matyan_workers.settings import WorkerSettings

STORE_MODELS: tuple[type[BaseSettings], ...] = (StoreSettings, EngineSettings, BlobSettings)
# What belongs to the API, the workers, the ops jobs or Kafka, never to the store.
FOREIGN = re.compile(
    r"^(KAFKA_|CORS_|INGEST_|QUERY_|METRICS?_|OTEL_|PROJECT_PARAMS_|TOMBSTONE_|CLEANUP_|LOG_LEVEL$|SERVER_URL$)"
    r"|_QUEUE_MAXSIZE$|_CONCURRENCY$|_GROUP_ID$"
)


def _readme_names() -> set[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def test_the_store_settings_read_no_other_package_s_variables() -> None:
    for model in STORE_MODELS:
        leaked = sorted(name for name in settings_env_names(model) if FOREIGN.search(name))
        assert leaked == [], f"{model.__name__} reads {leaked}"
    assert settings_env_names(StoreSettings) == {
        "MATYAN_ENVIRONMENT",
        "ENVIRONMENT",
        "MATYAN_ALLOW_EMBEDDED_IN_PRODUCTION",
    }


def test_the_leak_check_sees_a_leak() -> None:
    class Leaky(StoreSettings):
        kafka_bootstrap_servers: str = "x"
        cors_origins: str = "*"

    assert {n for n in settings_env_names(Leaky) if FOREIGN.search(n)} == {
        "KAFKA_BOOTSTRAP_SERVERS",
        "CORS_ORIGINS",
    }


def test_api_and_workers_share_kafka_s_settings() -> None:
    kafka = settings_env_names(KafkaSettings)
    assert kafka <= settings_env_names(ApiSettings)
    assert kafka <= settings_env_names(WorkerSettings)
    assert not kafka & settings_env_names(OpsSettings)
    assert "CORS_ORIGINS" in settings_env_names(ApiSettings) - settings_env_names(WorkerSettings)
    assert "INGEST_BATCH_SIZE" in settings_env_names(WorkerSettings) - settings_env_names(ApiSettings)


def _dev_tool_names() -> set[str]:
    """``MATYAN_DEV_*`` variables the local stack's scripts (``make run``, ``make demo``) read."""
    names: set[str] = set()
    for path in sorted((REPO / "infra" / "dev").rglob("*")):
        if path.is_file() and path.suffix in (".sh", ".py"):
            names.update(re.findall(r"\bMATYAN_DEV_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
    return names


def test_readme_table_names_exactly_what_the_settings_read() -> None:
    documented = _readme_names()
    read = backend_env_names()
    assert sorted(documented - read - _dev_tool_names()) == [], "documented but read by nothing"
    assert sorted(read - documented) == [], "read but missing from README's configuration table"
