"""The gallery of past images: listing, "Use these settings", pages, and delete."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from tests.browser.conftest import open_ui, prompt_field, result_panel, status_line

pytestmark = pytest.mark.browser


def generate(page: Page, **params: Any) -> dict[str, Any]:
    """A finished job, made through the synchronous API (the page is not involved)."""
    answer = page.request.post("/image", data=params)
    assert answer.status == 200, answer.text()
    job: dict[str, Any] = answer.json()
    return job


def gallery_status(page: Page) -> Locator:
    return page.get_by_role("region", name="Gallery").get_by_role("status")


def card_for(page: Page, job_id: str) -> Locator:
    return page.locator(f'.card[data-job-id="{job_id}"]')


def test_a_finished_image_lands_in_the_gallery_and_refills_the_form(page: Page) -> None:
    open_ui(page)
    prompt_field(page).fill("a gallery lighthouse, " + "very " * 30 + "detailed")
    page.get_by_label("Negative prompt").fill("fog")
    page.get_by_label("Steps").fill("7")
    page.get_by_label("Guidance").fill("4.5")
    page.get_by_label("Width").fill("320")
    page.get_by_label("Height").fill("256")
    page.get_by_role("checkbox", name="Random").uncheck()
    page.get_by_role("spinbutton", name="Seed").fill("1234")
    page.get_by_label("Scheduler").select_option("euler")
    page.get_by_role("button", name="Generate").click()
    expect(status_line(page)).to_have_attribute("data-state", "complete")

    # No reload: the gallery refreshes when the job finishes.
    card = page.locator(".card").first
    expect(card.locator(".card-prompt")).to_contain_text("a gallery lighthouse")
    expect(card.locator(".card-prompt")).to_have_text(re.compile(r"…$"))
    expect(card.locator(".card-meta-item")).to_have_text(
        ["320 \N{MULTIPLICATION SIGN} 256", "7 steps", "guidance 4.5", "Euler"]
    )
    expect(card.locator(".card-negative")).to_have_text("Negative: fog")
    expect(card.locator(".card-seed")).to_have_text("Seed 1234")
    src = result_panel(page).get_by_role("img").get_attribute("src")
    assert src is not None
    thumb = card.get_by_role("link", name="Image for the prompt: a gallery lighthouse").get_by_role(
        "img"
    )
    expect(thumb).to_have_attribute("src", src)
    expect(thumb).to_have_attribute("loading", "lazy")
    download = card.get_by_role("link", name="Download", exact=True)
    expect(download).to_have_attribute("href", src)
    expect(download).to_have_attribute("download", re.compile(r"^sd-1234-[0-9a-f]{8}\.png$"))

    # Change everything, then take the card's settings back.
    prompt_field(page).fill("something else")
    page.get_by_label("Negative prompt").fill("")
    page.get_by_label("Steps").fill("20")
    page.get_by_label("Guidance").fill("7.5")
    page.get_by_label("Width").fill("512")
    page.get_by_label("Height").fill("512")
    page.get_by_role("checkbox", name="Random").check()
    page.get_by_label("Scheduler").select_option("")
    page.get_by_role("spinbutton", name="Images").fill("3")

    card.get_by_role("button", name="Use these settings").click()
    expect(prompt_field(page)).to_have_value(re.compile(r"^a gallery lighthouse, very"))
    expect(prompt_field(page)).to_be_focused()
    expect(page.get_by_label("Negative prompt")).to_have_value("fog")
    expect(page.get_by_label("Steps")).to_have_value("7")
    expect(page.get_by_label("Guidance")).to_have_value("4.5")
    expect(page.get_by_label("Width")).to_have_value("320")
    expect(page.get_by_label("Height")).to_have_value("256")
    expect(page.get_by_role("checkbox", name="Random")).not_to_be_checked()
    expect(page.get_by_role("spinbutton", name="Seed")).to_be_enabled()
    expect(page.get_by_role("spinbutton", name="Seed")).to_have_value("1234")
    expect(page.get_by_label("Scheduler")).to_have_value("euler")
    expect(page.get_by_role("spinbutton", name="Images")).to_have_value("1")
    expect(page.get_by_role("region", name="Gallery").get_by_role("status")).to_contain_text(
        "settings"
    )


def test_a_negative_prompt_shows_on_its_card_as_text_never_as_markup(page: Page) -> None:
    markup = '<img src="/x" onerror="window.injected = true"> & <b>bold</b>'
    marked = generate(page, prompt="gallery markup", negative_prompt=markup, width=64, height=64)
    plain = generate(page, prompt="gallery plain", width=64, height=64)
    open_ui(page)
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
    open_ui(page)
    cards = page.locator(".card")
    expect(cards).to_have_count(2)
    expect(cards.locator(".card-prompt")).to_have_text(["gallery page three", "gallery page two"])
    more = page.get_by_role("button", name="Load more")
    more.click()
    expect(cards.nth(2)).to_have_attribute("data-job-id", first["job_id"])
    expect(cards.nth(0)).to_have_attribute("data-job-id", last["job_id"])

    # A batch card: both images, the count, and its settings include the batch size.
    two = card_for(page, batch["job_id"])
    expect(two.locator(".card-count")).to_have_text("2 images")
    strip = two.get_by_role("list", name="Images of this batch").get_by_role("button")
    expect(strip).to_have_count(2)
    two.get_by_role("button", name=f"Show image 2 of 2, seed {batch['seed'] + 1}").click()
    expect(two.locator(".card-seed-value")).to_have_text(str(batch["seed"] + 1))
    expect(two.get_by_role("link", name="Download", exact=True)).to_have_attribute(
        "href", batch["images"][1]["url"]
    )
    two.get_by_role("button", name="Use these settings").click()
    expect(page.get_by_role("spinbutton", name="Images")).to_have_value("2")
    expect(page.get_by_role("spinbutton", name="Seed")).to_have_value(str(batch["seed"]))

    # Delete asks first; Escape (or Keep) changes nothing.
    two.get_by_role("button", name="Delete").click()
    confirm = two.get_by_role("group", name="Confirm delete")
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
    use_first = card_for(page, first["job_id"]).get_by_role("button", name="Use these settings")
    expect(use_first).to_be_focused()
    expect(page.get_by_role("region", name="Gallery").get_by_role("status")).to_have_text(
        "Deleted 2 images."
    )
    assert page.request.get(f"/images/{batch['job_id']}.json").status == 404
    assert page.request.get(batch["images"][0]["url"]).status == 404
