"""Fixtures for the browser tests: one mock server and one Chromium for the folder.

The server is shared to keep the suite fast, so tests must not assume an empty
history or an idle queue from the others: each finds its own jobs by prompt or id,
and cancels the jobs it queued through the API.

Playwright's own browser downloads are not used: the tests drive the system's
Chromium (Debian's `chromium` package) and skip when it is not installed.
"""

from __future__ import annotations

import mimetypes
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    Error,
    Locator,
    Page,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.support.live_server import LiveServer, live_server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
UNITS_DIR = Path(__file__).parent / "units"
# How long an action or an expectation may wait before the test fails. Only a broken page
# should reach it; a busy CI machine (a mock job of 4 large images behind another) must not.
DEADLINE_MS = 20_000
expect.set_options(timeout=DEADLINE_MS)
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
NARROW: ViewportSize = {"width": 360, "height": 740}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip(
            "Chromium is not installed (apt-get install -y chromium); browser tests skipped"
        )
    return path


# Package scope, not session: Playwright's sync API keeps an event loop running while it
# lives, which would break asyncio.run() in the tests collected after this folder.
@pytest.fixture(scope="package")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="package")
def ui_server(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp_path = tmp_path_factory.mktemp("ui")
    env = {
        "USE_MOCKS": "true",
        "GENERATED_DIR": str(tmp_path / "generated"),
        "MODEL_DIR": str(tmp_path / "models"),
    }
    with live_server(env=env, log_path=tmp_path / "server.log") as server:
        yield server


# The shared service's key for the sign-in tests: a named client, as a classroom's would be.
KEYED_CLIENT, KEYED_KEY = "teacher", "k-123"


@pytest.fixture(scope="module")
def keyed_server(
    chromium_path: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A second mock server, one per test module, that wants an API key (API_KEYS)."""
    tmp_path = tmp_path_factory.mktemp("keyed")
    env = {
        "USE_MOCKS": "true",
        "GENERATED_DIR": str(tmp_path / "generated"),
        "MODEL_DIR": str(tmp_path / "models"),
        "API_KEYS": f"{KEYED_CLIENT}:{KEYED_KEY}",
    }
    with live_server(env=env, log_path=tmp_path / "server.log") as server:
        yield server


@contextmanager
def open_page(browser: Browser, server: LiveServer, viewport: ViewportSize) -> Iterator[Page]:
    """A fresh page of ``viewport`` on ``server``; uncaught page errors fail the test."""
    context = browser.new_context(base_url=server.base_url, viewport=viewport)
    context.set_default_timeout(DEADLINE_MS)
    page = context.new_page()
    page_errors: list[Error] = []

    def on_page_error(error: Error) -> None:
        page_errors.append(error)

    page.on("pageerror", on_page_error)
    try:
        yield page
    finally:
        context.close()
    assert not page_errors, f"uncaught errors in the page: {page_errors}"


@pytest.fixture
def page(browser: Browser, ui_server: LiveServer) -> Iterator[Page]:
    """A fresh desktop-sized page on the live server."""
    with open_page(browser, ui_server, DESKTOP) as page:
        yield page


@pytest.fixture
def narrow_page(browser: Browser, ui_server: LiveServer) -> Iterator[Page]:
    """A fresh page as wide as a small phone held upright."""
    with open_page(browser, ui_server, NARROW) as page:
        yield page


def result_panel(page: Page) -> Locator:
    """The "Latest image" region: status line, progress, Cancel and the image."""
    return page.get_by_role("region", name="Latest image")


def status_line(page: Page) -> Locator:
    """The result's status line (its data-state says which state it shows)."""
    return result_panel(page).get_by_role("status")


def prompt_field(page: Page) -> Locator:
    # Exact: "Negative prompt (optional)" holds the word too.
    return page.get_by_label("Prompt", exact=True)


def open_ui(page: Page) -> None:
    """Load the UI and wait until it has heard from the service: Generate is enabled then."""
    page.goto("/")
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()


def serve_units(route: Route) -> None:
    """Answer /__units__/<name> with tests/browser/units/<name>, on the server's origin."""
    name = route.request.url.rsplit("/__units__/", 1)[1].split("?")[0]
    path = UNITS_DIR / name
    if "/" in name or not path.is_file():
        route.fulfill(status=404, body="no such unit-test file")
        return
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if name.endswith(".js"):
        content_type = "text/javascript"
    route.fulfill(status=200, content_type=content_type, body=path.read_bytes())


@pytest.fixture(scope="module")
def units_tab(browser: Browser, ui_server: LiveServer) -> Iterator[Page]:
    """One tab per test module for the unit tests; each test reloads it (see units_page)."""
    with open_page(browser, ui_server, DESKTOP) as page:
        page.route("**/__units__/*", serve_units)
        yield page


@pytest.fixture
def units_page(units_tab: Page) -> Page:
    """A fresh blank page on the live server with the fakes loaded: tests import /static/*.js."""
    units_tab.goto("/__units__/page.html")
    expect(units_tab.locator("html")).to_have_attribute("data-ready", "true")
    return units_tab
