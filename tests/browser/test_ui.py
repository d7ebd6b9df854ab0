"""The web UI in headless Chromium against a real mock-mode server."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, Request, Response, Route, expect

from tests.browser.conftest import open_ui, prompt_field, result_panel, status_line

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
    open_ui(page)
    status = status_line(page)
    expect(status).to_have_attribute("data-state", "idle")
    prompt = prompt_field(page)
    prompt.fill("a lighthouse on a cliff")
    prompt.press("Shift+Enter")
    prompt.press_sequentially("at dusk")
    assert prompt.input_value() == "a lighthouse on a cliff\nat dusk"
    page.get_by_label("Width").fill("256")
    page.get_by_label("Height").fill("192")

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
    image = result_panel(page).get_by_role("img")
    expect(image).to_have_accessible_name(
        "Generated image for the prompt: a lighthouse on a cliff\nat dusk"
    )
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
    expect(page.get_by_role("link", name="Download PNG")).to_have_attribute(
        "href", job["image_url"]
    )
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()

    page.get_by_role("button", name="Reuse seed").click()
    expect(page.get_by_role("checkbox", name="Random")).not_to_be_checked()
    expect(page.get_by_role("spinbutton", name="Seed")).to_have_value(str(job["seed"]))
    with page.expect_response(is_submit) as again:
        page.get_by_role("button", name="Generate").click()
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
    open_ui(page)
    prompt = prompt_field(page)
    prompt.fill("a slow painting")
    page.get_by_label("Width").fill("64")
    page.get_by_label("Height").fill("64")
    prompt.press("Enter")

    status = status_line(page)
    expect(status).to_have_attribute("data-state", "queued")
    expect(status).to_contain_text("Sending")
    expect(page.get_by_role("button", name="Generating…")).to_be_disabled()
    # Nothing to cancel before it is queued.
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(page.locator("#status-elapsed")).to_have_text("1 s")
    prompt.press("Enter")  # ignored: one generation at a time
    page.evaluate("window.releaseSubmit()")
    expect(status).to_have_attribute("data-state", "complete")
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()
    expect(page.locator("#status-elapsed")).to_have_text("")
    assert len(posts) == 1


def test_a_bad_size_is_caught_in_the_page_and_a_server_422_lands_on_its_field(
    page: Page,
) -> None:
    posts = record_posts(page)
    open_ui(page)
    prompt = prompt_field(page)
    prompt.fill("a bad size")
    width = page.get_by_label("Width")
    generate = page.get_by_role("button", name="Generate")
    status = status_line(page)

    width.fill("4096")
    generate.click()
    expect(page.get_by_text("Must be between 64 and 1024.")).to_be_visible()
    expect(width).to_have_accessible_description("Must be between 64 and 1024.")
    expect(width).to_have_attribute("aria-invalid", "true")
    expect(width).to_be_focused()
    expect(status).to_have_attribute("data-state", "error")
    expect(status).to_contain_text("width")

    width.fill("100")
    prompt.press("Enter")
    expect(width).to_have_accessible_description("Must be a multiple of 8.")

    width.fill("512")
    expect(width).to_have_accessible_description("")
    expect(width).not_to_have_attribute("aria-invalid", "true")

    prompt.fill("   ")
    generate.click()
    expect(prompt).to_have_accessible_description(re.compile(r"Must not be empty\.$"))

    # The server's answer holds: with a valid form, the next click is the first POST.
    prompt.fill("a good size")
    width.fill("64")
    page.get_by_label("Height").fill("64")
    with page.expect_response(is_submit) as answer:
        generate.click()
    assert answer.value.status == 202
    expect(status).to_have_attribute("data-state", "complete")
    # The submit handler sends at once: a POST from an earlier, refused form would have
    # gone out before this one.
    assert posts == [answer.value.request], "refused forms must not reach the server"


def test_the_form_keeps_the_bounds_and_schedulers_the_service_gives(page: Page) -> None:
    def other_rules(route: Route) -> None:
        health = route.fetch().json()
        health["request_bounds"]["num_inference_steps"]["max"] = 8
        health["schedulers"] = [{"name": "lcm", "label": "LCM"}]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(health))

    page.route("**/health", other_rules)
    open_ui(page)
    scheduler = page.get_by_label("Scheduler")
    expect(scheduler.get_by_role("option")).to_have_text(["Model default", "LCM"])
    steps = page.get_by_label("Steps")
    expect(steps).to_have_attribute("max", "8")
    steps.fill("20")
    page.get_by_role("button", name="Generate").click()
    expect(steps).to_have_accessible_description("Must be between 1 and 8.")


def test_the_server_refuses_what_the_page_does_not_know_and_says_why(page: Page) -> None:
    def no_width_limit(route: Route) -> None:
        health = route.fetch().json()
        del health["request_bounds"]["width"]["max"]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(health))

    page.route("**/health", no_width_limit)
    open_ui(page)
    prompt_field(page).fill("a bad size")
    width = page.get_by_label("Width")
    width.fill("4096")
    with page.expect_response(is_submit) as answer:
        page.get_by_role("button", name="Generate").click()
    assert answer.value.status == 422
    error = answer.value.json()["error"]
    assert {"field": "width", "message": "Must be between 64 and 1024."} in error["details"]
    status = status_line(page)
    expect(status).to_have_attribute("data-state", "error")
    expect(status).to_contain_text(error["message"])
    expect(width).to_have_accessible_description("Must be between 64 and 1024.")
    expect(width).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()


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
    banner = page.get_by_role("status").filter(has_text="The service is degraded.")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("The model is missing. Run make download, or try make demo.")
    expect(banner.locator("code")).to_have_text(["make download", "make demo"])
    # Focusable, and named with the reason the tooltip shows, for keyboard and screen readers.
    device = page.get_by_role("note", name="GPU to CPU fallback: No Intel GPU found.")
    expect(device).to_have_text("GPU → CPU fallback")
    expect(device).to_have_attribute("title", "Fell back: No Intel GPU found.")
    expect(device).to_have_attribute("tabindex", "0")
    expect(page.locator("#health-mode")).to_have_text("real model")
    expect(page.locator("#health-model")).to_have_text("model not downloaded")
    expect(page.locator("#health-queue")).to_have_text("1 running · 2 waiting")


def test_a_few_step_model_sets_the_form_defaults_but_keeps_what_the_user_typed(
    page: Page,
) -> None:
    lcm: dict[str, Any] = {
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
    steps = page.get_by_label("Steps")
    guidance = page.get_by_label("Guidance")
    expect(steps).to_have_value("4")
    expect(guidance).to_have_value("1")
    steps.fill("6")
    # The next report changes a default: the field nobody touched follows, the typed one stays.
    lcm["defaults"]["guidance_scale"] = 2.0
    # Coming back to the tab asks /health again at once.
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(guidance).to_have_value("2")
    expect(steps).to_have_value("6")


def test_without_an_answer_from_health_the_form_still_submits_and_the_server_decides(
    page: Page,
) -> None:
    page.route("**/health", lambda route: route.abort("connectionrefused"))
    open_ui(page)
    expect(page.get_by_role("status").filter(has_text="Cannot reach the service.")).to_be_visible()
    expect(page.get_by_label("Scheduler").get_by_role("option")).to_have_text(["Model default"])
    prompt_field(page).fill("bounds unknown")
    width = page.get_by_label("Width")
    width.fill("4096")
    with page.expect_response(is_submit) as answer:
        page.get_by_role("button", name="Generate").click()
    assert answer.value.status == 422
    expect(width).to_have_accessible_description("Must be between 64 and 1024.")
