"""The page on a 360 px wide window: nothing wider than the screen, and it still works."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import open_ui, prompt_field, result_panel, status_line

pytestmark = pytest.mark.browser

# No spaces to break at: a card or a caption that does not wrap would widen the page.
LONG_WORD = "a-narrow-window-lighthouse-" * 8


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the window (0 when it fits)."""
    scroll_width, client_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    return max(0, int(scroll_width) - int(client_width))


def test_a_360_px_window_has_no_horizontal_scroll_and_generates(narrow_page: Page) -> None:
    page = narrow_page
    open_ui(page)
    expect(page.locator("#health")).to_have_attribute("data-status", "ok")
    assert page.evaluate("document.documentElement.clientWidth") == 360
    assert horizontal_overflow(page) == 0

    prompt_field(page).fill(LONG_WORD)
    page.get_by_label("Negative prompt").fill(LONG_WORD)
    page.get_by_label("Width").fill("64")
    page.get_by_label("Height").fill("64")
    page.get_by_role("button", name="Generate").click()
    expect(status_line(page)).to_have_attribute("data-state", "complete")
    expect(result_panel(page).get_by_role("img")).to_have_attribute(
        "src", re.compile(r"^/images/.*\.png$")
    )
    card = page.locator(".card").first
    expect(card.locator(".card-prompt")).to_contain_text("a-narrow-window-lighthouse")
    expect(card.locator(".card-negative")).to_contain_text("a-narrow-window-lighthouse")
    # With the image, its parameters and a gallery card on the page, it still fits.
    assert horizontal_overflow(page) == 0
