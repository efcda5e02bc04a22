"""The matyan-backend command is assembled from the installed packages' entry points."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from matyan_ops import cli
from matyan_ops.commands import WORKSPACE_PACKAGES, installed_versions


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from matyan_ops.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_help_lists_every_known_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    for name in [*cli.COMMAND_PROVIDERS, "version"]:
        assert name in result.stdout


def test_version_reports_every_workspace_package() -> None:
    result = run_cli("version", "--json")
    assert result.returncode == 0, result.stderr
    versions = json.loads(result.stdout)
    assert set(versions) == set(WORKSPACE_PACKAGES)
    assert versions == installed_versions()
    assert all(v is not None for v in versions.values())


def test_entry_points_register_commands() -> None:
    app = cli.build_app()
    assert "version" in app


def test_missing_provider_names_the_package(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_is_installed", lambda distribution: distribution != "matyan-api")
    run = cli._missing_command("start", "matyan-api")
    assert run() == cli.MISSING_COMMAND_EXIT_CODE
    err = capsys.readouterr().err
    assert "matyan-api" in err
    assert "not installed" in err


# What a command must not import unless it needs it: TensorBoard's reader and the cloud SDKs (ops jobs),
# the web stack (the API), OpenTelemetry (only with an OTLP endpoint).
HEAVY = ("tensorboard", "boto3", "botocore", "s3fs", "gcsfs", "adlfs", "fastapi", "granian", "opentelemetry")

_PROBE = """
import json, sys
from matyan_ops.cli import build_app
try:
    build_app()(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def imported_by(*args: str) -> set[str]:
    """The top-level packages a process has imported after running ``matyan-backend ARGS``."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("command", ["ingest-worker", "control-worker", "start", "version"])
def test_a_command_imports_only_what_it_needs(command: str) -> None:
    loaded = imported_by(command, "--help")
    assert "cyclopts" in loaded  # the probe did run the CLI
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_an_ops_command_still_gets_its_module() -> None:
    assert "tensorboard" in imported_by("convert", "tensorboard", "--help")
