"""Editing from the page on the real OpenVINO engine and the tiny random-weight model: an
uploaded image, a painted mask, Generate, and the result with its mode and the steps that
really ran. The mock is not involved anywhere here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, open_page, open_ui, prompt_field, status_line
from tests.browser.test_editing import choose_file, image_area, paint, write_png
from tests.support.live_server import LiveServer, live_server

pytestmark = [pytest.mark.browser, pytest.mark.openvino, pytest.mark.server]

TIMES = "\N{MULTIPLICATION SIGN}"
ENGINE_DEADLINE_MS = 180_000


@pytest.fixture(scope="module")
def openvino_server(
    chromium_path: str, tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    tmp_path = tmp_path_factory.mktemp("ui-openvino")
    env = {
        "MODEL_DIR": str(tiny_model_dir),
        "GENERATED_DIR": str(tmp_path / "generated"),
        "OV_CACHE_DIR": str(tmp_path / "ov-cache"),
        "OPENVINO_DEVICE": "CPU",
    }
    with live_server(env, tmp_path / "server.log") as server:
        server.wait_until_ready()
        yield server


@pytest.fixture
def openvino_page(browser: Browser, openvino_server: LiveServer) -> Iterator[Page]:
    with open_page(browser, openvino_server, DESKTOP) as page:
        yield page


def test_inpainting_from_the_page_on_the_tiny_model(openvino_page: Page, tmp_path: Path) -> None:
    page = openvino_page
    open_ui(page)
    prompt_field(page).fill("a repainted corner")
    page.get_by_label("Steps").fill("4")
    page.get_by_role("checkbox", name="Random").uncheck()
    page.get_by_role("spinbutton", name="Seed").fill("7")
    choose_file(page, write_png(tmp_path / "input.png", 64, 64))
    area = image_area(page)
    expect(area.get_by_text(f"Output 64 {TIMES} 64, from the input.")).to_be_visible()
    page.get_by_label("Strength").fill("0.5")
    paint(page, fractions=[(0.2, 0.2), (0.5, 0.5), (0.8, 0.8)])
    expect(area.get_by_text("Inpainting:")).to_be_visible()

    page.get_by_role("button", name="Generate").click()
    # The engine compiles the inpainting pipeline on its first use: on a busy machine that
    # takes longer than a page action may, so the end is awaited with the engine's deadline.
    status = status_line(page)
    expect(status).to_have_attribute(
        "data-state", re.compile("complete|error|cancelled"), timeout=ENGINE_DEADLINE_MS
    )
    assert status.get_attribute("data-state") == "complete", status.text_content()
    expect(page.locator("#progress-text")).to_have_text("Step 2 of 2")
    params = page.locator("#result-params")
    expect(params).to_contain_text("Inpainting")
    expect(params).to_contain_text("2 of 4")
    expect(params).not_to_contain_text("mock")
    card = page.locator(".card").first
    expect(card.locator(".card-mode")).to_have_text("Inpainting")

    jobs = page.request.get("/jobs").json()["jobs"]
    job = next(each for each in jobs if each["params"]["prompt"] == "a repainted corner")
    assert job["mode"] == "inpainting"
    assert job["mock"] is False
    assert (job["params"]["width"], job["params"]["height"]) == (64, 64)
