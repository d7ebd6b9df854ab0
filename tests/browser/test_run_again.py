""" "Run again" in the page: a job a restart stopped (served here through page.route, since
making one takes a restart) shows above the gallery, and its button sends the same request,
seed included, as a new job that runs to its image."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import open_ui, prompt_field, status_line

pytestmark = pytest.mark.browser

PARAMS: dict[str, Any] = {
    "prompt": "a lighthouse the restart stopped",
    "negative_prompt": "fog",
    "num_inference_steps": 6,
    "guidance_scale": 5.5,
    "width": 256,
    "height": 192,
    "seed": 4242,
    "scheduler": None,
    "num_images": 1,
}
STOPPED: dict[str, Any] = {
    "job_id": "0" * 32,
    "status": "failed",
    "queue_position": None,
    "progress": {"step": 2, "total": 6},
    "eta_seconds": None,
    "provider": "mock",
    "device": "mock",
    "mock": True,
    "seed": 4242,
    "params": PARAMS,
    "created_at": "2026-11-30T10:00:00Z",
    "started_at": "2026-11-30T10:00:01Z",
    "completed_at": "2026-11-30T10:05:00Z",
    "duration_ms": None,
    "image_url": None,
    "images": [],
    "error": {
        "type": "interrupted",
        "message": "The service stopped while this job was running: submit it again.",
    },
    "urls": {"self": f"/jobs/{'0' * 32}", "events": f"/jobs/{'0' * 32}/events"},
}


def with_a_stopped_job(route: Route) -> None:
    """GET /jobs lists the stopped job on top of the service's own; the rest goes through."""
    if route.request.method != "GET":
        route.fallback()
        return
    listed = route.fetch().json()
    body = {"jobs": [STOPPED, *listed["jobs"]]}
    route.fulfill(status=200, content_type="application/json", body=json.dumps(body))


def test_run_again_sends_the_same_request_as_a_new_job(page: Page) -> None:
    page.route("**/jobs", with_a_stopped_job)
    open_ui(page)
    stopped = page.locator(f'.card[data-job-id="{STOPPED["job_id"]}"]')
    expect(stopped).to_be_visible()
    expect(stopped.locator(".card-prompt")).to_have_text(PARAMS["prompt"])
    expect(stopped.locator(".card-seed")).to_have_text("Seed 4242")
    expect(stopped.locator(".card-note")).to_contain_text("stopped while this job was running")

    with page.expect_request(
        lambda request: request.method == "POST" and request.url.endswith("/jobs")
    ) as submitted:
        stopped.get_by_role("button", name="Run again").click()
    assert submitted.value.post_data_json == PARAMS
    expect(prompt_field(page)).to_have_value(PARAMS["prompt"])
    expect(status_line(page)).to_have_attribute("data-state", "complete")
    expect(page.locator("#result-seed")).to_have_text("4242")
    # The stopped job stays until dismissed; Dismiss deletes its record.
    expect(stopped).to_be_visible()
