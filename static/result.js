// The result panel: status line, elapsed time, the live preview, the finished image (with
// a strip to pick among a batch's images), and "Run again" for a job a restart stopped;
// its progress bar and Cancel are `progress` (progress.js).
// It renders what it is told; ui.js and generation.js decide when.

"use strict";

import {
  downloadName, h, prefersReducedMotion, setHidden, setText, setTextWithCode,
} from "./dom.js";
import { paramRows } from "./job_params.js";
import { ProgressView } from "./progress.js";
import { COVERED_NOTICE, coveredAlt, isCovered, renderCoverState } from "./safety.js";

const PLACEHOLDER_SRC = "/static/mock-image.svg";
const NARROW_QUERY = "(max-width: 700px)"; // keep in step with styles.css
const BUSY_STATES = new Set(["queued", "generating"]);
const DOWNLOAD_WORDS = { plain: "Download PNG", covered: "Download covered PNG" };

const PARTS = {
  status: "status", statusText: "status-text", statusElapsed: "status-elapsed",
  runAgain: "run-again", result: "result", resultImage: "result-image",
  previewBadge: "preview-badge", strip: "result-strip", resultSeed: "result-seed",
  resultParams: "result-params", reuseSeed: "reuse-seed", download: "download",
  useAsInput: "use-as-input", notice: "result-covered",
};

export class ResultPanel {
  /**
   * `root` is the result section. `onCancel()`, `onReuseSeed(seed)`, `onRunAgain(params)`
   * and `onUseAsInput(image)` are its buttons; `afterCancel()` takes the keyboard focus
   * when Cancel goes away under it; `schedulerLabel(name)` words a job's scheduler.
   */
  constructor(root, { onCancel, onReuseSeed, onRunAgain, onUseAsInput, afterCancel,
                      schedulerLabel }) {
    this.root = root;
    this.el = Object.fromEntries(Object.entries(PARTS).map(
      ([key, id]) => [key, root.querySelector(`#${id}`)]));
    this.schedulerLabel = schedulerLabel;
    /** "shown", or "blurred" while the safety filter blurs previews (see applySafety). */
    this.previews = "shown";
    setText(this.el.notice, COVERED_NOTICE);
    this.progress = new ProgressView(root, { onCancel, afterCancel });
    /** What the figure shows when no preview is up: {job, index} of a finished job, or null. */
    this.shown = null;
    /** The request "Run again" sends, or null while the button is hidden. */
    this.rerun = null;
    this.el.runAgain.addEventListener("click", () => {
      if (this.rerun) onRunAgain(this.rerun);
    });
    this.el.reuseSeed.addEventListener("click",
                                       () => onReuseSeed(this.el.reuseSeed.dataset.seed ?? ""));
    this.el.useAsInput.addEventListener("click", () => {
      const image = this.shown?.job.images[this.shown.index];
      // Hidden for a cover (no picture to edit); a script's click is refused as well.
      if (image && !isCovered(image)) onUseAsInput(image);
    });
    this.el.strip.addEventListener("click", (event) => {
      const button = event.target.closest(".strip-item");
      if (button && this.shown) this.feature(Number(button.dataset.index));
    });
    this.el.resultImage.addEventListener("error", () => {
      const src = this.el.resultImage.getAttribute("src") ?? "";
      if (src === PLACEHOLDER_SRC || src.startsWith("data:")) return;
      this.renderStatus("error", "Error: the image could not be loaded.");
    });
  }

  // ---------------------------------------------------------------- status line

  /** state: "idle" | "queued" | "generating" | "complete" | "cancelled" | "error". */
  renderStatus(state, text, { title = "" } = {}) {
    this.el.status.dataset.state = state;
    setTextWithCode(this.el.statusText, text);
    this.el.status.title = title;
    const busy = BUSY_STATES.has(state);
    if (!busy) setText(this.el.statusElapsed, "");
    this.el.result.setAttribute("aria-busy", String(busy));
  }

  renderElapsed(seconds) {
    setText(this.el.statusElapsed, `${seconds} s`);
  }

  /** Offer "Run again" with `params` (a job a restart stopped), or hide it (null). */
  offerRunAgain(params) {
    this.rerun = params;
    setHidden(this.el.runAgain, params === null);
  }

  // ---------------------------------------------------------------- image

  /** Back to the image's own size (a preview had set the final one). */
  clearPreviewSize() {
    this.el.resultImage.style.removeProperty("width");
    this.el.resultImage.style.removeProperty("aspect-ratio");
  }

  setCaption(seed, { finished }) {
    setText(this.el.resultSeed, seed === null ? "—" : String(seed));
    setHidden(this.el.download, !finished);
    setHidden(this.el.reuseSeed, !finished);
    setHidden(this.el.useAsInput, !finished);
    setHidden(this.el.resultParams, !finished);
    if (!finished) {
      setHidden(this.el.strip, true);
      setHidden(this.el.notice, true);
    }
  }

