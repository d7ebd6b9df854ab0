"""The safety filter seen in the page, on a real service with a real checker.

The service runs the mock engine with SAFETY_CHECKER=sd_checker and the tiny converted
checker that flags every image (tests/support/tiny_safety_checker.py): every image is
covered before it is stored, and its job JSON says ``nsfw: true``. The page must say so
in words, offer no "Use as input" for a cover, and show the filter in the header.
A second service asks for a checker that is not there: it stays degraded and says why.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, open_page, open_ui, prompt_field, result_panel
from tests.support.live_server import LiveServer, live_server

# The checker runs on OpenVINO (CPU); the engine is the mock.
pytestmark = [pytest.mark.browser, pytest.mark.server]

NOTICE = "Covered by the safety filter. The original image was not kept."


def checker_settled(health: dict[str, Any]) -> bool:
    """Loaded, or not loaded for a reason other than still loading."""
    reason = str(health.get("reason", ""))
    return bool(health["safety"]["loaded"]) or not reason.startswith("Loading")


@pytest.fixture(scope="module")
def filtering_server(
    chromium_path: str,
    tiny_safety_checker_flag_all_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    tmp_path = tmp_path_factory.mktemp("safety")
    env = {
        "USE_MOCKS": "true",
        "GENERATED_DIR": str(tmp_path / "generated"),
        "MODEL_DIR": str(tmp_path / "models"),
        "SAFETY_CHECKER": "sd_checker",
        "SAFETY_CHECKER_DIR": str(tiny_safety_checker_flag_all_dir),
        "OPENVINO_DEVICE": "CPU",
        "OV_CACHE_DIR": str(tmp_path / "ov-cache"),
    }
    with live_server(env=env, log_path=tmp_path / "server.log") as server:
        # Ready, or held for good by a checker that did not load: its reason, not a timeout.
        health = server.wait_for_health(
            checker_settled, "the safety checker to load or fail", timeout=120
        )
        assert health["status"] == "ok", health.get("reason")
        server.wait_until_ready()
        yield server


@pytest.fixture
def filtering_page(browser: Browser, filtering_server: LiveServer) -> Iterator[Page]:
    with open_page(browser, filtering_server, DESKTOP) as page:
        yield page


@pytest.mark.openvino
def test_a_covered_image_says_so_and_offers_no_unfiltered_copy(
    filtering_page: Page, filtering_server: LiveServer
) -> None:
    page = filtering_page
    open_ui(page)
    chip = page.locator("#health-safety")
    expect(chip).to_have_text("safety filter on")
    expect(chip).to_have_attribute("aria-label", re.compile(r"^Safety filter on: .*blurred"))

    prompt = "a covered lighthouse for the safety notice"
    prompt_field(page).fill(prompt)
    page.get_by_label("Width").fill("64")
    page.get_by_label("Height").fill("64")
    page.get_by_role("button", name="Generate").click()

    result = result_panel(page)
    # The status line is a live region: a screen reader hears it as the job ends.
    expect(result.get_by_role("status")).to_have_text(
        re.compile(r"Complete in .*\. The safety filter covered the image\.")
    )
    expect(result.get_by_text(NOTICE)).to_be_visible()
    expect(
        result.get_by_role("img", name=re.compile(r"^Covered by the safety filter\."))
    ).to_be_visible()
    expect(result.get_by_role("button", name="Use as input")).to_have_count(0)
    download = result.get_by_role("link", name="Download covered PNG")
    expect(download).to_have_attribute("download", re.compile(r"-covered\.png$"))
    href = download.get_attribute("href")
    assert href is not None

    card = page.locator(".card", has_text=prompt)
    expect(card.get_by_text(NOTICE)).to_be_visible()
    expect(card.get_by_role("button", name="Use as input")).to_have_count(0)
    expect(card.get_by_role("button", name="Use these settings")).to_be_visible()
    expect(card.get_by_role("link", name="Download covered")).to_have_attribute("href", href)
    expect(
        card.get_by_role("link", name=re.compile(r"^Covered by the safety filter\."))
    ).to_be_visible()

    # What the page showed is what the service says, and the file it links is the cover.
    job_id = card.get_attribute("data-job-id")
    job = httpx.get(f"{filtering_server.base_url}/jobs/{job_id}", timeout=10).json()
    assert [image["nsfw"] for image in job["images"]] == [True]
    assert job["images"][0]["url"] == href


@pytest.fixture(scope="module")
def missing_checker_server(
    chromium_path: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    tmp_path = tmp_path_factory.mktemp("no-checker")
    env = {
        "USE_MOCKS": "true",
        "GENERATED_DIR": str(tmp_path / "generated"),
        "MODEL_DIR": str(tmp_path / "models"),
        "SAFETY_CHECKER": "sd_checker",
        "SAFETY_CHECKER_DIR": str(tmp_path / "no-checker-here"),
    }
    with live_server(env=env, log_path=tmp_path / "server.log") as server:
        server.wait_for_health(
            lambda body: "reason" in body and "safety checker" in body["reason"],
            "the missing checker to show in /health",
        )
        yield server


def test_a_checker_that_cannot_load_shows_why_and_no_image_is_made(
    browser: Browser, missing_checker_server: LiveServer
) -> None:
    with open_page(browser, missing_checker_server, DESKTOP) as page:
        page.goto("/")
        expect(page.locator("#health")).to_have_attribute("data-status", "degraded")
        expect(page.locator("#health-safety")).to_have_text("safety filter not ready")
        banner = page.locator("#health-banner")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("The service is degraded.")
        expect(banner).to_contain_text("The safety checker is not in")
        expect(banner.locator("code")).to_contain_text(["make download-safety-checker"])
        expect(banner).to_contain_text("SAFETY_CHECKER=off serves without the filter")
