// A gallery card: one finished job's thumbnail, settings, seed and actions, built from
// its JSON. Text only, so a prompt never becomes markup; gallery.js handles the actions.

"use strict";

import { downloadName, h, truncate } from "./dom.js";
import { jobMode, modeLabel, paramsDenoisingSteps } from "./edit_rules.js";
import {
  COVERED_NOTICE, coveredAlt, coveredCount, isCovered, renderCoverState,
} from "./safety.js";

const PROMPT_CHARS = 90;
const DOWNLOAD_WORDS = { plain: "Download", covered: "Download covered" };

function metaLine(params, schedulerLabel) {
  const steps = params.num_inference_steps;
  const ran = paramsDenoisingSteps(params);
  const parts = [
    `${params.width} × ${params.height}`,
    ran === steps ? `${steps} steps` : `${ran} of ${steps} steps`,
    `guidance ${params.guidance_scale}`,
  ];
  return h("p", { className: "card-meta" },
    ...parts.map((part) => h("span", { className: "card-meta-item" }, part)),
    h("span", { className: "card-meta-item", dataset: { scheduler: params.scheduler ?? "" } },
      schedulerLabel(params.scheduler)));
}

/**
 * An edited image's mode and a small thumbnail of the image it started from; the input may
 * be gone (retention removes uploads), and then only the words stay.
 */
function editLine(job) {
  const mode = jobMode(job);
  if (mode === "text_to_image") return null;
  const init = job.params.init_image;
  const thumb = init?.upload_id
    ? h("img", { className: "card-input-thumb",
                 src: `/uploads/${encodeURIComponent(init.upload_id)}.png`,
                 width: init.width, height: init.height, loading: "lazy", decoding: "async",
                 alt: `Input image, ${init.width} × ${init.height}`,
                 onerror: (event) => { event.target.hidden = true; } })
    : null;
  const strength = job.params.strength;
  return h("p", { className: "card-edit", dataset: { mode } }, thumb,
    h("span", { className: "card-mode" }, modeLabel(mode)),
    Number.isFinite(strength) ? h("span", {}, `strength ${strength}`) : null);
}

/** "Negative: …" when the job had one; text only, so a prompt never becomes markup. */
function negativeLine(params) {
  if (!params.negative_prompt) return null;
  return h("p", { className: "card-negative", title: params.negative_prompt },
    h("span", { className: "card-negative-label" }, "Negative: "),
    h("span", { className: "card-negative-text" },
      truncate(params.negative_prompt, PROMPT_CHARS)));
}

function miniStrip(job) {
  const images = job.images;
  if (images.length < 2) return null;
  return h("ul", { className: "card-strip", attrs: { "aria-label": "Images of this batch" } },
    ...images.map((image, index) => h("li", {},
      h("button", {
        type: "button",
        className: "card-strip-item",
        dataset: { action: "feature", index: String(index), seed: String(image.seed) },
        attrs: { "aria-pressed": String(index === 0),
                 "aria-label": `Show image ${index + 1} of ${images.length}, seed ${image.seed}`
                   + (isCovered(image) ? ", covered by the safety filter" : "") },
      }, h("img", { src: image.url, width: image.width, height: image.height, alt: "",
                    loading: "lazy", decoding: "async" })))));
}

/** "4 images", and how many of them the safety filter covered, if any. */
function countWords(job) {
  const count = job.images.length;
  const covered = coveredCount(job);
  return covered ? `${count} images · ${covered} covered` : `${count} images`;
}

/**
 * Show the card's image `image` as covered or not: the thumbnail's words, the notice,
 * "Use as input" and the download's label. Only a job with a covered image has a notice.
 */
export function renderCardCover(item, job, image) {
  const notice = item.querySelector(".covered-notice");
  if (!notice) return;
  const thumb = item.querySelector(".card-thumb");
  thumb.title = isCovered(image) ? "Open the covered image" : "Open the full-size image";
  thumb.querySelector("img").alt = coveredAlt(image, imageAlt(job));
  renderCoverState({
    notice,
    useAsInput: item.querySelector(".card-use-input"),
    download: item.querySelector(".card-download"),
  }, image, DOWNLOAD_WORDS);
}

function imageAlt(job) {
  return `Image for the prompt: ${truncate(job.params.prompt, 120)}`;
}

