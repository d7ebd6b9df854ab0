"""The web UI in headless Chromium against a real mock-mode server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, Request, Response, Route, expect

pytestmark = pytest.mark.browser


def is_submit(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/jobs")


def record_posts(page: Page) -> list[Request]:
    posts: list[Request] = []

    def on_request(request: Request) -> None:
        if request.method == "POST":
            posts.append(request)

    page.on("request", on_request)
    return posts


def test_enter_in_the_prompt_generates_and_shows_the_image_and_its_seed(page: Page) -> None:
    page.goto("/")
    status = page.locator("#status")
    expect(status).to_have_attribute("data-state", "idle")
    prompt = page.locator("#prompt")
    prompt.fill("a lighthouse on a cliff")
    prompt.press("Shift+Enter")
    prompt.press_sequentially("at dusk")
    assert prompt.input_value() == "a lighthouse on a cliff\nat dusk"
    page.locator("#width").fill("256")
    page.locator("#height").fill("192")

    with page.expect_response(is_submit) as answer:
        prompt.press("Enter")
    assert answer.value.status == 202
    queued: dict[str, Any] = answer.value.json()
    assert queued["params"]["num_images"] == 1

    expect(status).to_have_attribute("data-state", "complete")
    expect(status).to_contain_text("Complete in")
    assert prompt.input_value() == "a lighthouse on a cliff\nat dusk", "Enter added a newline"
    job: dict[str, Any] = page.request.get(queued["urls"]["self"]).json()
    assert job["status"] == "succeeded"
    image = page.locator("#result-image")
    src = image.get_attribute("src")
    assert src is not None
    assert src.startswith("/images/")
    assert src == job["image_url"]
    assert image.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]") == [
        True,
        256,
        192,
    ]
    expect(page.locator("#result-seed")).to_have_text(str(job["seed"]))
    expect(page.locator("#result-params")).to_contain_text("256 \N{MULTIPLICATION SIGN} 192")
    expect(page.locator("#download")).to_have_attribute("href", job["image_url"])
    expect(page.locator("#submit")).to_be_enabled()

    page.locator("#reuse-seed").click()
    expect(page.locator("#seed-random")).not_to_be_checked()
    expect(page.locator("#seed")).to_have_value(str(job["seed"]))
    with page.expect_response(is_submit) as again:
        page.locator("#submit").click()
    sent = again.value.request.post_data_json
    assert sent is not None
    assert sent["seed"] == job["seed"]
    assert again.value.json()["seed"] == job["seed"]
    expect(status).to_have_attribute("data-state", "complete")
    expect(page.locator("#result-seed")).to_have_text(str(job["seed"]))


def test_the_button_disables_and_the_elapsed_time_ticks_while_generating(page: Page) -> None:
    posts = record_posts(page)
    # Hold POST /jobs back in the page until the test lets it go.
    page.add_init_script(
        """
        const realFetch = window.fetch;
        const held = new Promise((resolve) => { window.releaseSubmit = resolve; });
        window.fetch = async (input, init) => {
          if (String(input).endsWith("/jobs") && init?.method === "POST") await held;
          return realFetch(input, init);
        };
        """
    )
    page.goto("/")
    page.locator("#prompt").fill("a slow painting")
    page.locator("#width").fill("64")
    page.locator("#height").fill("64")
    page.locator("#prompt").press("Enter")

    status = page.locator("#status")
    expect(status).to_have_attribute("data-state", "queued")
    expect(status).to_contain_text("Sending")
    expect(page.locator("#submit")).to_be_disabled()
    expect(page.locator("#cancel")).to_be_hidden()  # nothing to cancel before it is queued
    expect(page.locator("#status-elapsed")).to_have_text("1 s")
    page.locator("#prompt").press("Enter")  # ignored: one generation at a time
    page.evaluate("window.releaseSubmit()")
    expect(status).to_have_attribute("data-state", "complete")
    expect(page.locator("#submit")).to_be_enabled()
    expect(page.locator("#status-elapsed")).to_have_text("")
    assert len(posts) == 1


def test_a_bad_size_is_caught_in_the_page_and_a_server_422_lands_on_its_field(
    page: Page,
) -> None:
    posts = record_posts(page)
    page.goto("/")
    page.locator("#prompt").fill("a bad size")
    width = page.locator("#width")
    width_error = page.locator("#width-error")
    status = page.locator("#status")

    width.fill("4096")
    page.locator("#submit").click()
    expect(width_error).to_be_visible()
    expect(width_error).to_have_text("Must be between 64 and 1024.")
    expect(width).to_have_attribute("aria-invalid", "true")
    expect(width).to_be_focused()
    expect(status).to_have_attribute("data-state", "error")
    expect(status).to_contain_text("width")

    width.fill("100")
    page.locator("#prompt").press("Enter")
    expect(width_error).to_have_text("Must be a multiple of 8.")

    width.fill("512")
    expect(width_error).to_be_hidden()
    expect(width).not_to_have_attribute("aria-invalid", "true")

    page.locator("#prompt").fill("   ")
    page.locator("#submit").click()
    expect(page.locator("#prompt-error")).to_have_text("Must not be empty.")
    page.wait_for_timeout(200)
    assert posts == [], "client-side validation failures must not reach the server"

    # Without the page's bound the server is the one to refuse, and says why.
    page.locator("#prompt").fill("a bad size")
    page.evaluate("document.getElementById('width').removeAttribute('max')")
    width.fill("4096")
    with page.expect_response(is_submit) as answer:
        page.locator("#submit").click()
    assert answer.value.status == 422
    error = answer.value.json()["error"]
    assert {"field": "width", "message": "Must be between 64 and 1024."} in error["details"]
    expect(status).to_have_attribute("data-state", "error")
    expect(status).to_contain_text(error["message"])
    expect(width_error).to_have_text("Must be between 64 and 1024.")
    expect(width).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#submit")).to_be_enabled()
    assert len(posts) == 1


def test_the_health_badge_shows_mock_mode(page: Page) -> None:
    page.goto("/")
    health = page.locator("#health")
    expect(health).to_have_attribute("data-mode", "mock")
    expect(health).to_have_attribute("data-status", "ok")
    expect(page.locator("#health-mode")).to_have_text("mock")
    expect(page.locator("#health-device")).to_have_text("device mock")
    expect(page.locator("#health-queue")).to_be_hidden()
    expect(page.locator("#health-banner")).to_be_hidden()


def test_a_degraded_service_shows_its_reason_and_the_device_fallback(page: Page) -> None:
    degraded = {
        "status": "degraded",
        "mock": False,
        "model": {"repo_id": "OpenVINO/sd", "cached": False, "dir": "/models"},
        "cache_dirs": {"models": "/models", "generated": "/generated"},
        "device": {"target": "GPU", "active": "CPU", "fallback_reason": "No Intel GPU found."},
        "version": "0.1.0",
        "reason": "The model is missing. Run `make download`, or try `make demo`.",
        "queue": {"queued": 2, "running": 1},
    }

    def fake_health(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(degraded))

    page.route("**/health", fake_health)
    page.goto("/")
    banner = page.locator("#health-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("The model is missing. Run make download, or try make demo.")
    expect(banner.locator("code")).to_have_text(["make download", "make demo"])
    device = page.locator("#health-device")
    expect(device).to_have_text("GPU → CPU fallback")
    expect(device).to_have_attribute("title", "Fell back: No Intel GPU found.")
    expect(page.locator("#health-mode")).to_have_text("real model")
    expect(page.locator("#health-model")).to_have_text("model not downloaded")
    expect(page.locator("#health-queue")).to_have_text("1 running · 2 waiting")


def test_a_few_step_model_sets_the_form_defaults_but_keeps_what_the_user_typed(
    page: Page,
) -> None:
    lcm = {
        "status": "ok",
        "mock": False,
        "model": {"repo_id": "OpenVINO/LCM_Dreamshaper_v7-int8-ov", "cached": True, "dir": "/m"},
        "cache_dirs": {"models": "/m", "generated": "/g"},
        "device": {"target": "CPU", "active": "CPU", "fallback_reason": None},
        "version": "0.1.0",
        "queue": {"queued": 0, "running": 0},
        "defaults": {
            "num_inference_steps": 4,
            "guidance_scale": 1.0,
            "width": 512,
            "height": 512,
            "num_images": 1,
        },
    }

    def fake_health(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(lcm))

    page.route("**/health", fake_health)
    page.goto("/")
    expect(page.locator("#num_inference_steps")).to_have_value("4")
    expect(page.locator("#guidance_scale")).to_have_value("1")
    page.locator("#num_inference_steps").fill("6")
    page.evaluate("import('/static/health.js').then((health) => health.pollHealth())")
    expect(page.locator("#guidance_scale")).to_have_value("1")
    expect(page.locator("#num_inference_steps")).to_have_value("6")
