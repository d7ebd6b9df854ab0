// The result panel: status line, elapsed time, progress bar, Cancel, the live preview,
// and the finished image (with a strip to pick among a batch's images).
// It renders what it is told; the controller in ui.js decides when.

"use strict";

import {
  byId, downloadName, formatDuration, formatEta, h, prefersReducedMotion, schedulerLabel,
  setHidden, setText, setTextWithCode,
} from "./dom.js";

const PLACEHOLDER_SRC = "/static/mock-image.svg";
const NARROW_QUERY = "(max-width: 700px)"; // keep in step with styles.css
const BUSY_STATES = new Set(["queued", "generating"]);

const el = {
  submit: byId("submit"),
  form: byId("generate-form"),
  status: byId("status"),
  statusText: byId("status-text"),
  statusElapsed: byId("status-elapsed"),
  progress: byId("progress"),
  progressBar: byId("progress-bar"),
  progressText: byId("progress-text"),
  progressImage: byId("progress-image"),
  progressEta: byId("progress-eta"),
  progressNote: byId("progress-note"),
  cancel: byId("cancel"),
  result: byId("result"),
  resultImage: byId("result-image"),
  previewBadge: byId("preview-badge"),
  strip: byId("result-strip"),
  resultSeed: byId("result-seed"),
  resultParams: byId("result-params"),
  reuseSeed: byId("reuse-seed"),
  download: byId("download"),
};

/** What the figure shows when no preview is up: {job, index} of a finished job, or null. */
let shown = null;

// ---------------------------------------------------------------- status line

/** state: "idle" | "queued" | "generating" | "complete" | "cancelled" | "error". */
export function renderStatus(state, text, { title = "" } = {}) {
  el.status.dataset.state = state;
  setTextWithCode(el.statusText, text);
  el.status.title = title;
  const busy = BUSY_STATES.has(state);
  if (!busy) setText(el.statusElapsed, "");
  el.result.setAttribute("aria-busy", String(busy));
}

export function renderElapsed(seconds) {
  setText(el.statusElapsed, `${seconds} s`);
}

export function renderBusy(busy) {
  el.submit.disabled = busy;
  el.form.setAttribute("aria-busy", String(busy));
  setText(el.submit, busy ? "Generating…" : "Generate");
}

/** mode: "hidden" | "ready" | "pending" (asked, not yet answered). */
export function renderCancel(mode) {
  // A hidden button drops the keyboard focus on the floor: hand it to Generate instead.
  if (mode === "hidden" && document.activeElement === el.cancel) el.submit.focus();
  setHidden(el.cancel, mode === "hidden");
  // aria-disabled, not disabled: a disabled button would lose the keyboard focus.
  el.cancel.setAttribute("aria-disabled", String(mode === "pending"));
  setText(el.cancel, mode === "pending" ? "Cancelling…" : "Cancel");
}

// ---------------------------------------------------------------- progress

/** Waiting in the queue: an indeterminate bar. */
export function renderProgressWaiting(total) {
  el.progress.dataset.state = "queued";
  el.progress.dataset.step = "0";
  el.progress.dataset.total = String(total);
  el.progressBar.removeAttribute("value");
  setText(el.progressText, "Waiting to start");
  setHidden(el.progressImage, true);
  setText(el.progressEta, "");
  setHidden(el.progress, false);
}

/**
 * Running or ended at `step` of `total` (counted over every image of a batch).
 * `ended`: null while running, else "complete" | "stopped".
 */
export function renderProgress({ step, total, eta = null, stepsPerImage = total, ended = null }) {
  const safeTotal = Math.max(1, total);
  const safeStep = Math.min(Math.max(0, step), safeTotal);
  el.progress.dataset.state = ended ?? "running";
  el.progress.dataset.step = String(safeStep);
  el.progress.dataset.total = String(safeTotal);
  el.progressBar.max = safeTotal;
  el.progressBar.value = safeStep;
  setText(el.progressText, ended === "stopped"
    ? `Stopped at step ${safeStep} of ${safeTotal}`
    : `Step ${safeStep} of ${safeTotal}`);
  const images = Math.round(safeTotal / Math.max(1, stepsPerImage));
  if (images > 1) {
    const current = Math.min(images, Math.floor(Math.max(0, safeStep - 1) / stepsPerImage) + 1);
    setText(el.progressImage, `image ${current} of ${images}`);
  }
  setHidden(el.progressImage, images <= 1);
  let etaText = "";
  if (!ended) etaText = formatEta(eta) || (safeStep < safeTotal ? "estimating time…" : "");
  setText(el.progressEta, etaText);
  setHidden(el.progress, false);
}

export function hideProgress() {
  setHidden(el.progress, true);
  renderProgressNote(null);
}

/** A line under the bar about how updates arrive (stream lost, service unreachable). */
export function renderProgressNote(text) {
  setText(el.progressNote, text ?? "");
  setHidden(el.progressNote, !text);
}

// ---------------------------------------------------------------- image

/** Back to the image's own size (a preview had set the final one). */
function clearPreviewSize() {
  el.resultImage.style.removeProperty("width");
  el.resultImage.style.removeProperty("aspect-ratio");
}

function setCaption(seed, { finished }) {
  setText(el.resultSeed, seed === null ? "—" : String(seed));
  setHidden(el.download, !finished);
  setHidden(el.reuseSeed, !finished);
  setHidden(el.resultParams, !finished);
  if (!finished) setHidden(el.strip, true);
}

