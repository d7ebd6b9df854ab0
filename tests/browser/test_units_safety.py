"""The safety filter in the UI's parts alone: a covered image's notice and actions on the
gallery card and in the result, the header's chip, and what the progress area says about
previews. On the real page's markup, with the jobs and reports the tests hand them.

A covered image is one whose job JSON says ``nsfw: true``; ``false`` and ``null`` (no
checker judged it) must look exactly as an image always did.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

NOTICE = "Covered by the safety filter. The original image was not kept."

SETUP = """
const { listedJob } = await import("/__units__/session_fakes.js");
await window.fakes.loadPageMarkup();
// A picture that loads (a data URL, so no request): each seed's its own.
const picture = (seed) => "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' "
  + `width='1' height='1'><title>${seed}</title></svg>`;
const image = (seed, nsfw) => ({ url: picture(seed), seed, width: 320, height: 256, nsfw });
const batch = (id, ...flags) => listedJob(id, {
  images: flags.map((nsfw, i) => image(10 + i, nsfw)),
  params: { ...listedJob(id).params, num_images: flags.length },
});
const shown = (node) => node !== null && !node.hidden && !node.closest("[hidden]");
"""

CARDS = (
    SETUP
    + """
const { card } = await import("/static/cards.js");
const { Gallery } = await import("/static/gallery.js");
const label = (name) => name ?? "model default";
const cardView = (item) => ({
  notice: shown(item.querySelector(".covered-notice"))
    ? item.querySelector(".covered-notice").textContent : null,
  useInput: shown(item.querySelector(".card-use-input")),
  download: item.querySelector(".card-download").textContent,
  file: item.querySelector(".card-download").download,
  alt: item.querySelector(".card-thumb img").alt,
  title: item.querySelector(".card-thumb").title,
  count: item.querySelector(".card-count")?.textContent ?? null,
  describedBy: item.querySelector(".card-download").getAttribute("aria-describedby"),
  strip: Array.from(item.querySelectorAll(".card-strip-item"),
                    (b) => b.getAttribute("aria-label")),
});
"""
)


def run(page: Page, body: str) -> Any:
    return page.evaluate(f"async () => {{ {body} }}")


def test_a_card_not_judged_or_not_flagged_is_the_card_it_always_was(units_page: Page) -> None:
    record = run(
        units_page,
        CARDS
        + """
        const html = (flag) => card(batch("j", flag, flag), label).outerHTML;
        const today = card(listedJob("j", { images: [10, 11].map((seed) => {
          const { nsfw, ...rest } = image(seed, null);
          return rest;
        }), params: { ...listedJob("j").params, num_images: 2 } }), label).outerHTML;
        return { unjudged: html(null) === today, passed: html(false) === today,
                 view: cardView(card(batch("j", false), label)) };
        """,
    )
    assert record["unjudged"] is True
    assert record["passed"] is True
    assert record["view"]["notice"] is None
    assert record["view"]["useInput"] is True
    assert record["view"]["download"] == "Download"
    assert record["view"]["title"] == "Open the full-size image"


def test_a_covered_card_says_so_and_offers_no_edit_of_the_cover(units_page: Page) -> None:
    view = run(units_page, CARDS + "return cardView(card(batch('j', true), label));")
    assert view["notice"] == NOTICE
    assert view["useInput"] is False
    assert view["download"] == "Download covered"
    assert view["file"] == "sd-10-j-covered.png"
    assert view["alt"] == "Covered by the safety filter. Image for the prompt: prompt of j"
    assert view["title"] == "Open the covered image"
    # A screen reader hears the notice with the card's actions, not only the picture.
    assert view["describedBy"] == "card-j-prompt card-j-covered"


def test_a_batch_card_follows_the_image_it_shows(units_page: Page) -> None:
    record = run(
        units_page,
        CARDS
        + """
        const used = [];
        const gallery = new Gallery(document.getElementById("gallery"), {
          api: { listImages: async () => ({ images: [batch("b", false, true, null)],
                                            next_before: null }) },
          onUse: () => {}, onUseInput: (picked) => used.push(picked.seed),
          onDeleted: () => {}, schedulerLabel: label,
        });
        await gallery.refresh();
        const item = document.querySelector("#gallery-list .card");
        const views = [cardView(item)];
        item.querySelectorAll(".card-strip-item")[1].click();
        views.push(cardView(item));
        // Even clicked from a script, "Use as input" never hands on a cover.
        item.querySelector(".card-use-input").click();
        item.querySelectorAll(".card-strip-item")[2].click();
        views.push(cardView(item));
        item.querySelector(".card-use-input").click();
        return { views, used };
        """,
    )
    first, covered, unjudged = record["views"]
    assert first["count"] == "3 images · 1 covered"
    assert first["notice"] is None
    assert first["useInput"] is True
    assert first["strip"] == [
        "Show image 1 of 3, seed 10",
        "Show image 2 of 3, seed 11, covered by the safety filter",
        "Show image 3 of 3, seed 12",
    ]
    assert covered["notice"] == NOTICE
    assert covered["useInput"] is False
    assert covered["download"] == "Download covered"
    assert covered["file"] == "sd-11-b-covered.png"
    assert unjudged["notice"] is None
    assert unjudged["useInput"] is True
    assert unjudged["download"] == "Download"
    assert unjudged["file"] == "sd-12-b.png"
    assert record["used"] == [12]


RESULT = (
    SETUP
    + """
