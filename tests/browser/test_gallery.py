"""The gallery of past images: listing, "Use these settings", pages, and delete."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, Route, expect

pytestmark = pytest.mark.browser


def generate(page: Page, **params: Any) -> dict[str, Any]:
    """A finished job, made through the synchronous API (the page is not involved)."""
    answer = page.request.post("/image", data=params)
    assert answer.status == 200, answer.text()
    job: dict[str, Any] = answer.json()
    return job


def card_for(page: Page, job_id: str) -> Locator:
    return page.locator(f'.card[data-job-id="{job_id}"]')


def test_a_finished_image_lands_in_the_gallery_and_refills_the_form(page: Page) -> None:
    page.goto("/")
    page.locator("#prompt").fill("a gallery lighthouse, " + "very " * 30 + "detailed")
    page.locator("#negative_prompt").fill("fog")
    page.locator("#num_inference_steps").fill("7")
    page.locator("#guidance_scale").fill("4.5")
    page.locator("#width").fill("320")
    page.locator("#height").fill("256")
    page.locator("#seed-random").uncheck()
    page.locator("#seed").fill("1234")
    page.locator("#scheduler").select_option("euler")
    page.locator("#submit").click()
    expect(page.locator("#status")).to_have_attribute("data-state", "complete")

    # No reload: the gallery refreshes when the job finishes.
    card = page.locator(".card").first
    expect(card.locator(".card-prompt")).to_contain_text("a gallery lighthouse")
    expect(card.locator(".card-prompt")).to_have_text(re.compile(r"…$"))
    expect(card.locator(".card-meta-item")).to_have_text(
        ["320 \N{MULTIPLICATION SIGN} 256", "7 steps", "guidance 4.5", "Euler"]
    )
    expect(card.locator(".card-negative")).to_have_text("Negative: fog")
    expect(card.locator(".card-seed")).to_have_text("Seed 1234")
    src = page.locator("#result-image").get_attribute("src")
    assert src is not None
    thumb = card.locator(".card-thumb img")
    expect(thumb).to_have_attribute("src", src)
    expect(thumb).to_have_attribute("loading", "lazy")
    download = card.locator(".card-download")
    expect(download).to_have_attribute("href", src)
    expect(download).to_have_attribute("download", re.compile(r"^sd-1234-[0-9a-f]{8}\.png$"))

    # Change everything, then take the card's settings back.
    page.locator("#prompt").fill("something else")
    page.locator("#negative_prompt").fill("")
    page.locator("#num_inference_steps").fill("20")
    page.locator("#guidance_scale").fill("7.5")
    page.locator("#width").fill("512")
    page.locator("#height").fill("512")
    page.locator("#seed-random").check()
    page.locator("#scheduler").select_option("")
    page.locator("#num_images").fill("3")

    card.get_by_role("button", name="Use these settings").click()
    expect(page.locator("#prompt")).to_have_value(re.compile(r"^a gallery lighthouse, very"))
    expect(page.locator("#prompt")).to_be_focused()
    expect(page.locator("#negative_prompt")).to_have_value("fog")
    expect(page.locator("#num_inference_steps")).to_have_value("7")
    expect(page.locator("#guidance_scale")).to_have_value("4.5")
    expect(page.locator("#width")).to_have_value("320")
    expect(page.locator("#height")).to_have_value("256")
    expect(page.locator("#seed-random")).not_to_be_checked()
    expect(page.locator("#seed")).to_be_enabled()
    expect(page.locator("#seed")).to_have_value("1234")
    expect(page.locator("#scheduler")).to_have_value("euler")
    expect(page.locator("#num_images")).to_have_value("1")
    expect(page.locator("#gallery-status")).to_contain_text("settings")


def test_a_negative_prompt_shows_on_its_card_as_text_never_as_markup(page: Page) -> None:
    markup = '<img src="/x" onerror="window.injected = true"> & <b>bold</b>'
    marked = generate(page, prompt="gallery markup", negative_prompt=markup, width=64, height=64)
    plain = generate(page, prompt="gallery plain", width=64, height=64)
    page.goto("/")
    negative = card_for(page, marked["job_id"]).locator(".card-negative")
    expect(negative).to_have_text(f"Negative: {markup}")
    expect(negative.locator("img, b")).to_have_count(0)
    expect(card_for(page, plain["job_id"]).locator(".card-prompt")).to_have_text("gallery plain")
    expect(card_for(page, plain["job_id"]).locator(".card-negative")).to_have_count(0)
    assert page.evaluate("window.injected") is None


def test_more_pages_load_and_a_delete_asks_first(page: Page) -> None:
    first = generate(page, prompt="gallery page one", width=64, height=64)
    batch = generate(page, prompt="gallery page two", width=64, height=64, num_images=2)
    last = generate(page, prompt="gallery page three", width=64, height=64)

    def two_per_page(route: Route) -> None:
        route.continue_(url=re.sub(r"limit=\d+", "limit=2", route.request.url))

    page.route(re.compile(r"/images\?"), two_per_page)
    page.goto("/")
    cards = page.locator(".card")
    expect(cards).to_have_count(2)
    expect(cards.locator(".card-prompt")).to_have_text(["gallery page three", "gallery page two"])
    more = page.locator("#gallery-more")
    more.click()
    expect(cards.nth(2)).to_have_attribute("data-job-id", first["job_id"])
    expect(cards.nth(0)).to_have_attribute("data-job-id", last["job_id"])

    # A batch card: both images, the count, and its settings include the batch size.
    two = card_for(page, batch["job_id"])
    expect(two.locator(".card-count")).to_have_text("2 images")
    strip = two.locator(".card-strip-item")
    expect(strip).to_have_count(2)
    strip.nth(1).click()
    expect(two.locator(".card-seed-value")).to_have_text(str(batch["seed"] + 1))
    expect(two.locator(".card-download")).to_have_attribute("href", batch["images"][1]["url"])
    two.get_by_role("button", name="Use these settings").click()
    expect(page.locator("#num_images")).to_have_value("2")
    expect(page.locator("#seed")).to_have_value(str(batch["seed"]))

    # Delete asks first; Escape (or Keep) changes nothing.
    two.get_by_role("button", name="Delete").click()
    confirm = two.locator(".card-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("Delete these 2 images?")
    expect(confirm.get_by_role("button", name="Keep")).to_be_focused()
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    expect(two.get_by_role("button", name="Delete")).to_be_focused()

    two.get_by_role("button", name="Delete").click()
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        confirm.get_by_role("button", name="Delete").click()
    assert deleted.value.json() == {
        "deleted": batch["job_id"],
        "images": [image["url"].removeprefix("/images/") for image in batch["images"]],
    }
    expect(two).to_have_count(0)
    expect(card_for(page, first["job_id"]).locator(".card-use")).to_be_focused()
    expect(page.locator("#gallery-status")).to_have_text("Deleted 2 images.")
    assert page.request.get(f"/images/{batch['job_id']}.json").status == 404
    assert page.request.get(batch["images"][0]["url"]).status == 404
