"""Generation through the job API: progress, queue, cancel, batches, previews and errors."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, Response, Route, expect

from tests.browser.conftest import open_ui, prompt_field, result_panel, status_line

pytestmark = pytest.mark.browser

# The mock backend renders 4 images of 1024 x 1024 in 0.7 s on an idle machine (more when
# busy): jobs like this one, submitted through the API, keep the worker busy while the
# page's own job waits its turn.
BLOCKER = {
    "prompt": "a job that keeps the queue busy",
    "width": 1024,
    "height": 1024,
    "num_inference_steps": 100,
    "num_images": 4,
}
JOB_URL = re.compile(r"/jobs/[0-9a-f]+$")
EVENTS_URL = re.compile(r"/jobs/[0-9a-f]+/events$")


def is_submit(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/jobs")


def submit_jobs(page: Page, body: dict[str, Any], count: int) -> list[str]:
    ids = []
    for _ in range(count):
        answer = page.request.post("/jobs", data=body)
        assert answer.status == 202, answer.text()
        ids.append(answer.json()["job_id"])
    return ids


def clean_up(page: Page, job_ids: list[str]) -> None:
    """Cancel what still waits or runs, and delete what finished: big images slow the gallery."""
    for job_id in job_ids:
        answer = page.request.delete(f"/jobs/{job_id}")
        assert answer.status in (200, 409), answer.text()
        if answer.status == 409:
            page.request.delete(f"/images/{job_id}")


@pytest.fixture
def blockers(page: Page) -> Iterator[list[str]]:
    """Job ids the test submits to keep the queue busy; cleaned up at the end."""
    job_ids: list[str] = []
    yield job_ids
    clean_up(page, job_ids)


def watch_attributes(page: Page) -> None:
    """Record every value #status[data-state] and #progress[data-step] take, in order."""
    page.add_init_script(
        """
        window.seen = { states: [], steps: [] };
        document.addEventListener("DOMContentLoaded", () => {
          const watch = (id, name, list) => {
            const node = document.getElementById(id);
            // The value a change set is the next change's old value, or the current one.
            const observer = new MutationObserver((records) => records.forEach((_, index) =>
              list.push(index + 1 < records.length ? records[index + 1].oldValue
                                                   : node.getAttribute(name))));
            observer.observe(node, { attributeFilter: [name], attributeOldValue: true });
          };
          watch("status", "data-state", window.seen.states);
          watch("progress", "data-step", window.seen.steps);
        });
        """
    )


def sse(*events: tuple[str, dict[str, Any]]) -> str:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


def answer_as_failed(error: dict[str, str], step: int, total: int) -> Callable[[Route], None]:
    """A route for GET /jobs/{id}: the service's answer, turned into a job that failed."""

    def failed_job(route: Route) -> None:
        job = route.fetch().json()
        job.update(status="failed", progress={"step": step, "total": total}, error=error)
        job.update(images=[], image_url=None)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(job))

    return failed_job


def preview_data_url() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 120, 40)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_the_progress_bar_follows_the_job_to_its_last_step(page: Page, blockers: list[str]) -> None:
    watch_attributes(page)
    open_ui(page)
    prompt_field(page).fill("a watched pot")
    page.get_by_label("Steps").fill("50")
    page.get_by_role("spinbutton", name="Images").fill("2")
    # A job ahead in the queue: the page's job waits, so its stream is open before it starts.
    blockers.extend(submit_jobs(page, {**BLOCKER, "num_images": 2}, 1))
    with page.expect_response(is_submit) as answer:
        prompt_field(page).press("Enter")
    queued = answer.value.json()
    assert queued["progress"] == {"step": 0, "total": 100}

    status = status_line(page)
    expect(status).to_have_attribute("data-state", "complete")
    expect(page.locator("#progress-text")).to_have_text("Step 100 of 100")
    expect(page.locator("#progress-image")).to_have_text("image 2 of 2")
    bar = page.get_by_role("progressbar", name="Generation progress")
    assert bar.evaluate("bar => [bar.value, bar.max]") == [100, 100]
    expect(page.locator("#progress-eta")).to_have_text("")

    seen = page.evaluate("window.seen")
    raw: list[str] = seen["states"]
    states = [state for index, state in enumerate(raw) if index == 0 or raw[index - 1] != state]
    assert states[-1] == "complete"
    assert states.index("queued") < states.index("generating") < states.index("complete")
    steps = [int(step) for step in seen["steps"]]
    assert steps == sorted(steps), f"progress went backwards: {steps}"
    assert steps[-1] == 100
    assert any(0 < step < 100 for step in steps), f"no step between start and end: {steps}"

    job = page.request.get(queued["urls"]["self"]).json()
    image = result_panel(page).get_by_role("img")
    expect(image).to_have_attribute("src", job["image_url"])
    expect(page.locator("#result")).to_have_attribute("data-preview", "false")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 512