/** Show a preview of the running job's latents (a data URL), scaled to the final size. */
export function renderPreview(job, { step, image }) {
  if (typeof image !== "string" || !image.startsWith("data:image/")) return;
  // The preview is small (at most 256 px): draw it at the size the image will have.
  const { width, height } = job.params;
  el.resultImage.width = width;
  el.resultImage.height = height;
  el.resultImage.style.width = `${width}px`;
  el.resultImage.style.aspectRatio = `${width} / ${height}`;
  el.resultImage.src = image;
  el.resultImage.alt = `Preview of the image being generated, at step ${step}`;
  el.result.dataset.empty = "false";
  el.result.dataset.preview = "true";
  setText(el.previewBadge, Number.isFinite(step) ? `Preview · step ${step}` : "Preview");
  setHidden(el.previewBadge, false);
  setCaption(job.seed, { finished: false });
}

function paramRows(job) {
  const params = job.params ?? {};
  const rows = [["Prompt", params.prompt]];
  if (params.negative_prompt) rows.push(["Negative", params.negative_prompt]);
  rows.push(
    ["Size", `${params.width} × ${params.height}`],
    ["Steps", String(params.num_inference_steps)],
    ["Guidance", String(params.guidance_scale)],
    ["Scheduler", schedulerLabel(params.scheduler)],
    ["Device", job.mock && job.device !== "mock" ? `${job.device} (mock)` : String(job.device)],
  );
  if ((job.images ?? []).length > 1) rows.push(["Images", String(job.images.length)]);
  if (job.duration_ms !== null && job.duration_ms !== undefined) {
    rows.push(["Time", formatDuration(job.duration_ms)]);
  }
  return rows;
}

function renderParams(job) {
  const nodes = paramRows(job).flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]);
  el.resultParams.replaceChildren(...nodes);
}

function renderStrip(job, index) {
  const images = job.images ?? [];
  if (images.length < 2) {
    el.strip.replaceChildren();
    setHidden(el.strip, true);
    return;
  }
  el.strip.replaceChildren(...images.map((image, i) => h("li", {},
    h("button", {
      type: "button",
      className: "strip-item",
      dataset: { index: String(i), seed: String(image.seed) },
      attrs: { "aria-pressed": String(i === index),
               "aria-label": `Image ${i + 1} of ${images.length}, seed ${image.seed}` },
    },
    h("img", { src: image.url, width: image.width, height: image.height, alt: "",
               decoding: "async" }),
    h("span", { className: "strip-seed mono" }, String(image.seed))))));
  setHidden(el.strip, false);
}

/** Feature one image of the shown job: the large image, its seed and its download. */
function feature(index) {
  const { job } = shown;
  const image = job.images[index];
  shown.index = index;
  el.resultImage.width = image.width;
  el.resultImage.height = image.height;
  el.resultImage.src = image.url;
  el.resultImage.alt = job.images.length > 1
    ? `Generated image ${index + 1} of ${job.images.length} for the prompt: ${job.params.prompt}`
    : `Generated image for the prompt: ${job.params.prompt}`;
  el.result.dataset.empty = "false";
  el.result.dataset.preview = "false";
  clearPreviewSize();
  setHidden(el.previewBadge, true);
  setCaption(image.seed, { finished: true });
  el.download.href = image.url;
  el.download.download = downloadName(job, image);
  el.reuseSeed.dataset.seed = String(image.seed);
  for (const button of el.strip.querySelectorAll(".strip-item")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.index) === index));
  }
}

/** Show a finished job; its images must already be loadable. */
export function renderResult(job, index = 0) {
  shown = { job, index };
  renderParams(job);
  renderStrip(job, index);
  feature(index);
}

/** Drop a preview and show again what was shown before it (or the placeholder). */
export function restoreResult() {
  if (shown) {
    renderResult(shown.job, shown.index);
    return;
  }
  el.resultImage.width = 512;
  el.resultImage.height = 512;
  el.resultImage.src = PLACEHOLDER_SRC;
  el.resultImage.alt = "Placeholder: no image generated yet";
  el.result.dataset.empty = "true";
  el.result.dataset.preview = "false";
  clearPreviewSize();
  setHidden(el.previewBadge, true);
  el.strip.replaceChildren();
  setCaption(null, { finished: false });
}

/** A job's images were deleted: stop showing them. */
export function forgetJob(jobId) {
  if (shown?.job.job_id !== jobId) return;
  shown = null;
  if (el.result.dataset.preview !== "true") restoreResult();
}

export function resultImageDecoded() {
  return el.resultImage.decode().catch(() => undefined);
}

/**
 * On a one-column layout the result sits below the form: bring it into view, its top
 * (status and progress) when a job starts, all of it that fits when one ends.
 */
export function revealResult({ block = "nearest" } = {}) {
  if (!window.matchMedia(NARROW_QUERY).matches) return;
  el.result.closest("section").scrollIntoView({
    block, behavior: prefersReducedMotion() ? "auto" : "smooth",
  });
}

export function initResult({ onCancel, onReuseSeed }) {
  el.cancel.addEventListener("click", onCancel);
  el.reuseSeed.addEventListener("click", () => onReuseSeed(el.reuseSeed.dataset.seed ?? ""));
  el.strip.addEventListener("click", (event) => {
    const button = event.target.closest(".strip-item");
    if (button && shown) feature(Number(button.dataset.index));
  });
  el.resultImage.addEventListener("error", () => {
    const src = el.resultImage.getAttribute("src") ?? "";
    if (src === PLACEHOLDER_SRC || src.startsWith("data:")) return;
    renderStatus("error", "Error: the image could not be loaded.");
  });
  renderCancel("hidden");
}
