"""The prompt's length is checked as the server counts it: characters after trimming."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Request, Response, expect

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
    page.goto("/")
    page.locator("#width").fill("64")
    page.locator("#height").fill("64")
    prompt = page.locator("#prompt")
    prompt_error = page.locator("#prompt-error")

    prompt.fill(EMOJI * 1001)
    expect(page.locator("#prompt-count")).to_have_text("1001 / 1000")
    page.locator("#submit").click()
    expect(prompt_error).to_have_text("Must be at most 1000 characters (got 1001).")
    expect(prompt).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#status")).to_have_attribute("data-state", "error")

    page.locator("#negative_prompt").fill(f" {EMOJI * 1001} ")
    prompt.fill("a short prompt")
    page.locator("#submit").click()
    expect(page.locator("#negative_prompt-error")).to_have_text(
        "Must be at most 1000 characters (got 1001)."
    )
    expect(prompt_error).to_be_hidden()

    # Spaces around the text do not count, on the page as on the server.
    page.locator("#negative_prompt").fill(f"  {EMOJI * 1000}\n")
    prompt.fill(f"  {EMOJI * 1000}  ")
    expect(page.locator("#prompt-count")).to_have_text("1000 / 1000")
    with page.expect_response(is_submit) as answer:
        page.locator("#submit").click()
    assert answer.value.status == 202, answer.value.text()
    sent = answer.value.request.post_data_json
    assert sent is not None
    assert (sent["prompt"], sent["negative_prompt"]) == (EMOJI * 1000, EMOJI * 1000)
    expect(page.locator("#status")).to_have_attribute("data-state", "complete")
    # Refused forms never reached the server: the accepted one is the only POST.
    assert [post.url for post in posts] == [answer.value.url]
