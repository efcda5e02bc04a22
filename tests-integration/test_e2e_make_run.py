"""``make run`` as a new user meets it: the script, its printed snippet, ``make demo``, the UI with a login.

One stack for the module: ``infra/dev/run-local.sh`` itself, started as a subprocess with a temporary
``RUN_DIR``, free ports and ``MATYAN_AUTH=enabled`` (so the printed snippet carries a token in its repo URL
and the UI asks for a login). Then:

- the snippet, run exactly as printed with the released client, logs a run our API shows;
- the released client's HTTP calls authenticate with the URL's ``user:token`` (HTTP Basic);
- ``infra/dev/demo_runs.py`` (``make demo``) logs its runs with every kind of object;
- headless chromium signs in with the printed token, sees the runs explorer, and every UI route
  reloads into the UI (``/metrics`` included), with screenshots in tests-integration/artifacts/screenshots/;
- no process log holds the token.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from matyan_dev_services import ProcessRunner, find_free_port
from playwright.sync_api import Browser, Page, expect
from test_e2e_browser_ui import SCREENSHOTS, WAIT_MS, browser, playwright

__all__ = ["browser", "playwright"]

pytestmark = [pytest.mark.services, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
RUN_LOCAL = REPO / "infra" / "dev" / "run-local.sh"
DEMO = REPO / "infra" / "dev" / "demo_runs.py"
UP_DEADLINE_S = 180.0
INGEST_DEADLINE_S = 90.0
# The explorers and pages of the released UI (its route table), each reloaded in the browser.
EXPLORERS = ("/runs", "/metrics", "/params", "/text", "/images", "/audios", "/figures", "/scatters")
OBJECT_KINDS = ("metric", "images", "texts", "distributions", "audios", "figures")


@dataclass(frozen=True)
class LocalStack:
    """``make run``'s stack and what it printed."""

    api_base: str
    token: str
    snippet: list[str]
    runner: ProcessRunner
    # Filled by the demo test, reloaded as run pages by the browser test.
    demo_runs: list[str] = field(default_factory=list)

    def get(self, path: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.get(f"{self.api_base}{path}", headers=headers, timeout=10)

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.runner.path.rglob("*.log"))


def _wait_printed(runner: ProcessRunner, log: Path) -> str:
    deadline = time.monotonic() + UP_DEADLINE_S
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if "Press Ctrl-C to stop." in text:
            return text
        if not runner.processes[0].alive():
            break
        time.sleep(0.5)
    raise AssertionError(f"run-local.sh did not come up:\n{runner.log_report(200)}")


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    directory = tmp_path_factory.mktemp("make-run")
    runner = ProcessRunner(directory / "processes")
    ports = {
        name: str(find_free_port())
        for name in ("KAFKA", "S3", "API", "FRONTIER", "INGEST_METRICS", "CONTROL_METRICS")
    }
    env = {
        **os.environ,
        "RUN_DIR": str(directory / "run"),
        "MATYAN_AUTH": "enabled",
        "MATYAN_LMDB_SYNC": "false",
        **{f"MATYAN_DEV_{name}_PORT": port for name, port in ports.items()},
    }
    try:
        runner.start("run-local", [str(RUN_LOCAL)], env=env, cwd=REPO)
        printed = _wait_printed(runner, runner.path / "run-local.log")
        token = re.search(r"admin token \(sign in to the UI with it\): (\S+)", printed)
        assert token is not None, printed
        lines = printed.splitlines()
        start = next(i for i, line in enumerate(lines) if line.strip() == "from matyan_client import Run")
        snippet = [line.strip() for line in lines[start : start + 3]]
        yield LocalStack(f"http://127.0.0.1:{ports['API']}", token.group(1), snippet, runner)
    finally:
        runner.stop_all()


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def _wait_run(stack: LocalStack, run_id: str, kinds: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + INGEST_DEADLINE_S
    info: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = stack.get(f"/api/v1/rest/runs/{run_id}/info/")
        if response.status_code == 200:
            info = response.json()
            if not info["props"]["active"] and all(info["traces"].get(kind) for kind in kinds):
                return info
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} not ingested in time; last info: {info}")


