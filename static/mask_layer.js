// The inpainting mask as pixels: a canvas at the input image's own size where painted
// pixels are opaque (in the overlay's colour) and the rest transparent, with undo, clear,
// fill and invert. It knows nothing of pointers or buttons (mask_editor.js wires those);
// toMaskBlob() gives what the service takes: 8-bit grey, white = repaint, on black.

"use strict";

/** The overlay's colour; the page shows the canvas translucent over the image. */
const OVERLAY = [255, 48, 96];
const OVERLAY_CSS = `rgb(${OVERLAY.join(" ")})`;
/** Undo keeps whole snapshots: few of a large image, at most this many of any. */
const UNDO_MAX = 20;
const UNDO_BUDGET_BYTES = 192 * 1024 * 1024;

function canvasOf(width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

export class MaskLayer {
  /** `canvas` is shown over the image; its width and height are the image's own. */
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d", { willReadFrequently: true });
    this.history = [];
    /** Bumped on every change, so a mask uploaded once is not uploaded again unchanged. */
    this.version = 0;
  }

  get width() {
    return this.canvas.width;
  }

  get height() {
    return this.canvas.height;
  }

  /** A new, empty mask of `width` x `height`; the undo history goes. */
  reset(width, height) {
    this.canvas.width = width;
    this.canvas.height = height;
    this.context = this.canvas.getContext("2d", { willReadFrequently: true });
    this.history = [];
    this.version += 1;
  }

  undoDepth() {
    const bytes = Math.max(1, this.width * this.height * 4);
    return Math.max(1, Math.min(UNDO_MAX, Math.floor(UNDO_BUDGET_BYTES / bytes)));
  }

  /** Remember the mask as it is, before a change (a stroke, clear, fill, invert). */
  checkpoint() {
    this.history.push(this.context.getImageData(0, 0, this.width, this.height));
    while (this.history.length > this.undoDepth()) this.history.shift();
  }

  get canUndo() {
    return this.history.length > 0;
  }

  /** Back to before the last change; false when there is nothing to undo. */
  undo() {
    const last = this.history.pop();
    if (!last) return false;
    this.context.putImageData(last, 0, 0);
    this.version += 1;
    return true;
  }

  /**
   * One piece of a stroke: a round brush of `radius` image pixels from `from` to `to`
   * ({x, y} in image pixels; the same point for a dab). `erase` clears instead.
   */
  stroke(from, to, radius, { erase = false } = {}) {
    const context = this.context;
    context.save();
    context.globalCompositeOperation = erase ? "destination-out" : "source-over";
    context.strokeStyle = OVERLAY_CSS;
    context.fillStyle = OVERLAY_CSS;
    context.lineCap = "round";
    context.lineJoin = "round";
    if (from.x === to.x && from.y === to.y) {
      context.beginPath();
      context.arc(to.x, to.y, radius, 0, Math.PI * 2);
      context.fill();
    } else {
      context.lineWidth = radius * 2;
      context.beginPath();
      context.moveTo(from.x, from.y);
      context.lineTo(to.x, to.y);
      context.stroke();
    }
    context.restore();
    this.version += 1;
  }

  /** Set every pixel's coverage with `coverage(old) -> new` (0..255). */
  mapCoverage(coverage) {
    const data = this.context.getImageData(0, 0, this.width, this.height);
    const pixels = data.data;
    for (let i = 0; i < pixels.length; i += 4) {
      pixels[i] = OVERLAY[0];
      pixels[i + 1] = OVERLAY[1];
      pixels[i + 2] = OVERLAY[2];
      pixels[i + 3] = coverage(pixels[i + 3]);
    }
    this.context.putImageData(data, 0, 0);
    this.version += 1;
  }

  clear() {
    this.checkpoint();
    this.context.clearRect(0, 0, this.width, this.height);
    this.version += 1;
  }

  /** Paint everything: the whole image is repainted. */
  fill() {
    this.checkpoint();
    this.mapCoverage(() => 255);
  }

  invert() {
    this.checkpoint();
    this.mapCoverage((alpha) => 255 - alpha);
  }

  isEmpty() {
    const pixels = this.context.getImageData(0, 0, this.width, this.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return false;
    return true;
  }

  /** The share of the image painted, 0..1 (partly covered edge pixels count in part). */
  coverage() {
    const pixels = this.context.getImageData(0, 0, this.width, this.height).data;
    let sum = 0;
    for (let i = 3; i < pixels.length; i += 4) sum += pixels[i];
    return sum / (255 * Math.max(1, this.width * this.height));
  }

  /** The mask as the service takes it: white where painted, black elsewhere, as a canvas. */
  toMaskCanvas() {
    const white = canvasOf(this.width, this.height);
    const whiteContext = white.getContext("2d");
    whiteContext.drawImage(this.canvas, 0, 0);
    whiteContext.globalCompositeOperation = "source-in";
    whiteContext.fillStyle = "#fff";
    whiteContext.fillRect(0, 0, this.width, this.height);
    const out = canvasOf(this.width, this.height);
    const context = out.getContext("2d");
    context.fillStyle = "#000";
    context.fillRect(0, 0, this.width, this.height);
    context.drawImage(white, 0, 0);
    return out;
  }

  /** The mask as a PNG blob at the image's own size. */
  toMaskBlob() {
    return new Promise((resolve, reject) => {
      this.toMaskCanvas().toBlob(
        (blob) => (blob ? resolve(blob) : reject(new Error("The mask could not be encoded."))),
        "image/png");
    });
  }

  /**
   * Take a mask image back (a white-on-black PNG the service stored): its brightness
   * becomes the coverage. Scaled to this mask's size if it has another; undoable.
   */
  load(image) {
    const grey = canvasOf(this.width, this.height);
    const greyContext = grey.getContext("2d", { willReadFrequently: true });
    greyContext.drawImage(image, 0, 0, this.width, this.height);
    const source = greyContext.getImageData(0, 0, this.width, this.height).data;
    this.checkpoint();
    let index = 0;
    this.mapCoverage(() => {
      const value = source[index];
      index += 4;
      return value;
    });
  }
}
