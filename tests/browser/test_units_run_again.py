""" "Run again" alone: the interrupted jobs above the gallery, and the result panel's button
for the page's own job that a restart stopped. Both on the real page's markup, with a
scripted API (tests/browser/units/session_fakes.js) that records its calls.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

SETUP = """
const fakes = await import("/__units__/session_fakes.js");
const { scriptedApi, httpError, listedJob, interruptedError } = fakes;
await window.fakes.loadPageMarkup();
const settled = () => new Promise((resolve) => { setTimeout(resolve, 0); });
const reruns = [];
const announced = [];
const interrupted = (id) => listedJob(id, { status: "failed", error: interruptedError,
                                            progress: { step: 3, total: 9 } });
"""

INTERRUPTED = (
    SETUP
    + """
const { InterruptedJobs } = await import("/static/interrupted.js");
const block = document.getElementById("interrupted");
const cardsShown = () => Array.from(block.querySelectorAll(".card"), (card) => ({
  id: card.dataset.jobId,
  prompt: card.querySelector(".card-prompt").textContent,
  seed: card.querySelector(".card-seed").textContent,
  note: card.querySelector(".card-note").textContent,
  buttons: Array.from(card.querySelectorAll("button"), (b) => b.textContent),
}));
const listOn = (api) => new InterruptedJobs(block, {
  api,
  onRunAgain: (params) => reruns.push(params),
  announce: (text, { error = false } = {}) => announced.push([text, error]),
  schedulerLabel: (name) => name ?? "model default",
});
"""
)


def run(page: Page, body: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(f"async () => {{ {body} }}")
    return result


def test_interrupted_jobs_get_a_card_with_run_again_and_the_rest_do_not(units_page: Page) -> None:
    record = run(
        units_page,
        INTERRUPTED
        + """
        const engineFailure = listedJob("b", { status: "failed",
                                               error: { type: "engine_error", message: "x" } });
        const api = scriptedApi({ listJobs: [{ jobs: [listedJob("a"), engineFailure,
                                                      interrupted("c"), interrupted("d")] }] });
        const list = listOn(api);
        await list.refresh();
        const shown = { hidden: block.hidden, cards: cardsShown() };
        block.querySelector('[data-job-id="c"] .card-run-again').click();
        return { shown, reruns, calls: api.calls };
        """,
    )
    assert record["shown"]["hidden"] is False
    assert [card["id"] for card in record["shown"]["cards"]] == ["c", "d"]
    assert record["shown"]["cards"][0] == {
        "id": "c",
        "prompt": "prompt of c",
        "seed": "Seed 99",
        "note": "The service stopped while this job was running: submit it again.",
        "buttons": ["Run again", "Dismiss"],
    }
    # The same request, its seed included: a new job that makes the same image.
    assert record["reruns"] == [
        {
            "prompt": "prompt of c",
            "negative_prompt": None,
            "num_inference_steps": 9,
            "guidance_scale": 6.5,
            "width": 320,
            "height": 256,
            "seed": 99,
            "scheduler": None,
            "num_images": 1,
        }
    ]
    assert record["calls"] == [["listJobs"]]


def test_dismiss_deletes_the_record_and_the_block_goes_when_empty(units_page: Page) -> None:
    record = run(
        units_page,
        INTERRUPTED
        + """
        const api = scriptedApi({
          listJobs: [{ jobs: [interrupted("c"), interrupted("d")] }],
          deleteImages: [httpError(500, "internal_error", "Disk trouble."),
                         { deleted: "c", images: [] }, httpError(404, "not_found", "Gone.")],
        });
        const list = listOn(api);
        await list.refresh();
        const dismiss = (id) => block.querySelector(`[data-job-id="${id}"] .card-dismiss`).click();
        dismiss("c");
        await settled();
        const afterError = cardsShown().map((card) => card.id);
        dismiss("c");
        await settled();
        const afterOne = { ids: cardsShown().map((card) => card.id),
                           focused: document.activeElement.closest(".card")?.dataset.jobId };
        dismiss("d");  // already gone on the service: gone here too
        await settled();
        return { afterError, afterOne, hidden: block.hidden, announced, calls: api.calls };
        """,
    )
    assert record["afterError"] == ["c", "d"]
    assert record["afterOne"] == {"ids": ["d"], "focused": "d"}
    assert record["hidden"] is True
    assert record["announced"] == [
        ["Could not dismiss: Disk trouble.", True],
        ["Dismissed the stopped job.", False],
        ["Dismissed the stopped job.", False],
    ]
    assert record["calls"] == [
        ["listJobs"],
        ["deleteImages", "c"],
        ["deleteImages", "c"],
        ["deleteImages", "d"],
    ]


def test_no_list_no_cards(units_page: Page) -> None:
    record = run(
        units_page,
        INTERRUPTED
        + """
        const api = scriptedApi({ listJobs: [httpError(401, "unauthorized", "Key.")] });
        await listOn(api).refresh();
        return { hidden: block.hidden, cards: cardsShown().length, announced };
        """,
    )
    assert record == {"hidden": True, "cards": 0, "announced": []}


RESULT = (
    SETUP
    + """
const { ResultPanel } = await import("/static/result.js");
const { Generation } = await import("/static/generation.js");
const result = new ResultPanel(document.getElementById("result").closest("section"), {
  onCancel: () => {},
  onReuseSeed: () => {},
  onRunAgain: (params) => reruns.push(params),
  afterCancel: () => {},
  schedulerLabel: (name) => name ?? "model default",
});
const generation = (body) => new Generation(body, {
  form: { setBusy: () => {}, showFieldErrors: () => [], showFormError: () => {},
          focusFirstInvalid: () => {} },
  result,
  gallery: { refresh: () => {} },
  timeLimit: () => null,
});
const button = document.getElementById("run-again");
const view = () => ({ runAgain: !button.hidden,
                      status: document.getElementById("status-text").textContent });
"""
)


@pytest.mark.parametrize(
    ("error", "offered"),
    [
        ("interruptedError", True),
        ("{ type: 'engine_error', message: 'The engine failed.' }", False),
        ("{ type: 'timeout', message: 'Stopped at step 3.' }", False),
    ],
)
def test_the_result_offers_run_again_only_for_a_job_a_restart_stopped(
    units_page: Page, error: str, offered: bool
) -> None:
    record = run(
        units_page,
        RESULT
        + f"""
        const job = listedJob("c", {{ status: "failed", error: {error} }});
        await generation(job.params).showFinal(job);
        const after = view();
        if (!button.hidden) button.click();
        return {{ after, reruns }};
        """,
    )
    assert record["after"]["runAgain"] is offered
    if offered:
        assert record["after"]["status"] == (
            "Error: The service stopped while this job was running: submit it again."
        )
        assert record["reruns"][0]["seed"] == 99
        assert record["reruns"][0]["prompt"] == "prompt of c"
    else:
        assert record["reruns"] == []


def test_a_new_generation_takes_run_again_away(units_page: Page) -> None:
    record = run(
        units_page,
        RESULT
        + """
        const job = listedJob("c", { status: "failed", error: interruptedError });
        await generation(job.params).showFinal(job);
        const before = view().runAgain;
        // The next generation starts; its POST /jobs never answers in this test.
        const { api } = await import("/static/api.js");
        api.submitJob = () => new Promise(() => {});
        generation(job.params).run();
        await settled();
        return { before, after: view().runAgain };
        """,
    )
    assert record == {"before": True, "after": False}
