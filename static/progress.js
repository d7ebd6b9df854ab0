// The result panel's progress: the bar, its words (step, image of a batch, time left),
// the note under it, and Cancel. It renders what it is told; generation.js decides when.

"use strict";

import { formatEta, setHidden, setText } from "./dom.js";

const PARTS = {
  progress: "progress", bar: "progress-bar", text: "progress-text", image: "progress-image",
  eta: "progress-eta", note: "progress-note", previews: "progress-previews", cancel: "cancel",
};

export class ProgressView {
  /**
   * `root` holds the parts (the result section); `onCancel()` is the Cancel button;
   * `afterCancel()` takes the keyboard focus when Cancel goes away under it.
   */
  constructor(root, { onCancel, afterCancel }) {
    this.root = root;
    this.el = Object.fromEntries(Object.entries(PARTS).map(
      ([key, id]) => [key, root.querySelector(`#${id}`)]));
    this.afterCancel = afterCancel;
    /** The safety filter is on with previews off: say so while a job runs, not a blank. */
    this.previewsOff = false;
    this.el.cancel.addEventListener("click", onCancel);
    this.renderCancel("hidden");
  }

  /** mode: "hidden" | "ready" | "pending" (asked, not yet answered). */
  renderCancel(mode) {
    // A hidden button drops the keyboard focus on the floor: hand it to Generate instead.
    const focused = this.root.ownerDocument.activeElement;
    if (mode === "hidden" && focused === this.el.cancel) this.afterCancel();
    setHidden(this.el.cancel, mode === "hidden");
    // aria-disabled, not disabled: a disabled button would lose the keyboard focus.
    this.el.cancel.setAttribute("aria-disabled", String(mode === "pending"));
    setText(this.el.cancel, mode === "pending" ? "Cancelling…" : "Cancel");
  }

  /** Waiting in the queue: an indeterminate bar. */
  renderWaiting(total) {
    this.el.progress.dataset.state = "queued";
    this.el.progress.dataset.step = "0";
    this.el.progress.dataset.total = String(total);
    this.el.bar.removeAttribute("value");
    setText(this.el.text, "Waiting to start");
    setHidden(this.el.image, true);
    setText(this.el.eta, "");
    setHidden(this.el.previews, !this.previewsOff);
    setHidden(this.el.progress, false);
  }

  /**
   * Running or ended at `step` of `total` (counted over every image of a batch).
   * `ended`: null while running, else "complete" | "stopped".
   */
  render({ step, total, eta = null, stepsPerImage = total, ended = null }) {
    const safeTotal = Math.max(1, total);
    const safeStep = Math.min(Math.max(0, step), safeTotal);
    this.el.progress.dataset.state = ended ?? "running";
    this.el.progress.dataset.step = String(safeStep);
    this.el.progress.dataset.total = String(safeTotal);
    this.el.bar.max = safeTotal;
    this.el.bar.value = safeStep;
    setText(this.el.text, ended === "stopped"
      ? `Stopped at step ${safeStep} of ${safeTotal}`
      : `Step ${safeStep} of ${safeTotal}`);
    const images = Math.round(safeTotal / Math.max(1, stepsPerImage));
    if (images > 1) {
      const current = Math.min(images, Math.floor(Math.max(0, safeStep - 1) / stepsPerImage) + 1);
      setText(this.el.image, `image ${current} of ${images}`);
    }
    setHidden(this.el.image, images <= 1);
    let etaText = "";
    if (!ended) etaText = formatEta(eta) || (safeStep < safeTotal ? "estimating time…" : "");
    setText(this.el.eta, etaText);
    setHidden(this.el.previews, !this.previewsOff || ended !== null);
    setHidden(this.el.progress, false);
  }

  /** Whether /health said previews are off while the safety filter is on. */
  showPreviewsOff(off) {
    this.previewsOff = off;
    if (!off) setHidden(this.el.previews, true);
  }

  hide() {
    setHidden(this.el.progress, true);
    setHidden(this.el.previews, true);
    this.renderNote(null);
  }

  /** A line under the bar about how updates arrive (stream lost, service unreachable). */
  renderNote(text) {
    setText(this.el.note, text ?? "");
    setHidden(this.el.note, !text);
  }
}