def test_a_job_waiting_in_the_queue_can_be_cancelled(page: Page, blockers: list[str]) -> None:
    open_ui(page)
    # Four jobs ahead, some 3 s of work for the mock: the page's job surely still waits.
    blockers.extend(submit_jobs(page, BLOCKER, 4))
    prompt_field(page).fill("a job nobody waits for")
    with page.expect_response(is_submit) as answer:
        page.get_by_role("button", name="Generate").click()
    job_id = answer.value.json()["job_id"]

    status = status_line(page)
    expect(status).to_have_attribute("data-state", "queued")
    expect(status).to_contain_text(re.compile(r"Waiting — position [2-5] in queue"))
    expect(page.locator("#progress-text")).to_have_text("Waiting to start")
    cancel = page.get_by_role("button", name="Cancel")
    expect(cancel).to_be_visible()
    cancel.focus()
    with page.expect_response(lambda r: r.request.method == "DELETE") as cancelled:
        page.keyboard.press("Enter")
    assert cancelled.value.status == 200
    assert cancelled.value.json()["status"] == "cancelled"

    expect(status).to_have_attribute("data-state", "cancelled")
    expect(status).to_contain_text("Cancelled.")
    expect(cancel).to_be_hidden()
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()
    expect(page.get_by_role("button", name="Generate")).to_be_focused()
    expect(page.locator("#status-elapsed")).to_have_text("")
    expect(page.locator("#result")).to_have_attribute("data-empty", "true")
    assert page.request.get(f"/jobs/{job_id}").json()["status"] == "cancelled"


def test_a_batch_of_two_shows_both_images_with_consecutive_seeds(page: Page) -> None:
    open_ui(page)
    prompt_field(page).fill("two lighthouses")
    page.get_by_label("Width").fill("128")
    page.get_by_label("Height").fill("128")
    page.get_by_role("checkbox", name="Random").uncheck()
    page.get_by_role("spinbutton", name="Seed").fill("4242")
    page.get_by_role("spinbutton", name="Images").fill("2")
    prompt_field(page).press("Enter")

    status = status_line(page)
    expect(status).to_have_attribute("data-state", "complete")
    expect(status).to_contain_text("2 images")
    strip = result_panel(page).get_by_role("list", name="Images of this batch")
    items = strip.get_by_role("button")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_have_accessible_name("Image 1 of 2, seed 4242")
    expect(items.nth(1)).to_have_accessible_name("Image 2 of 2, seed 4243")
    chosen = strip.get_by_role("button", pressed=True)
    expect(chosen).to_have_accessible_name("Image 1 of 2, seed 4242")
    expect(page.locator("#result-seed")).to_have_text("4242")
    for img in items.locator("img").all():
        assert img.evaluate("img => img.complete && img.naturalWidth") == 128

    strip.get_by_role("button", name="seed 4243").click()
    expect(chosen).to_have_accessible_name("Image 2 of 2, seed 4243")
    expect(page.locator("#result-seed")).to_have_text("4243")
    second = items.nth(1).locator("img").get_attribute("src")
    expect(result_panel(page).get_by_role("img")).to_have_attribute("src", second or "")
    download = page.get_by_role("link", name="Download PNG")
    expect(download).to_have_attribute("href", second or "")
    expect(download).to_have_attribute("download", re.compile(r"^sd-4243-"))
    page.get_by_role("button", name="Reuse seed").click()
    expect(page.get_by_role("spinbutton", name="Seed")).to_have_value("4243")


