"""Signing in to a service with API keys, in Chromium against a real (mock) server.

The page opens to the sign-in form; a wrong key says so; the right key opens the page,
whose event stream and image load then work on the session cookie alone; signing out
brings the form back and the API answers 401 again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import (
    DESKTOP,
    KEYED_CLIENT,
    KEYED_KEY,
    open_page,
    prompt_field,
    result_panel,
    status_line,
)
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture
def keyed_page(browser: Browser, keyed_server: LiveServer) -> Iterator[Page]:
    with open_page(browser, keyed_server, DESKTOP) as page:
        yield page


def sign_in_form(page: Page) -> Locator:
    return page.get_by_role("region", name="Sign in")


def key_field(page: Page) -> Locator:
    return page.get_by_label("API key")


def sign_in(page: Page, key: str) -> None:
    key_field(page).fill(key)
    key_field(page).press("Enter")


def test_sign_in_stream_image_and_sign_out(keyed_page: Page) -> None:
    page = keyed_page
    page.goto("/")

    # Only the form: no offline badge, no gallery error, no form behind it.
    expect(sign_in_form(page)).to_be_visible()
    expect(key_field(page)).to_be_focused()
    expect(key_field(page)).to_have_attribute("type", "password")
    expect(page.get_by_role("main")).to_be_hidden()
    expect(page.locator("#health-banner")).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()

    sign_in(page, "k-wrong")
    error = sign_in_form(page).get_by_role("alert")
    expect(error).to_have_text("The API key is wrong.")
    expect(key_field(page)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("main")).to_be_hidden()

    sign_in(page, KEYED_KEY)
    expect(sign_in_form(page)).to_be_hidden()
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()
    expect(page.get_by_text(f"Signed in as {KEYED_CLIENT}")).to_be_visible()
    expect(page.locator("#health")).to_have_attribute("data-status", "ok")
    expect(page.locator("#gallery-status")).to_have_text("")
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0
    assert KEYED_KEY not in page.url

    # A generation over the event stream: its progress shows, and the image loads.
    page.evaluate(
        """() => {
          const bar = document.getElementById("progress");
          window.progressSteps = [];
          new MutationObserver(() => {
            if (bar.dataset.state === "running") window.progressSteps.push(bar.dataset.step);
          }).observe(bar, { attributes: true, attributeFilter: ["data-step"] });
        }"""
    )
    prompt_field(page).fill("a signed-in lighthouse")
    page.get_by_label("Steps").fill("12")
    with page.expect_response(lambda response: response.url.endswith("/events")) as stream:
        page.get_by_role("button", name="Generate").click()
    assert stream.value.status == 200
    assert stream.value.headers["content-type"].startswith("text/event-stream")
    assert stream.value.request.headers.get("authorization") is None
    expect(status_line(page)).to_have_attribute("data-state", "complete")
    steps = page.evaluate("() => window.progressSteps.map(Number)")
    # Step by step from the stream's progress events, never backwards.
    assert steps == sorted(steps) and any(step > 0 for step in steps), steps
    expect(page.locator("#progress-note")).to_be_hidden()
    image = result_panel(page).get_by_role("img", name=re.compile("^Generated image"))
    expect(image).to_have_attribute("src", re.compile("^/images/"))
    assert image.evaluate("(img) => img.complete && img.naturalWidth") > 0
    expect(page.get_by_role("region", name="Gallery").locator(".card")).to_have_count(1)

    page.get_by_role("button", name="Sign out").click()
    expect(sign_in_form(page)).to_be_visible()
    expect(key_field(page)).to_be_focused()
    expect(page.get_by_role("main")).to_be_hidden()
    answer = page.request.get("/jobs")
    assert answer.status == 401
    assert answer.json()["error"]["type"] == "unauthorized"


def test_a_session_gone_while_the_page_is_open_brings_the_form_back(
    keyed_page: Page,
) -> None:
    page = keyed_page
    page.goto("/")
    sign_in(page, KEYED_KEY)
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()

    # The cookie goes (it expired, or the key was removed): the next call of the page
    # (the health poll) answers 401, and the form comes back, saying why.
    page.context.clear_cookies()
    expect(sign_in_form(page)).to_be_visible()
    expect(sign_in_form(page).get_by_role("alert")).to_have_text("This service needs an API key.")
    expect(page.get_by_role("main")).to_be_hidden()
    expect(page.locator("#health")).to_be_hidden()

    sign_in(page, KEYED_KEY)
    expect(page.get_by_role("main")).to_be_visible()
    expect(page.locator("#health")).to_have_attribute("data-status", "ok")