const { ResultPanel } = await import("/static/result.js");
const { Generation } = await import("/static/generation.js");
const used = [];
const result = new ResultPanel(document.getElementById("result").closest("section"), {
  onCancel: () => {}, onReuseSeed: () => {}, onRunAgain: () => {},
  onUseAsInput: (picked) => used.push(picked.seed), afterCancel: () => {},
  schedulerLabel: (name) => name ?? "model default",
});
const part = (id) => document.getElementById(id);
const resultView = () => ({
  notice: shown(part("result-covered")) ? part("result-covered").textContent : null,
  useInput: shown(part("use-as-input")),
  download: part("download").textContent,
  file: part("download").download,
  alt: part("result-image").alt,
  status: part("status-text").textContent,
  strip: Array.from(part("result-strip").querySelectorAll(".strip-item"),
                    (b) => b.getAttribute("aria-label")),
  params: Array.from(part("result-params").querySelectorAll("dt"),
                     (dt) => [dt.textContent, dt.nextElementSibling.textContent]),
});
const finish = async (job) => {
  await new Generation(job.params, {
    form: { setBusy: () => {} }, result, gallery: { refresh: () => {} }, timeLimit: () => null,
  }).showFinal({ ...job, duration_ms: 1500 });
  return resultView();
};
"""
)


def test_the_result_of_a_covered_image_says_so_in_words_a_screen_reader_hears(
    units_page: Page,
) -> None:
    record = run(
        units_page,
        RESULT
        + """
        const covered = await finish(batch("r", true));
        part("use-as-input").click();
        const plain = await finish(batch("p", false));
        return { covered, plain, used };
        """,
    )
    covered, plain = record["covered"], record["plain"]
    assert covered["notice"] == NOTICE
    assert covered["useInput"] is False
    assert covered["download"] == "Download covered PNG"
    assert covered["file"] == "sd-10-r-covered.png"
    assert (
        covered["alt"]
        == "Covered by the safety filter. Generated image for the prompt: prompt of r"
    )
    # The status line is a live region: it says what happened as the job ends.
    assert covered["status"] == "Complete in 1.5 s. The safety filter covered the image."
    assert ["Safety filter", "covered the image"] in covered["params"]

    assert plain["notice"] is None
    assert plain["useInput"] is True
    assert plain["download"] == "Download PNG"
    assert plain["alt"] == "Generated image for the prompt: prompt of p"
    assert plain["status"] == "Complete in 1.5 s."
    assert all(term != "Safety filter" for term, _ in plain["params"])
    assert record["used"] == []


def test_a_batch_result_follows_the_picked_image(units_page: Page) -> None:
    record = run(
        units_page,
        RESULT
        + """
        const first = await finish(batch("b", null, true));
        part("result-strip").querySelectorAll(".strip-item")[1].click();
        const second = resultView();
        part("use-as-input").click();
        part("result-strip").querySelectorAll(".strip-item")[0].click();
        part("use-as-input").click();
        return { first, second, third: resultView(), used };
        """,
    )
    first, second, third = record["first"], record["second"], record["third"]
    assert first["status"] == "Complete in 1.5 s — 2 images, 1 covered by the safety filter."
    assert first["strip"] == [
        "Image 1 of 2, seed 10",
        "Image 2 of 2, seed 11, covered by the safety filter",
    ]
    assert ["Safety filter", "covered 1 of 2 images"] in first["params"]
    assert first["notice"] is None
    assert first["useInput"] is True
    assert second["notice"] == NOTICE
    assert second["useInput"] is False
    assert second["download"] == "Download covered PNG"
    assert third["notice"] is None
    assert third["useInput"] is True
    assert third["download"] == "Download PNG"
    assert record["used"] == [10]


@pytest.mark.parametrize(
    ("safety", "chip"),
    [
        (None, None),
        (
            {"checker": "off", "action": "blur", "previews": "blur", "loaded": True},
            {
                "text": "safety filter off",
                "tone": "",
                "label": "Safety filter off: images are not checked (SAFETY_CHECKER=off).",
            },
        ),
        (
            {
                "checker": "sd_checker",
                "action": "blur",
                "previews": "blur",
                "loaded": True,
                "version": "ab12cd34",
                "device": "CPU",
            },
            {
                "text": "safety filter on",
                "tone": "ok",
                "label": "Safety filter on: Images it flags are blurred, with a notice. "
                "Live previews are blurred. Checker sd_checker ab12cd34 on CPU.",
            },
        ),
        (
            {"checker": "sd_checker", "action": "block", "previews": "off", "loaded": True},
            {
                "text": "safety filter on",
                "tone": "ok",
                "label": "Safety filter on: Images it flags are replaced by a plain "
                "placeholder. Live previews are off. Checker sd_checker.",
            },
        ),
        (
            {"checker": "sd_checker", "action": "blur", "previews": "blur", "loaded": False},
            {
                "text": "safety filter not ready",
                "tone": "warn",
                "label": "Safety filter not ready: no image is made until its checker is loaded.",
            },
        ),
    ],
)
def test_the_header_shows_the_filters_state(
    units_page: Page, safety: dict[str, Any] | None, chip: dict[str, str] | None
) -> None:
    report: dict[str, Any] = {
        "status": "ok",
        "mock": True,
        "device": {"target": "GPU", "active": "mock"},
        "model": {"cached": False},
        "queue": {"queued": 0, "running": 0},
    }
    if safety is not None:
        report["safety"] = safety
    record = units_page.evaluate(
        """async (report) => {
          const { HealthMonitor } = await import("/static/health.js");
          await window.fakes.loadPageMarkup();
          const chip = document.getElementById("health-safety");
          await new HealthMonitor({
            badge: document.getElementById("health"),
            banner: document.getElementById("health-banner"),
            fetchHealth: async () => report,
          }).check();
          return chip.hidden ? null : { text: chip.textContent, tone: chip.dataset.tone,
                                        label: chip.getAttribute("aria-label"),
                                        focusable: chip.tabIndex === 0 };
        }""",
        report,
    )
    if chip is None:
        assert record is None
    else:
        assert record == {**chip, "focusable": True}


PROGRESS = (
    SETUP
    + """
