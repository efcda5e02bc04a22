"""matyan-workers installs, imports and plugs into the matyan-backend CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from importlib.resources import files

import cyclopts

import matyan_workers
from matyan_workers import commands


def test_package_imports_and_is_typed() -> None:
    assert matyan_workers.__doc__
    assert files("matyan_workers").joinpath("py.typed").is_file()


def test_commands_entry_point_points_at_register() -> None:
    eps = [
        ep for ep in entry_points(group="matyan_backend.commands") if ep.value.startswith("matyan_workers.")
    ]
    assert len(eps) == 1
    assert eps[0].load() is commands.register
    app = cyclopts.App(name="probe")
    commands.register(app)


def test_the_ingest_worker_imports_no_web_stack_cloud_sdk_or_tracing() -> None:
    # Start-up time is import time: the worker needs Kafka, the store and the models, nothing else.
    probe = (
        "import json, sys\n"
        "import matyan_workers.commands, matyan_workers.ingest.consumer\n"
        "from matyan_store.engine import open_engine\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(result.stdout))
    assert "aiokafka" in loaded
    heavy = {
        "tensorboard",
        "boto3",
        "botocore",
        "s3fs",
        "gcsfs",
        "adlfs",
        "fastapi",
        "granian",
        "opentelemetry",
    }
    assert loaded.isdisjoint(heavy), sorted(loaded & heavy)