def test_previews_show_and_a_lost_stream_falls_back_to_polling(page: Page) -> None:
    preview = preview_data_url()
    hold = {"running": True}

    def broken_stream(route: Route) -> None:
        # Three events, then the connection ends without a final event.
        body = sse(
            ("started", {"device": "mock"}),
            ("progress", {"step": 5, "total": 20, "eta_seconds": 1.5}),
            ("preview", {"step": 5, "image": preview}),
        )
        route.fulfill(status=200, content_type="text/event-stream", body=body)

    def job_status(route: Route) -> None:
        if route.request.method != "GET" or not hold["running"]:
            route.continue_()
            return
        job = route.fetch().json()
        job.update(status="running", progress={"step": 7, "total": 20}, eta_seconds=1.0)
        job.update(images=[], image_url=None, completed_at=None, duration_ms=None)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(job))

    page.route(EVENTS_URL, broken_stream)
    page.route(JOB_URL, job_status)
    open_ui(page)
    prompt_field(page).fill("a preview of things to come")
    page.get_by_label("Width").fill("256")
    page.get_by_label("Height").fill("256")
    prompt_field(page).press("Enter")

    result = page.locator("#result")
    expect(result).to_have_attribute("data-preview", "true")
    image = result_panel(page).get_by_role("img")
    expect(image).to_have_attribute("src", preview)
    expect(image).to_have_attribute("alt", re.compile("Preview"))
    assert image.evaluate("img => [img.width, img.height]") == [256, 256]
    expect(page.locator("#preview-badge")).to_have_text("Preview · step 5")
    expect(page.get_by_role("link", name="Download PNG")).to_be_hidden()
    # The stream broke: the page now asks GET /jobs/{id} every second.
    expect(page.locator("#progress-note")).to_contain_text("checking the job every second")
    expect(page.locator("#progress-text")).to_have_text("Step 7 of 20")
    expect(status_line(page)).to_have_attribute("data-state", "generating")

    hold["running"] = False
    expect(status_line(page)).to_have_attribute("data-state", "complete")
    expect(result).to_have_attribute("data-preview", "false")
    expect(image).to_have_attribute("src", re.compile(r"^/images/.+\.png$"))
    expect(page.locator("#preview-badge")).to_be_hidden()
    expect(page.locator("#progress-note")).to_be_hidden()
    expect(page.locator("#progress-text")).to_have_text("Step 20 of 20")


def test_a_full_queue_and_a_missing_model_are_explained(page: Page) -> None:
    answers = [
        (429, {"Retry-After": "7"}, "queue_full", "The queue is full (16 jobs waiting)."),
        (503, {}, "unavailable", "The model is missing. Run `make download`, or `make demo`."),
    ]

    def refuse(route: Route) -> None:
        if route.request.method != "POST":  # the page's own GET /jobs at load
            route.fallback()
            return
        status, headers, kind, message = answers.pop(0)
        body = {"error": {"type": kind, "message": message, "details": [], "request_id": "r1"}}
        route.fulfill(status=status, headers=headers, json=body)

    page.route("**/jobs", refuse)
    open_ui(page)
    status = status_line(page)
    prompt_field(page).fill("too many at once")
    prompt_field(page).press("Enter")
    expect(status).to_have_attribute("data-state", "error")
    expect(status).to_contain_text("The queue is full — try again in 7 s.")
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()

    prompt_field(page).press("Enter")
    expect(status).to_contain_text("The model is missing. Run make download, or make demo.")
    expect(status.locator("code")).to_have_text(["make download", "make demo"])
    expect(status).to_have_attribute("title", "Request id r1")


