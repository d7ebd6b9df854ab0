// The form's "Image" area: the image a job starts from (image-to-image, inpainting), its
// thumbnail, strength, the size rule in words, and the mask editor over it. A file is
// uploaded (POST /uploads) as soon as it is chosen; a gallery image is named by its id.
// editBody() turns the form's body into an edit request just before it is sent.

"use strict";

import { api } from "./api.js";
import { setHidden, setText } from "./dom.js";
import { SIZE_BOUNDS, outputSize, sizeRuleWords, stepsWords } from "./edit_rules.js";
import { wireImageSources } from "./image_sources.js";
import { MaskEditor } from "./mask_editor.js";

/** The request fields this area answers for: the service's errors on them show here. */
const OWN_FIELDS = new Set(["init_image", "mask_image", "strength", "mask_blur", "invert_mask",
                            "resize_mode"]);
const PARTS = {
  drop: "image-drop", pick: "image-pick", chooser: "image-file", status: "image-status",
  error: "image-error", chosen: "image-chosen", preview: "image-preview",
  caption: "image-caption", remove: "image-remove", strength: "strength",
  strengthValue: "strength-value", strengthSteps: "strength-steps",
  fromInput: "size-from-input", sizeRule: "size-rule", resizeField: "resize-mode-field",
  resizeMode: "resize_mode", width: "width", height: "height", steps: "num_inference_steps",
};

const uploadUrl = (id) => `/uploads/${encodeURIComponent(id)}.png`;

export class ImageInput {
  /** `root` is the request form, which holds the area and the width and height fields. */
  constructor(root) {
    this.el = Object.fromEntries(Object.entries(PARTS).map(
      ([key, id]) => [key, root.querySelector(`#${id}`)]));
    /** The input: {ref, width, height, url, fallback}, or null (text to image). */
    this.source = null;
    /** The upload in flight, awaited before a job is sent. */
    this.pending = null;
    /** The mask as last stored: {ref, version} while the editor has not changed since. */
    this.storedMask = null;
    /** Width and height as they were before an input took them over. */
    this.ownSize = null;
    this.bounds = { ...SIZE_BOUNDS };
    this.editor = new MaskEditor(root, { onChange: () => this.render() });
    wireImageSources({
      drop: this.el.drop, pick: this.el.pick, chooser: this.el.chooser,
      onFile: (file) => this.upload(file),
    });
    this.el.remove.addEventListener("click", () => {
      this.remove();
      this.el.pick.focus();
    });
    this.el.fromInput.addEventListener("change", () => this.render());
    this.el.resizeMode.addEventListener("change", () => this.render());
    this.el.strength.addEventListener("input", () => this.render());
    root.addEventListener("input", (event) => {
      if ([this.el.width, this.el.height, this.el.steps].includes(event.target)) this.render();
    });
    this.el.preview.addEventListener("error", () => this.onPreviewError());
    this.render();
  }

  get hasInput() {
    return this.source !== null;
  }

  showError(message) {
    setText(this.el.error, message ?? "");
    setHidden(this.el.error, !message);
  }

  /** Upload a chosen, dropped or pasted file and make it the input. */
  async upload(file) {
    this.showError(null);
    setText(this.el.status, `Uploading ${file.name || "the image"}…`);
    const attempt = api.uploadImage(file);
    const settled = attempt.then(() => undefined, () => undefined);
    this.pending = settled;
    try {
      const stored = await attempt;
      this.attach({ ref: { upload_id: stored.id }, width: stored.width, height: stored.height,
                    url: stored.url ?? uploadUrl(stored.id) });
      setText(this.el.status, "");
    } catch (error) {
      setText(this.el.status, "");
      const message = error.message ?? String(error);
      this.showError(file.name ? `${file.name}: ${message}` : message);
    } finally {
      if (this.pending === settled) this.pending = null;
    }
  }

  /** "Use as input" on a generated image ({url, width, height}): named by its id. */
  useImage(image) {
    const name = decodeURIComponent(String(image.url).split("/").pop());
    this.showError(null);
    this.attach({ ref: { image_id: name }, width: image.width, height: image.height,
                  url: image.url });
  }

  attach(source, { fromInput = true } = {}) {
    if (!this.source) {
      this.ownSize = [this.el.width.value, this.el.height.value];
    }
    this.source = source;
    this.storedMask = null;
    this.el.preview.src = source.url;
    this.el.preview.width = source.width;
    this.el.preview.height = source.height;
    this.el.preview.alt = `The input image, ${source.width} × ${source.height}`;
    this.el.fromInput.checked = fromInput;
    this.editor.reset(source.width, source.height);
    this.render();
  }

  /** Back to text to image; `keepSize`: leave width and height as they are now. */
  remove({ keepSize = false } = {}) {
    if (!this.source) return;
    this.source = null;
    this.storedMask = null;
    this.el.preview.removeAttribute("src");
    if (this.ownSize && !keepSize) [this.el.width.value, this.el.height.value] = this.ownSize;
    this.ownSize = null;
    this.render();
  }

