"""The released web UI (matyan-ui 0.3.2, served by ``matyan-backend start --ui``) in headless Debian chromium.

One stack for the module (full_stack_fixture.py: what ``make run`` starts, plus the released frontier, with
one run logged through the released client). Each test drives the real UI with Playwright and asserts on
what the page shows, then on the calls it made: every response from our origin must be < 400 and no
request to it may fail. Requests leaving 127.0.0.1 are aborted (the test never uses the internet); only
the documented offline assets may be among them (docs/http-contract.md, The web UI): Google Fonts, the pyodide
CDN, Segment and the GitHub releases API. The one page error allowed is the pyodide loader's absence.

Screenshots, named by page, go to tests-integration/artifacts/screenshots/ (CI keeps that folder).

The metrics explorer is reached the way a user clicks to it (client-side routing from the runs page);
reloading it and every other explorer directly is test_e2e_make_run.py's browser test.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import full_stack_training as script
import pytest
import released_stack_training as base
from full_stack_fixture import IngestedStack, ingested_stack
from matyan_dev_services import KafkaService, S3Service
from playwright.sync_api import Browser, Page, Playwright, Request, Response, Route, expect, sync_playwright

pytestmark = [pytest.mark.services, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"
# Hosts of the assets the UI fetches from the internet and may not get offline
# (docs/http-contract.md, The web UI).
OFFLINE_HOSTS = frozenset(
    {"fonts.googleapis.com", "fonts.gstatic.com", "cdn.jsdelivr.net", "cdn.segment.com", "api.github.com"}
)
# index.html loads pyodide from its CDN; without it App.tsx's loadPyodide() call throws on mount.
ALLOWED_PAGE_ERRORS = ("loadPyodide",)
WAIT_MS = 30_000
# Generous waits for a shared CI machine; they bound a wait, they assert nothing about time.
expect.set_options(timeout=WAIT_MS)


@dataclass
class CallLog:
    """What one page asked of the network: our API's answers, failures, and what left the machine."""

    origin: str
    api_responses: list[tuple[int, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def on_response(self, response: Response) -> None:
        if not response.url.startswith(self.origin):
            return
        if urlsplit(response.url).path.startswith("/api/"):
            self.api_responses.append((response.status, response.url))
        if response.status >= 400:
            self.failures.append(f"{response.status} {response.request.method} {response.url}")

    def on_request_failed(self, request: Request) -> None:
        # The UI cancels its own in-flight calls when the user moves to another tab (ERR_ABORTED);
        # a server that fails shows up as an error status or a reset/empty response instead.
        if request.url.startswith(self.origin) and request.failure != "net::ERR_ABORTED":
            self.failures.append(f"failed ({request.failure}) {request.method} {request.url}")

    def api_paths(self) -> list[str]:
        return [urlsplit(url).path for _, url in self.api_responses]

    def assert_clean(self) -> None:
        assert self.api_responses, "the page made no call to our API"
        assert self.failures == []
        unexpected_hosts = {urlsplit(url).hostname for url in self.external} - OFFLINE_HOSTS
        assert unexpected_hosts == set(), self.external
        unexpected_errors = [e for e in self.page_errors if not any(a in e for a in ALLOWED_PAGE_ERRORS)]
        assert unexpected_errors == []


@dataclass
class UiPage:
    page: Page
    calls: CallLog
    stack: IngestedStack

    def open(self, path: str) -> None:
        self.page.goto(f"{self.stack.api_base}{path}")

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def stack(
    kafka_service: KafkaService, s3_service: S3Service, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IngestedStack]:
    with ingested_stack(kafka_service, s3_service, tmp_path_factory.mktemp("browser-ui")) as running:
        yield running


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        # Not a skip: this test is the only check of the real UI. `make setup` installs Debian's chromium.
        pytest.fail(
            f"{CHROMIUM} is missing: run `make setup` as root or with sudo (infra/dev/install-tools.sh "
            "installs it with `apt-get install chromium`), or install the Debian `chromium` package yourself",
            pytrace=False,
        )
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def ui(browser: Browser, stack: IngestedStack) -> Iterator[UiPage]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    calls = CallLog(origin=stack.api_base)

    def leave_offline(route: Route) -> None:
        calls.external.append(route.request.url)
        route.abort("internetdisconnected")

    # Everything not on our origin is aborted, so the test behaves the same with and without internet.
    context.route(lambda url: not url.startswith(stack.api_base), leave_offline)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.on("response", calls.on_response)
    page.on("requestfailed", calls.on_request_failed)
    page.on("pageerror", lambda error: calls.page_errors.append(str(error)))
    yield UiPage(page=page, calls=calls, stack=stack)
    context.close()


def test_runs_page_lists_the_run(ui: UiPage) -> None:
    ui.open("/runs")
    table = ui.page.locator(".Table__container, .BaseTable").first
    expect(ui.page.get_by_text(base.RUN_NAME, exact=True).first).to_be_visible()
    expect(ui.page.get_by_text(base.EXPERIMENT, exact=True).first).to_be_visible()
    expect(ui.page.get_by_text(base.TAG, exact=True).first).to_be_visible()
    expect(table).to_contain_text("hparams.optimizer")
    expect(table).to_contain_text('"adam"')
    expect(table).to_contain_text("0.0100099")  # loss's last value, shown in its column
    ui.screenshot("runs")
    assert "/api/v1/rest/runs/search/run" in ui.calls.api_paths()
    ui.calls.assert_clean()


def test_metrics_explorer_draws_a_chart_for_a_query(ui: UiPage) -> None:
    ui.open("/runs")
    ui.page.get_by_role("link", name="Metrics").first.click()
    expect(ui.page.get_by_role("heading", name="Metrics Explorer")).to_be_visible()
    ui.page.locator('div[title^="Enable advanced search mode"] button').click()
    ui.page.locator(".Metrics__SelectForm .monaco-editor").first.click()
    ui.page.keyboard.type('metric.name == "loss"')
    ui.page.keyboard.press("Escape")  # closes the autocomplete list
    with ui.page.expect_response(lambda r: "/runs/search/metric" in r.url) as searched:
        ui.page.locator("button.Metrics__SelectForm__search__button").click()
    assert "loss" in searched.value.url
    lines = ui.page.locator(".Metrics__chart__container svg path.Line")
    expect(lines).to_have_count(1)
    # A drawn line: its path has one segment per plotted point (the chart asked for at most 500).
    drawn = lines.first.get_attribute("d") or ""
    assert drawn.count("L") + drawn.count("C") >= 10, drawn
    expect(ui.page.locator(".Metrics__chart__container")).to_contain_text('metric.name="loss"')
    expect(ui.page.get_by_text(base.RUN_NAME, exact=True).first).to_be_visible()
    ui.screenshot("metrics-explorer")
    ui.calls.assert_clean()


def _run_tab(ui: UiPage, name: str) -> None:
    ui.page.get_by_role("tab", name=name, exact=True).click()


def test_run_page_params_metrics_and_logs(ui: UiPage) -> None:
    ui.open(f"/runs/{ui.stack.run_id}")
    expect(ui.page).to_have_url(f"{ui.stack.api_base}/runs/{ui.stack.run_id}/overview")
    header = ui.page.get_by_text(f"/ {base.RUN_NAME}")
    expect(header).to_be_visible()
    expect(ui.page.get_by_text("Finished", exact=True).first).to_be_visible()
    expect(ui.page.get_by_text(base.ARTIFACT_NAME, exact=True)).to_be_visible()
    ui.screenshot("run-overview")

    _run_tab(ui, "Run Params")
    params = ui.page.locator("#root")
    for shown in ('"hparams":', '"optimizer":', '"adam"', '"warmup":', '"seed":', str(base.SEED)):
        expect(params).to_contain_text(shown)
    ui.screenshot("run-params")

    _run_tab(ui, "Metrics")
    expect(ui.page.get_by_text('subset="train"')).to_be_visible()
    expect(ui.page.get_by_text("Empty context")).to_be_visible()
    lines = ui.page.locator("svg path.Line")
    expect(lines).to_have_count(2)  # loss and accuracy, one chart each
    ui.screenshot("run-metrics")

    _run_tab(ui, "Logs")
    for line in script.PRINTED_LINES:
        expect(ui.page.get_by_text(line, exact=True)).to_be_visible()
    ui.screenshot("run-logs")

    _run_tab(ui, "Messages")
    expect(ui.page.get_by_text(base.LOG_MESSAGE, exact=True)).to_be_visible()
    expect(ui.page.get_by_text("INFO", exact=True).first).to_be_visible()
    expect(ui.page.get_by_text('"warmup"', exact=True).first).to_be_visible()
    ui.screenshot("run-messages")

    paths = ui.calls.api_paths()
    run_api = f"/api/v1/rest/runs/{ui.stack.run_id}"
    for called in ("/info", "/metric/get-batch", "/logs", "/log-records"):
        assert f"{run_api}{called}" in paths, paths
    ui.calls.assert_clean()


def test_run_page_images_texts_and_distributions(ui: UiPage) -> None:
    ui.open(f"/runs/{ui.stack.run_id}")

    _run_tab(ui, "Texts")
    for text in base.TEXT_STEPS.values():
        first_line = text.splitlines()[0]
        expect(ui.page.get_by_text(first_line)).to_be_visible()
    ui.screenshot("run-texts")

    _run_tab(ui, "Images")
    for step, caption in script.IMAGE_CAPTIONS.items():
        image = ui.page.get_by_role("img", name=caption, exact=True)
        expect(image).to_be_visible()
        # Loaded and decoded: the browser knows its pixel size, and the bytes are the ones logged.
        expect(image).to_have_js_property("naturalWidth", script.IMAGE_SIZE)
        src = image.get_attribute("src") or ""
        header, _, payload = src.partition(",")
        assert header.lower() == "data:image/png;base64", header
        assert base64.b64decode(payload.strip()) == script.image_bytes(step)
    ui.screenshot("run-images")

    _run_tab(ui, "Distributions")
    expect(ui.page.get_by_text(base.DIST_NAME, exact=True)).to_be_visible()
    expect(ui.page.get_by_text("Step 0", exact=True)).to_be_visible()
    ui.screenshot("run-distributions")

    paths = ui.calls.api_paths()
    run_api = f"/api/v1/rest/runs/{ui.stack.run_id}"
    for called in (
        f"{run_api}/texts/get-batch",
        f"{run_api}/images/get-batch",
        "/api/v1/rest/runs/images/get-batch",
    ):
        assert called in paths, paths
    ui.calls.assert_clean()