/** The card of one finished job; `schedulerLabel(name)` words its scheduler. */
export function card(job, schedulerLabel) {
  const item = plainCard(job, schedulerLabel);
  if (coveredCount(job) > 0) {
    // Under the prompt: read with it, and named by the card's buttons as they are.
    const noticeId = `card-${job.job_id}-covered`;
    item.querySelector(".card-prompt").after(
      h("p", { className: "covered-notice", id: noticeId }, COVERED_NOTICE));
    for (const button of item.querySelectorAll(".card-actions [aria-describedby]")) {
      button.setAttribute("aria-describedby",
                          `${button.getAttribute("aria-describedby")} ${noticeId}`);
    }
    renderCardCover(item, job, job.images[0]);
  }
  return item;
}

function plainCard(job, schedulerLabel) {
  const { params } = job;
  const first = job.images[0];
  const promptId = `card-${job.job_id}-prompt`;
  const count = job.images.length;
  return h("li", { className: "card", dataset: { jobId: job.job_id } },
    h("a", {
      className: "card-thumb",
      href: first.url,
      target: "_blank",
      rel: "noopener",
      title: "Open the full-size image",
    },
    h("img", { src: first.url, width: first.width, height: first.height, loading: "lazy",
               decoding: "async", alt: imageAlt(job) }),
    count > 1 ? h("span", { className: "card-count" }, countWords(job)) : null),
    miniStrip(job),
    h("div", { className: "card-body" },
      h("p", { className: "card-prompt", id: promptId, title: params.prompt },
        truncate(params.prompt, PROMPT_CHARS)),
      editLine(job),
      metaLine(params, schedulerLabel),
      negativeLine(params),
      h("p", { className: "card-seed" }, "Seed ",
        h("span", { className: "mono card-seed-value" }, String(first.seed)))),
    h("div", { className: "card-actions" },
      h("button", { type: "button", className: "button small card-use",
                    dataset: { action: "use" }, attrs: { "aria-describedby": promptId } },
        "Use these settings"),
      h("button", { type: "button", className: "button small card-use-input",
                    dataset: { action: "use-input" }, attrs: { "aria-describedby": promptId } },
        "Use as input"),
      h("a", { className: "button small card-download", href: first.url,
               download: downloadName(job, first), attrs: { "aria-describedby": promptId } },
        "Download"),
      h("button", { type: "button", className: "button small card-delete",
                    dataset: { action: "delete" }, attrs: { "aria-describedby": promptId } },
        "Delete")),
    h("div", { className: "card-confirm", hidden: true,
               attrs: { role: "group", "aria-label": "Confirm delete" } },
      h("span", { className: "card-confirm-text" },
        count > 1 ? `Delete these ${count} images?` : "Delete this image?"),
      h("button", { type: "button", className: "button small danger",
                    dataset: { action: "confirm-delete" } }, "Delete"),
      h("button", { type: "button", className: "button small", dataset: { action: "keep" } },
        "Keep")));
}

/**
 * The card of a job a restart stopped while it ran (failed, error type "interrupted"):
 * no image, what it asked for, and "Run again" (the same request and seed as a new job).
 */
export function interruptedCard(job, schedulerLabel) {
  const { params } = job;
  const promptId = `interrupted-${job.job_id}-prompt`;
  const seed = params.seed ?? job.seed;
  return h("li", { className: "card card-interrupted", dataset: { jobId: job.job_id } },
    h("div", { className: "card-body" },
      h("p", { className: "card-prompt", id: promptId, title: params.prompt },
        truncate(params.prompt, PROMPT_CHARS)),
      metaLine(params, schedulerLabel),
      negativeLine(params),
      h("p", { className: "card-seed" }, "Seed ",
        h("span", { className: "mono card-seed-value" },
          seed === null || seed === undefined ? "random" : String(seed))),
      h("p", { className: "card-note" }, job.error?.message ?? "The service stopped while "
        + "this job was running.")),
    h("div", { className: "card-actions" },
      h("button", { type: "button", className: "button small primary card-run-again",
                    dataset: { action: "run-again" }, attrs: { "aria-describedby": promptId } },
        "Run again"),
      h("button", { type: "button", className: "button small card-dismiss",
                    dataset: { action: "dismiss" }, attrs: { "aria-describedby": promptId } },
        "Dismiss")));
}
