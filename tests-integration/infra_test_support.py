"""Helpers shared by the infra checks (tests-integration/test_infra_*.py): paths, a small Dockerfile
parser, and the environment variable names the backend's settings read."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from matyan_api.auth.settings import AuthSettings
from matyan_api.settings import ApiSettings
from matyan_ops.settings import OpsSettings
from matyan_store.blobs.settings import BlobSettings
from matyan_store.engine.settings import EngineSettings
from matyan_workers.settings import WorkerSettings

REPO = Path(__file__).resolve().parents[1]
INFRA = REPO / "infra"
DOCKERFILE = INFRA / "docker" / "Dockerfile"
CHART = INFRA / "helm" / "matyan"
COMPOSE_FILE = INFRA / "compose" / "docker-compose.yml"


def venv_tool(name: str) -> Path:
    """A console script installed in the running interpreter's environment (a dev dependency)."""
    return Path(sys.executable).parent / name


def settings_env_names(model: type[BaseSettings]) -> set[str]:
    """The variables ``model`` reads, with those of the settings it nests (the store's, Kafka's)."""
    names: set[str] = set()
    for field_name, info in model.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseSettings):
            names |= settings_env_names(info.annotation)
            continue
        # A field with an alias is configured under the alias.
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(field_name.upper())
    return names


def backend_env_names() -> set[str]:
    """Every variable the backend's settings read (the contract's names plus our additions)."""
    models: tuple[type[BaseSettings], ...] = (
        ApiSettings,
        AuthSettings,
        WorkerSettings,
        OpsSettings,
        EngineSettings,
        BlobSettings,
    )
    return set().union(*(settings_env_names(model) for model in models))


# Read by the libraries underneath, not by our settings: GCS client credentials.
THIRD_PARTY_ENV_NAMES = frozenset({"GOOGLE_APPLICATION_CREDENTIALS"})

# matyan-frontier 0.3.0's settings (docs/architecture.md, The frontier).
FRONTIER_ENV_NAMES = frozenset(
    {
        "MATYAN_ENVIRONMENT",
        "ENVIRONMENT",
        "LOG_LEVEL",
        "HOST",
        "PORT",
        "KAFKA_BOOTSTRAP_SERVERS",
        "KAFKA_DATA_INGESTION_TOPIC",
        "KAFKA_SECURITY_PROTOCOL",
        "KAFKA_SASL_MECHANISM",
        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD",
        "BLOB_BACKEND_TYPE",
        "S3_ENDPOINT",
        "S3_PUBLIC_ENDPOINT",
        "S3_ACCESS_KEY",
        "S3_SECRET_KEY",
        "S3_BUCKET",
        "S3_REGION",
        "S3_PRESIGN_EXPIRY",
        "GCS_BUCKET",
        "STORAGE_EMULATOR_HOST",
        "AZURE_CONN_STR",
        "AZURE_ACCOUNT_URL",
        "AZURE_CONTAINER",
        "SHUTDOWN_FLUSH_TIMEOUT",
        "METRICS_ENABLED",
        "CORS_ORIGINS",
    }
)


@dataclass
class Stage:
    """One FROM ... AS name block of a Dockerfile: its base and its instructions (keyword, rest)."""

    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse_dockerfile(text: str) -> dict[str, Stage]:
    """Stages by name, with continuation lines joined and comments dropped (enough for our checks)."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(?:--\S+\s+)*(\S+)\s+AS\s+(\S+)", rest.strip(), flags=re.IGNORECASE)
            assert match, f"every stage must be named: FROM {rest}"
            current = Stage(name=match.group(2), base=match.group(1))
            stages[current.name] = current
        elif current is not None:
            current.instructions.append((keyword, rest.strip()))
    return stages


def stage_chain(stages: dict[str, Stage], name: str) -> list[Stage]:
    """The stage and the stages it is built FROM, nearest first."""
    chain: list[Stage] = []
    current: str | None = name
    while current is not None and current in stages:
        chain.append(stages[current])
        current = stages[current].base
    return chain