const { ResultPanel } = await import("/static/result.js");
const { filterState } = await import("/static/safety.js");
const result = new ResultPanel(document.getElementById("result").closest("section"), {
  onCancel: () => {}, onReuseSeed: () => {}, onRunAgain: () => {}, onUseAsInput: () => {},
  afterCancel: () => {}, schedulerLabel: (name) => name ?? "model default",
});
const part = (id) => document.getElementById(id);
const job = listedJob("p", { status: "running" });
const preview = "data:image/png;base64,iVBORw0KGgo=";
const progressView = () => ({
  previewsOff: shown(part("progress-previews"))
    ? part("progress-previews").textContent.replace(/\\s+/g, " ").trim() : null,
  badge: shown(part("preview-badge")) ? part("preview-badge").textContent : null,
});
const steps = () => {
  const seen = {};
  result.progress.renderWaiting(9);
  seen.waiting = progressView();
  result.progress.render({ step: 3, total: 9 });
  result.renderPreview(job, { step: 3, image: preview });
  seen.running = progressView();
  result.progress.render({ step: 9, total: 9, ended: "complete" });
  seen.ended = progressView();
  return seen;
};
const on = { checker: "sd_checker", action: "blur", loaded: true };
"""
)


def test_previews_say_when_the_filter_blurs_them_or_turns_them_off(units_page: Page) -> None:
    record = run(
        units_page,
        PROGRESS
        + """
        const seen = {};
        result.applySafety(filterState({ checker: "off", previews: "blur", loaded: true }));
        seen.off = steps();
        result.applySafety(filterState({ ...on, previews: "blur" }));
        seen.blurred = steps();
        result.applySafety(filterState({ ...on, previews: "off" }));
        seen.none = steps();
        return seen;
        """,
    )
    previews_off = "Previews are off while the safety filter is on."
    assert record["off"]["waiting"]["previewsOff"] is None
    assert record["off"]["running"] == {"previewsOff": None, "badge": "Preview · step 3"}
    assert record["blurred"]["running"] == {
        "previewsOff": None,
        "badge": "Blurred preview · step 3",
    }
    assert record["none"]["waiting"]["previewsOff"] == previews_off
    assert record["none"]["running"]["previewsOff"] == previews_off
    assert record["none"]["ended"]["previewsOff"] is None
