"""Repo-wide pytest fixtures: the local test services and a run directory for our own processes.

The service fixtures are session-scoped and lazy: a service starts on a free 127.0.0.1 port the first time
a test asks for it and stops when the session ends. A service that cannot start fails the test with the
tail of its log; it is never skipped (under CI=true or not), so a broken environment cannot pass quietly.
The start-up logic itself lives in infra/dev/matyan_dev_services.py, shared with infra/dev/services.sh.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from hypothesis import HealthCheck, settings

_DEV_DIR = Path(__file__).resolve().parent / "infra" / "dev"
if str(_DEV_DIR) not in sys.path:
    sys.path.insert(0, str(_DEV_DIR))

# gcsfs reads this once, at import, and otherwise probes a gRPC endpoint for 60 s per bucket.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

from matyan_dev_services import (  # noqa: E402  (needs the sys.path entry above)
    AzureService,
    GcsService,
    KafkaService,
    ProcessRunner,
    RunDir,
    S3Service,
    ServiceError,
    start_azure,
    start_gcs,
    start_kafka,
    start_on_free_port,
    start_s3,
)

# Property tests judge results, never speed: on a loaded 2-core CI machine hypothesis's per-example
# deadline and its "generation is slow" health check fail tests whose answers are right.
settings.register_profile("matyan", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("matyan")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _fail_start(kind: str, exc: ServiceError) -> NoReturn:
    where = " (CI=true: services are required)" if _in_ci() else ""
    # Raised `from None`: the ServiceError text (with the log tail) is all a reader needs.
    raise pytest.fail.Exception(
        f"could not start the {kind} test service{where}: {exc}", pytrace=False
    ) from None


@pytest.fixture(scope="session")
def services_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunDir]:
    """Logs, pid records and data of the session's services; everything in it is stopped at the end."""
    run_dir = RunDir(tmp_path_factory.mktemp("services", numbered=False))
    yield run_dir
    run_dir.stop_all()


@pytest.fixture(scope="session")
def kafka_service(services_run_dir: RunDir) -> KafkaService:
    try:
        return start_on_free_port(lambda port: start_kafka(services_run_dir, port))
    except ServiceError as exc:
        _fail_start("Kafka (tansu)", exc)


@pytest.fixture(scope="session")
def s3_service(services_run_dir: RunDir) -> S3Service:
    try:
        return start_on_free_port(lambda port: start_s3(services_run_dir, port))
    except ServiceError as exc:
        _fail_start("S3 (moto)", exc)


@pytest.fixture(scope="session")
def azure_service(services_run_dir: RunDir) -> AzureService:
    try:
        return start_on_free_port(lambda port: start_azure(services_run_dir, port))
    except ServiceError as exc:
        _fail_start("Azure Blob (azurite)", exc)


@pytest.fixture(scope="session")
def gcs_service(services_run_dir: RunDir) -> Iterator[GcsService]:
    try:
        service = start_on_free_port(lambda port: start_gcs(services_run_dir, port))
    except ServiceError as exc:
        _fail_start("GCS (gcp-storage-emulator)", exc)
    # google-cloud clients in this process look for the emulator here; restored at the end.
    saved = {key: os.environ.get(key) for key in service.client_env()}
    os.environ.update(service.client_env())
    yield service
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # A failed test that ran our processes shows their log tails in its report, not only on disk.
    runner = getattr(item, "funcargs", {}).get("process_runner")
    if report.failed and isinstance(runner, ProcessRunner) and runner.processes:
        report.sections.append(("process logs", runner.log_report()))
    return report


@pytest.fixture
def process_runner(tmp_path: Path) -> Iterator[ProcessRunner]:
    """A `ProcessRunner` writing under this test's tmp_path; stops its processes at teardown."""
    runner = ProcessRunner(tmp_path / "processes")
    yield runner
    runner.stop_all()