  /** Show a preview of the running job's latents (a data URL), scaled to the final size. */
  renderPreview(job, { step, image }) {
    if (typeof image !== "string" || !image.startsWith("data:image/")) return;
    // The preview is small (at most 256 px): draw it at the size the image will have.
    const { width, height } = job.params;
    this.el.resultImage.width = width;
    this.el.resultImage.height = height;
    this.el.resultImage.style.width = `${width}px`;
    this.el.resultImage.style.aspectRatio = `${width} / ${height}`;
    this.el.resultImage.src = image;
    const blurred = this.previews === "blurred";
    this.el.resultImage.alt = `${blurred ? "Blurred preview" : "Preview"} of the image being `
      + `generated, at step ${step}`;
    this.el.result.dataset.empty = "false";
    this.el.result.dataset.preview = "true";
    const badge = blurred ? "Blurred preview" : "Preview";
    setText(this.el.previewBadge, Number.isFinite(step) ? `${badge} · step ${step}` : badge);
    setHidden(this.el.previewBadge, false);
    this.setCaption(job.seed, { finished: false });
  }

  renderParams(job) {
    const nodes = paramRows(job, this.schedulerLabel).flatMap(
      ([term, value]) => [h("dt", {}, term), h("dd", {}, value)]);
    this.el.resultParams.replaceChildren(...nodes);
  }

  renderStrip(job, index) {
    const images = job.images ?? [];
    if (images.length < 2) {
      this.el.strip.replaceChildren();
      setHidden(this.el.strip, true);
      return;
    }
    this.el.strip.replaceChildren(...images.map((image, i) => h("li", {},
      h("button", {
        type: "button",
        className: "strip-item",
        dataset: { index: String(i), seed: String(image.seed) },
        attrs: { "aria-pressed": String(i === index),
                 "aria-label": `Image ${i + 1} of ${images.length}, seed ${image.seed}`
                   + (isCovered(image) ? ", covered by the safety filter" : "") },
      },
      h("img", { src: image.url, width: image.width, height: image.height, alt: "",
                 decoding: "async" }),
      h("span", { className: "strip-seed mono" }, String(image.seed))))));
    setHidden(this.el.strip, false);
  }

  /** Feature one image of the shown job: the large image, its seed and its download. */
  feature(index) {
    const { job } = this.shown;
    const image = job.images[index];
    this.shown.index = index;
    this.el.resultImage.width = image.width;
    this.el.resultImage.height = image.height;
    this.el.resultImage.src = image.url;
    this.el.resultImage.alt = coveredAlt(image, job.images.length > 1
      ? `Generated image ${index + 1} of ${job.images.length} for the prompt: ${job.params.prompt}`
      : `Generated image for the prompt: ${job.params.prompt}`);
    this.el.result.dataset.empty = "false";
    this.el.result.dataset.preview = "false";
    this.clearPreviewSize();
    setHidden(this.el.previewBadge, true);
    this.setCaption(image.seed, { finished: true });
    this.el.download.href = image.url;
    this.el.download.download = downloadName(job, image);
    renderCoverState(this.el, image, DOWNLOAD_WORDS);
    this.el.reuseSeed.dataset.seed = String(image.seed);
    for (const button of this.el.strip.querySelectorAll(".strip-item")) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.index) === index));
    }
  }

  /** Show a finished job; its images must already be loadable. */
  renderResult(job, index = 0) {
    this.shown = { job, index };
    this.renderParams(job);
    this.renderStrip(job, index);
    this.feature(index);
  }

  /** Drop a preview and show again what was shown before it (or the placeholder). */
  restoreResult() {
    if (this.shown) {
      this.renderResult(this.shown.job, this.shown.index);
      return;
    }
    this.el.resultImage.width = 512;
    this.el.resultImage.height = 512;
    this.el.resultImage.src = PLACEHOLDER_SRC;
    this.el.resultImage.alt = "Placeholder: no image generated yet";
    this.el.result.dataset.empty = "true";
    this.el.result.dataset.preview = "false";
    this.clearPreviewSize();
    setHidden(this.el.previewBadge, true);
    this.el.strip.replaceChildren();
    this.setCaption(null, { finished: false });
  }

  /** What /health says about the filter (safety.js's filterState, or null): previews' words. */
  applySafety(state) {
    this.previews = state?.previews === "blurred" ? "blurred" : "shown";
    this.progress.showPreviewsOff(state?.previews === "off");
  }

  /** A job's images were deleted: stop showing them. */
  forgetJob(jobId) {
    if (this.shown?.job.job_id !== jobId) return;
    this.shown = null;
    if (this.el.result.dataset.preview !== "true") this.restoreResult();
  }

  /** The scheduler labels changed (the service answered): reword the shown job's. */
  relabel() {
    if (this.shown) this.renderParams(this.shown.job);
  }

  resultImageDecoded() {
    return this.el.resultImage.decode().catch(() => undefined);
  }

  /**
   * On a one-column layout the result sits below the form: bring it into view, its top
   * (status and progress) when a job starts, all of it that fits when one ends.
   */
  revealResult({ block = "nearest" } = {}) {
    if (!window.matchMedia(NARROW_QUERY).matches) return;
    this.root.scrollIntoView({
      block, behavior: prefersReducedMotion() ? "auto" : "smooth",
    });
  }
}
