"""The page loads nothing from elsewhere: no fonts, CDNs or trackers, only its own server."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.conftest import open_ui, prompt_field, status_line
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser

# Inline data (previews are data: URLs) and the page's own blobs never leave the browser.
LOCAL_SCHEMES = {"data", "blob"}


def test_every_request_goes_to_the_services_own_origin(page: Page, ui_server: LiveServer) -> None:
    requests: list[str] = []

    def on_request(request: Request) -> None:
        requests.append(request.url)

    page.on("request", on_request)
    open_ui(page)
    expect(page.locator("#health")).to_have_attribute("data-status", "ok")
    prompt_field(page).fill("a lighthouse seen from nowhere else")
    page.get_by_label("Width").fill("64")
    page.get_by_label("Height").fill("64")
    page.get_by_role("button", name="Generate").click()
    expect(status_line(page)).to_have_attribute("data-state", "complete")
    expect(page.locator(".card-prompt").first).to_have_text("a lighthouse seen from nowhere else")

    own = urlsplit(ui_server.base_url)
    paths = {urlsplit(url).path for url in requests}
    # The page, its script and style, the health, the job and its events, the image.
    assert {"/", "/static/ui.js", "/static/styles.css", "/health", "/jobs"} <= paths
    assert any(path.startswith("/images/") for path in paths)
    elsewhere = [
        url
        for url in requests
        if urlsplit(url).scheme not in LOCAL_SCHEMES
        and (urlsplit(url).scheme, urlsplit(url).netloc) != (own.scheme, own.netloc)
    ]
    assert elsewhere == []