def test_printed_snippet_logs_a_run_the_api_shows(local_stack: LocalStack, tmp_path: Path) -> None:
    snippet = local_stack.snippet
    assert snippet[0] == "from matyan_client import Run"
    assert snippet[1].startswith('run = Run(repo="http://run-local:mty_')
    assert "frontier_url=" in snippet[1]
    assert snippet[2].startswith("run.track(")
    result = _python("\n".join([*snippet, "print(run.hash)"]), tmp_path)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip().splitlines()[-1]
    info = _wait_run(local_stack, run_id, ("metric",))
    assert [t["name"] for t in info["traces"]["metric"]] == ["loss"]

    # The released client's own HTTP calls carry the URL's user:token as HTTP Basic auth.
    repo_url = re.search(r'repo="([^"]+)"', snippet[1])
    assert repo_url is not None
    listed = _python(
        "from matyan_client import Repo\n"
        f"print('with token', Repo({repo_url.group(1)!r}).list_all_runs())\n"
        f"print('without', Repo({local_stack.api_base!r}).list_all_runs())\n",
        tmp_path,
    )
    assert listed.returncode == 0, listed.stderr
    with_token, without = listed.stdout.splitlines()[-2:]
    assert run_id in with_token
    # Without the token the API answers 401, which the client logs (it returns no runs).
    assert run_id not in without
    assert "401 Unauthorized" in listed.stderr


def test_demo_logs_every_kind_of_object(local_stack: LocalStack, tmp_path: Path) -> None:
    repo_url = local_stack.api_base.replace("http://", f"http://demo:{local_stack.token}@")
    frontier = re.search(r'frontier_url="([^"]+)"', local_stack.snippet[1])
    assert frontier is not None
    result = subprocess.run(
        [sys.executable, str(DEMO), "--repo", repo_url, "--frontier", frontier.group(1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    problems = [line for line in result.stderr.splitlines() if "| ERROR" in line or "| WARNING" in line]
    assert problems == []
    run_ids = re.findall(r"^logged run ([0-9a-f]+)$", result.stdout, re.MULTILINE)
    assert len(run_ids) == 3
    local_stack.demo_runs.extend(run_ids)
    for run_id in run_ids:
        info = _wait_run(local_stack, run_id, OBJECT_KINDS)
        assert info["props"]["experiment"]["name"] == "demo-image-classifier"
    records = local_stack.get(f"/api/v1/rest/runs/{run_ids[2]}/log-records/")
    assert records.status_code == 200
    assert b"loss spiked" in records.content
    terminal = local_stack.get(f"/api/v1/rest/runs/{run_ids[0]}/logs/")
    assert terminal.status_code == 200
    assert b"finished with accuracy" in terminal.content


def _sign_in(page: Page, stack: LocalStack) -> None:
    page.goto(f"{stack.api_base}/runs")
    # The API ends every path with a slash before routing; the UI's router accepts both forms.
    expect(page).to_have_url(re.compile(r"/login/\?next=%2Fruns(%2F)?$"))
    page.get_by_label("API token").fill("mty_000000000000_" + "0" * 64)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That token is not valid.")).to_be_visible()
    page.get_by_label("API token").fill(stack.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile("^" + re.escape(f"{stack.api_base}/runs")))


def test_browser_signs_in_and_every_explorer_reloads_into_the_ui(
    local_stack: LocalStack, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    # The test never uses the internet: everything off our origin is aborted.
    context.route(lambda url: not url.startswith(local_stack.api_base), lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    api_statuses: list[tuple[int, str]] = []
    page.on(
        "response",
        lambda r: api_statuses.append((r.status, r.url)) if "/api/" in r.url else None,
    )
    try:
        _sign_in(page, local_stack)
        expect(page.get_by_text("demo-image-classifier").first).to_be_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "make-run-runs-after-login.png"), full_page=True)
        cookie = next(c for c in context.cookies() if c["name"] == "matyan_session")
        assert cookie["httpOnly"] is True
        assert local_stack.token not in cookie["value"]

        assert local_stack.demo_runs, "the demo test runs first and logs the runs shown here"
        for path in (*EXPLORERS, f"/runs/{local_stack.demo_runs[0]}"):
            page.goto(f"{local_stack.api_base}{path}")
            page.reload()
            expect(page).to_have_url(re.compile("^" + re.escape(local_stack.api_base + path)))
            # The UI's shell (its sidebar) rendered, not the Prometheus text nor the login page.
            expect(page.get_by_role("link", name="Metrics").first).to_be_visible()
            assert "# HELP" not in page.content()
            name = path.strip("/").replace("/", "-")[:20]
            page.screenshot(path=str(SCREENSHOTS / f"make-run-reload-{name}.png"))
        assert [s for s in api_statuses if s[0] in (401, 403)] == []
    finally:
        context.close()


def test_no_process_log_holds_the_token(local_stack: LocalStack) -> None:
    logs = local_stack.logs()
    assert "run-local" in logs
    # run-local.sh prints the admin token once on purpose (its own output); no service logs it.
    service_logs = "".join(
        p.read_text(errors="replace") for p in (local_stack.runner.path.parent / "run").glob("*.log")
    )
    assert service_logs
    assert local_stack.token not in service_logs
    assert local_stack.token.rsplit("_", 1)[1] not in service_logs
