// The mask editor over the input image: paint or erase with a round brush by mouse, pen or
// finger (pointer events), and buttons for undo, clear, invert and fill, which keyboard
// users have too. The pixels are a MaskLayer (mask_layer.js); this wires the page to it
// and says which mode the mask makes (inpainting, or image-to-image while it is empty).

"use strict";

import { MaskLayer } from "./mask_layer.js";
import { setHidden, setText } from "./dom.js";

const PARTS = {
  canvas: "mask-canvas", paint: "mask-paint", erase: "mask-erase", brush: "brush-size",
  brushValue: "brush-size-value", undo: "mask-undo", clear: "mask-clear",
  invert: "mask-invert", fill: "mask-fill", blur: "mask_blur", invertOption: "invert_mask",
  summary: "mask-summary",
};

export class MaskEditor {
  /** `root` holds the parts; `onChange()` hears every change of the mask. */
  constructor(root, { onChange = () => {} } = {}) {
    this.el = Object.fromEntries(Object.entries(PARTS).map(
      ([key, id]) => [key, root.querySelector(`#${id}`)]));
    this.layer = new MaskLayer(this.el.canvas);
    this.onChange = onChange;
    this.erasing = false;
    /** The pointer drawing now and where it last was, or null. */
    this.drawing = null;
    /** The share painted, 0..1; one pass over the pixels per change, a large image has many. */
    this.covered = 0;

    const canvas = this.el.canvas;
    canvas.addEventListener("pointerdown", (event) => this.onPointerDown(event));
    canvas.addEventListener("pointermove", (event) => this.onPointerMove(event));
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
      canvas.addEventListener(type, (event) => this.onPointerEnd(event));
    }
    this.el.paint.addEventListener("click", () => this.setErasing(false));
    this.el.erase.addEventListener("click", () => this.setErasing(true));
    this.el.undo.addEventListener("click", () => this.undo());
    this.el.clear.addEventListener("click", () => this.changed(() => this.layer.clear()));
    this.el.invert.addEventListener("click", () => this.changed(() => this.layer.invert()));
    this.el.fill.addEventListener("click", () => this.changed(() => this.layer.fill()));
    this.el.brush.addEventListener("input", () => this.renderBrush());
    this.el.invertOption.addEventListener("change", () => this.render());
    root.addEventListener("keydown", (event) => {
      const undoKey = (event.ctrlKey || event.metaKey) && !event.shiftKey
        && event.key.toLowerCase() === "z";
      // On the mask's buttons only: in the blur field, Ctrl+Z undoes typing as usual.
      const onTools = event.target.matches?.(".mask-tools button, .mask-tools [type=range]");
      if (undoKey && onTools) {
        event.preventDefault();
        this.undo();
      }
    });
    this.setErasing(false);
    this.renderBrush();
    this.render();
  }

  /** A fresh, empty mask for an input of `width` x `height`. */
  reset(width, height) {
    this.layer.reset(width, height);
    this.covered = 0;
    this.render();
  }

  setErasing(erasing) {
    this.erasing = erasing;
    this.el.paint.setAttribute("aria-pressed", String(!erasing));
    this.el.erase.setAttribute("aria-pressed", String(erasing));
    this.el.canvas.dataset.tool = erasing ? "erase" : "paint";
  }

  renderBrush() {
    setText(this.el.brushValue, `${this.el.brush.value} px`);
  }

  undo() {
    if (this.layer.undo()) this.afterChange();
  }

  changed(change) {
    change();
    this.afterChange();
  }

  /** No pixel painted: the job is image-to-image. */
  get empty() {
    return this.covered === 0;
  }

  afterChange() {
    this.covered = this.layer.coverage();
    this.render();
    this.onChange();
  }

  render() {
    this.el.undo.disabled = !this.layer.canUndo;
    this.el.canvas.dataset.empty = String(this.empty);
    // Never "0 %" or "100 %" for a mask that is not quite empty or full.
    const percent = (share) => Math.min(99, Math.max(1, Math.round(share * 100)));
    let words = "No mask: the whole image changes (image to image).";
    if (this.covered >= 1) words = "Inpainting: 100 % of the image is masked.";
    else if (!this.empty) words = `Inpainting: ${percent(this.covered)} % of the image is masked.`;
    if (!this.empty && this.el.invertOption.checked) {
      words += " Inverted: the rest is repainted.";
    }
    setText(this.el.summary, words);
  }

  /** The mask options as the request takes them. */
  options() {
    const blur = Number(this.el.blur.value);
    return {
      mask_blur: Number.isInteger(blur) ? blur : 4,
      invert_mask: this.el.invertOption.checked,
    };
  }

  /** Put back a past job's options (the mask itself comes with load()). */
  restoreOptions(params) {
    if (Number.isInteger(params.mask_blur)) this.el.blur.value = String(params.mask_blur);
    this.el.invertOption.checked = params.invert_mask === true;
  }

  /** Show the mask options' bounds from /health's request_bounds. */
  applyBounds(bounds) {
    const own = bounds?.mask_blur;
    if (!own) return;
    if (Number.isFinite(own.min)) this.el.blur.min = String(own.min);
    if (Number.isFinite(own.max)) this.el.blur.max = String(own.max);
  }

  /** Load a stored mask (white repaints) into the editor. */
  load(image) {
    this.layer.load(image);
    this.afterChange();
  }

  setHidden(hidden) {
    setHidden(this.el.canvas, hidden);
  }

  // ---------------------------------------------------------------- pointers

  /** The event's point in the image's own pixels. */
  pointOf(event) {
    const rect = this.el.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) * this.layer.width) / Math.max(1, rect.width),
      y: ((event.clientY - rect.top) * this.layer.height) / Math.max(1, rect.height),
    };
  }

  /** The brush's radius in image pixels: the slider counts pixels on the screen. */
  radius() {
    const rect = this.el.canvas.getBoundingClientRect();
    const scale = this.layer.width / Math.max(1, rect.width);
    return (Number(this.el.brush.value) / 2) * scale;
  }

  onPointerDown(event) {
    if (this.drawing || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    try {
      // Captured, a stroke goes on past the image's edge and comes back.
      this.el.canvas.setPointerCapture(event.pointerId);
    } catch {
      // A pointer the browser no longer tracks: paint without the capture.
    }
    const point = this.pointOf(event);
    this.layer.checkpoint();
    this.drawing = { id: event.pointerId, last: point };
    this.layer.stroke(point, point, this.radius(), { erase: this.erasing });
  }

  onPointerMove(event) {
    if (!this.drawing || event.pointerId !== this.drawing.id) return;
    const events = event.getCoalescedEvents?.() ?? [];
    const radius = this.radius();
    for (const each of events.length ? events : [event]) {
      const point = this.pointOf(each);
      this.layer.stroke(this.drawing.last, point, radius, { erase: this.erasing });
      this.drawing.last = point;
    }
  }

  onPointerEnd(event) {
    if (!this.drawing || event.pointerId !== this.drawing.id) return;
    this.drawing = null;
    this.afterChange();
  }
}
