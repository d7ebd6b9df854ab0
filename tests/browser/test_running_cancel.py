"""Cancelling a job while it runs, on a mock whose steps take long enough to click."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DEADLINE_MS, DESKTOP, open_ui, prompt_field, status_line
from tests.support.live_server import LiveServer, live_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def paced_server(
    chromium_path: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    tmp_path: Path = tmp_path_factory.mktemp("paced")
    env = {
        "USE_MOCKS": "true",
        "MOCK_STEP_SECONDS": "0.1",
        "GENERATED_DIR": str(tmp_path / "generated"),
        "MODEL_DIR": str(tmp_path / "models"),
    }
    with live_server(env=env, log_path=tmp_path / "server.log") as server:
        yield server


@pytest.fixture
def paced_page(browser: Browser, paced_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=paced_server.base_url, viewport=DESKTOP)
    context.set_default_timeout(DEADLINE_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_a_running_job_can_be_cancelled(paced_page: Page) -> None:
    page = paced_page
    open_ui(page)
    prompt_field(page).fill("a job stopped half way")
    page.get_by_label("Steps").fill("100")  # 10 s at 0.1 s a step
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        prompt_field(page).press("Enter")
    job_id = answer.value.json()["job_id"]
    status = status_line(page)
    expect(status).to_have_attribute("data-state", "generating")
    # Running for real: a few steps done, so the cancel lands mid-way.
    page.wait_for_function(
        "Number(document.getElementById('progress').dataset.step) >= 2", timeout=20_000
    )
    with page.expect_response(lambda r: r.request.method == "DELETE") as cancelled:
        page.get_by_role("button", name="Cancel").click()
    body = cancelled.value.json()
    assert body["status"] == "cancelled"
    assert 0 < body["progress"]["step"] < 100
    expect(status).to_have_attribute("data-state", "cancelled")
    expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
    job = page.request.get(f"/jobs/{job_id}").json()
    assert job["status"] == "cancelled"
    assert job["images"] == []