  /** The thumbnail would not load: a stored upload that retention removed, most likely. */
  onPreviewError() {
    const source = this.source;
    if (!source || !this.el.preview.getAttribute("src")) return;
    if (source.fallback) {
      this.attach(source.fallback, { fromInput: this.el.fromInput.checked });
      return;
    }
    this.remove({ keepSize: true });
    this.showError("The input image is no longer stored: choose it again.");
  }

  /** Put back a past job's input and mask ("Use these settings", "Run again"). */
  restore(params) {
    this.showError(null);
    const init = params?.init_image;
    if (!init?.upload_id) {
      this.remove({ keepSize: true });
      return;
    }
    const fallback = init.origin === "gallery" && init.origin_id
      ? { ref: { image_id: init.origin_id }, width: init.width, height: init.height,
          url: `/images/${encodeURIComponent(init.origin_id)}` }
      : null;
    const derived = outputSize(init.width, init.height, null, null, this.bounds);
    const fromInput = derived[0] === params.width && derived[1] === params.height;
    this.source = null;  // the form's width and height are the job's now: keep them
    this.attach({ ref: { upload_id: init.upload_id }, width: init.width, height: init.height,
                  url: uploadUrl(init.upload_id), fallback }, { fromInput });
    if (Number.isFinite(params.strength)) this.el.strength.value = String(params.strength);
    if (params.resize_mode) this.el.resizeMode.value = params.resize_mode;
    this.editor.restoreOptions(params);
    const mask = params.mask_image;
    if (mask?.upload_id) this.restoreMask({ upload_id: mask.upload_id });
    this.render();
  }

  restoreMask(ref) {
    const source = this.source;
    // Until the picture is back the stored mask stands for it, so "Run again" keeps it.
    this.storedMask = { ref, version: this.editor.layer.version };
    const image = new Image();
    image.addEventListener("load", () => {
      if (this.source !== source) return;
      this.editor.load(image);
      this.storedMask = { ref, version: this.editor.layer.version };
    });
    image.addEventListener("error", () => {
      if (this.source !== source) return;
      this.storedMask = null;
      this.showError("The mask of that job is no longer stored: paint it again.");
    });
    image.src = uploadUrl(ref.upload_id);
  }

  /** The body as the service takes it: with the input, its options and the mask. */
  async editBody(body) {
    if (this.pending) await this.pending;
    if (!this.source) return body;
    const out = { ...body, init_image: this.source.ref, strength: Number(this.el.strength.value),
                  resize_mode: this.el.resizeMode.value };
    if (this.el.fromInput.checked) {
      delete out.width;
      delete out.height;
    }
    const stored = this.storedMask;
    const maskUnchanged = stored && stored.version === this.editor.layer.version;
    if (maskUnchanged || !this.editor.empty) {
      out.mask_image = maskUnchanged ? stored.ref : await this.uploadMask();
      Object.assign(out, this.editor.options());
    }
    return out;
  }

  async uploadMask() {
    const version = this.editor.layer.version;
    const stored = await api.uploadImage(await this.editor.layer.toMaskBlob());
    const ref = { upload_id: stored.id };
    this.storedMask = { ref, version };
    return ref;
  }

  /** Show the service's errors on this area's fields; give back the others. */
  claimErrors(details) {
    const own = details.filter(({ field }) => OWN_FIELDS.has(field));
    if (own.length) this.showError(own.map(({ message }) => message).join(" "));
    return details.filter(({ field }) => !OWN_FIELDS.has(field));
  }

  /** /health's request_bounds: the size rule's bounds, strength's and the mask's. */
  applyBounds(bounds) {
    const size = bounds?.width;
    if (size) {
      this.bounds = { min: size.min ?? SIZE_BOUNDS.min, max: size.max ?? SIZE_BOUNDS.max,
                      multiple: size.multiple_of ?? SIZE_BOUNDS.multiple };
    }
    this.editor.applyBounds(bounds);
    this.render();
  }

  render() {
    const source = this.source;
    setHidden(this.el.chosen, !source);
    this.el.drop.dataset.state = source ? "chosen" : "empty";
    const fromInput = Boolean(source) && this.el.fromInput.checked;
    this.el.width.disabled = fromInput;
    this.el.height.disabled = fromInput;
    if (!source) return;
    if (fromInput) {
      [this.el.width.value, this.el.height.value] = outputSize(
        source.width, source.height, null, null, this.bounds).map(String);
    }
    setText(this.el.caption, `Input ${source.width} × ${source.height}`);
    const strength = Number(this.el.strength.value);
    setText(this.el.strengthValue, strength.toFixed(2));
    const steps = Number(this.el.steps.value);
    setText(this.el.strengthSteps, Number.isInteger(steps) && steps > 0
      ? stepsWords(steps, strength) : "");
    setHidden(this.el.resizeField, fromInput);
    setText(this.el.sizeRule, sizeRuleWords({
      inputWidth: source.width, inputHeight: source.height, fromInput,
      width: Number(this.el.width.value), height: Number(this.el.height.value),
      resizeMode: this.el.resizeMode.value, bounds: this.bounds,
    }));
  }
}
