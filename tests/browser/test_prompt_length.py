"""The prompt's length is checked as the server counts it: characters after trimming."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Request, Response, expect

from tests.browser.conftest import open_ui, prompt_field, status_line

pytestmark = pytest.mark.browser

# One code point, two UTF-16 units: a native maxlength would count each one twice.
EMOJI = "\N{GRINNING FACE}"


def is_submit(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/jobs")


def test_1000_emoji_pass_and_1001_are_refused_in_the_page(page: Page) -> None:
    posts: list[Request] = []

    def on_request(request: Request) -> None:
        if request.method == "POST":
            posts.append(request)

    page.on("request", on_request)
    open_ui(page)
    page.get_by_label("Width").fill("64")
    page.get_by_label("Height").fill("64")
    prompt = prompt_field(page)
    negative = page.get_by_label("Negative prompt")

    prompt.fill(EMOJI * 1001)
    expect(page.locator("#prompt-count")).to_have_text("1001 / 1000")
    page.get_by_role("button", name="Generate").click()
    too_long = re.compile(r"Must be at most 1000 characters \(got 1001\)\.$")
    expect(prompt).to_have_accessible_description(too_long)
    expect(prompt).to_have_attribute("aria-invalid", "true")
    expect(status_line(page)).to_have_attribute("data-state", "error")

    negative.fill(f" {EMOJI * 1001} ")
    prompt.fill("a short prompt")
    page.get_by_role("button", name="Generate").click()
    expect(negative).to_have_accessible_description(too_long)
    expect(prompt).not_to_have_accessible_description(too_long)
    expect(prompt).not_to_have_attribute("aria-invalid", "true")

    # Spaces around the text do not count, on the page as on the server.
    negative.fill(f"  {EMOJI * 1000}\n")
    prompt.fill(f"  {EMOJI * 1000}  ")
    expect(page.locator("#prompt-count")).to_have_text("1000 / 1000")
    with page.expect_response(is_submit) as answer:
        page.get_by_role("button", name="Generate").click()
    assert answer.value.status == 202, answer.value.text()
    sent = answer.value.request.post_data_json
    assert sent is not None
    assert (sent["prompt"], sent["negative_prompt"]) == (EMOJI * 1000, EMOJI * 1000)
    expect(status_line(page)).to_have_attribute("data-state", "complete")
    # Refused forms never reached the server: the accepted one is the only POST.
    assert posts == [answer.value.request]