def test_a_timed_out_job_says_what_to_change(page: Page) -> None:
    message = "Generation stopped after 300 s at step 3 of 20 on CPU. Try fewer steps."
    error = {"type": "timeout", "message": message}

    def failed_stream(route: Route) -> None:
        body = sse(
            ("progress", {"step": 3, "total": 20, "eta_seconds": 9}), ("failed", {"error": error})
        )
        route.fulfill(status=200, content_type="text/event-stream", body=body)

    page.route(EVENTS_URL, failed_stream)
    page.route(JOB_URL, answer_as_failed(error, step=3, total=20))
    open_ui(page)
    prompt_field(page).fill("a very slow painting")
    prompt_field(page).press("Enter")
    status = status_line(page)
    expect(status).to_have_attribute("data-state", "error")
    expect(status).to_contain_text(f"Timed out. {message}")
    expect(page.locator("#progress-text")).to_have_text("Stopped at step 3 of 20")
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()


def test_a_job_cancelled_by_a_stopping_service_shows_as_cancelled(page: Page) -> None:
    # A shutdown cancels every job, the stream's last event says so, and the service is
    # gone before the page can ask for the job: the event is all there is to show.
    def last_events(route: Route) -> None:
        body = sse(("progress", {"step": 5, "total": 20, "eta_seconds": 8}), ("cancelled", {}))
        route.fulfill(status=200, content_type="text/event-stream", body=body)

    def gone(route: Route) -> None:
        if route.request.method == "GET":
            route.abort("connectionrefused")
        else:
            route.continue_()

    page.route(EVENTS_URL, last_events)
    page.route(JOB_URL, gone)
    open_ui(page)
    prompt_field(page).fill("interrupted by a restart")
    prompt_field(page).press("Enter")
    status = status_line(page)
    expect(status).to_have_attribute("data-state", "cancelled")
    expect(status).to_contain_text("Cancelled.")
    expect(page.locator("#progress-text")).to_have_text("Stopped at step 5 of 20")
    expect(page.locator("#progress-note")).to_be_hidden()
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()


def test_a_job_that_will_not_finish_in_time_says_so_early(page: Page) -> None:
    # Notes come and go (the final state clears them): record each text the note shows.
    page.add_init_script(
        """
        window.notes = [];
        document.addEventListener("DOMContentLoaded", () => {
          const note = document.getElementById("progress-note");
          new MutationObserver(() => window.notes.push(note.textContent))
            .observe(note, { childList: true, characterData: true, subtree: true });
        });
        """
    )
    message = "Generation stopped after 30 s at step 3 of 20 on CPU."
    error = {"type": "timeout", "message": message}

    def short_limit(route: Route) -> None:
        health = route.fetch().json()
        health["limits"]["inference_timeout_seconds"] = 30
        route.fulfill(status=200, content_type="application/json", body=json.dumps(health))

    def slow_stream(route: Route) -> None:
        body = sse(
            ("started", {"device": "CPU"}),
            ("progress", {"step": 2, "total": 20, "eta_seconds": 400}),
            ("progress", {"step": 3, "total": 20, "eta_seconds": 380}),
            ("failed", {"error": error}),
        )
        route.fulfill(status=200, content_type="text/event-stream", body=body)

    page.route("**/health", short_limit)
    page.route(EVENTS_URL, slow_stream)
    page.route(JOB_URL, answer_as_failed(error, step=3, total=20))
    open_ui(page)
    expect(page.locator("#health")).to_have_attribute("data-status", "ok")
    prompt_field(page).fill("a huge picture on a small CPU")
    prompt_field(page).press("Enter")
    expect(status_line(page)).to_contain_text(f"Timed out. {message}")
    notes = page.evaluate("window.notes")
    warning = next(note for note in notes if note.startswith("At this pace"))
    assert "needs about 6 min" in warning and "after 30 s" in warning, warning
