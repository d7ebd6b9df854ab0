// The request form: reading it into an API body, client-side validation, field errors,
// filling it from a past job or the model's defaults, and its keyboard behaviour.
//
// The bounds are the service's (/health's request_bounds), applied through constraints.js;
// the markup spells none of them. Until the service has answered, the form takes no
// submission.

"use strict";

import {
  charCount, fieldValue, maxChars, offerSchedulers, setBounds, validateField,
} from "./constraints.js";
import { setHidden, setText } from "./dom.js";

export class RequestForm {
  /**
   * Wire `form`: `onSubmit(body)` gets a valid body; an invalid form shows its errors and
   * calls `onInvalid(labels)`; nothing happens while `isBusy()` or before setReady().
   */
  constructor(form, { onSubmit, onInvalid, isBusy }) {
    this.form = form;
    const part = (id) => form.querySelector(`#${CSS.escape(id)}`);
    this.el = {
      prompt: part("prompt"),
      promptCount: part("prompt-count"),
      negativePrompt: part("negative_prompt"),
      seed: part("seed"),
      seedRandom: part("seed-random"),
      scheduler: part("scheduler"),
      formError: part("form-error"),
      submit: part("submit"),
    };
    this.part = part;
    this.ready = false;
    this.busy = false;
    /** A mouse button, pen or finger is down (see afterPointerRelease). */
    this.pointerDown = false;

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!this.ready || isBusy()) return; // one generation at a time from this page
      this.clearErrors();
      const { body, errors } = this.read();
      if (errors.length) {
        this.showFieldErrors(errors);
        onInvalid(errors.map(({ field }) => this.fieldLabel(field).toLowerCase()));
        this.focusFirstInvalid();
        return;
      }
      onSubmit(body);
    });
    form.addEventListener("input", (event) => this.onFieldInput(event));
    form.addEventListener("change", (event) => this.onFieldChange(event));
    const doc = form.ownerDocument;
    doc.addEventListener("pointerdown", () => { this.pointerDown = true; }, true);
    for (const type of ["pointerup", "pointercancel"]) {
      doc.addEventListener(type, () => { this.pointerDown = false; }, true);
    }
    const keydown = (event) => this.onTextareaKeydown(event);
    this.el.prompt.addEventListener("keydown", keydown);
    this.el.negativePrompt.addEventListener("keydown", keydown);
    this.el.seedRandom.addEventListener("change", () => {
      this.setSeedRandom(this.el.seedRandom.checked);
      if (!this.el.seedRandom.checked) this.el.seed.focus();
    });
    this.setSeedRandom(this.el.seedRandom.checked);
    this.updatePromptCount();
    this.renderSubmit();
  }

  fields() {
    return Array.from(this.form.elements).filter((field) => field.name);
  }

  /** Read the form: {body, errors}; errors are [{field, message}] like the server's details. */
  read() {
    const body = {};
    const errors = [];
    for (const field of this.fields()) {
      const message = validateField(field);
      if (message) errors.push({ field: field.name, message });
      else body[field.name] = fieldValue(field);
    }
    return { body, errors };
  }

  setFieldError(field, message) {
    const target = this.part(`${field.name}-error`);
    if (message) field.setAttribute("aria-invalid", "true");
    else field.removeAttribute("aria-invalid");
    if (!target) return;
    setText(target, message ?? "");
    setHidden(target, !message);
  }

  /** Show errors next to their fields; return the ones that name no field in the form. */
  showFieldErrors(errors) {
    const unmatched = [];
    for (const { field: name, message } of errors) {
      const field = this.form.elements.namedItem(name);
      if (field instanceof HTMLElement && this.part(`${name}-error`)) {
        this.setFieldError(field, message);
      } else {
        unmatched.push({ field: name, message });
      }
    }
    return unmatched;
  }

  showFormError(lines) {
    setText(this.el.formError, lines.join(" "));
    setHidden(this.el.formError, lines.length === 0);
  }

  clearErrors() {
    for (const field of this.fields()) this.setFieldError(field, null);
    this.showFormError([]);
  }

  focusFirstInvalid() {
    this.form.querySelector("[aria-invalid='true']")?.focus();
  }

  fieldLabel(name) {
    const label = this.form.querySelector(`label[for="${CSS.escape(name)}"]`);
    return label ? label.firstChild.textContent.trim() : name;
  }

  setSeedRandom(random) {
    this.el.seedRandom.checked = random;
    this.el.seed.disabled = random;
    this.el.seed.required = !random;
    if (random) this.setFieldError(this.el.seed, null);
  }

  /** Put a fixed seed in the form (the "Reuse seed" button). */
  useSeed(seed) {
    this.setSeedRandom(false);
    this.el.seed.value = String(seed);
    this.el.seed.focus();
  }

  /** Fill every field from a job's params, the seed included (so "random" is unchecked). */
  fill(params) {
    this.clearErrors();
    for (const field of this.fields()) {
      if (!(field.name in params)) continue;
      const value = params[field.name];
      field.value = value === null || value === undefined ? "" : String(value);
      field.dataset.touched = "true";
    }
    const fixedSeed = params.seed !== null && params.seed !== undefined;
    this.setSeedRandom(!fixedSeed);
    if (!fixedSeed) this.el.seed.value = "";
    this.updatePromptCount();
  }

  /**
   * The loaded model's defaults (a few-step model wants 4 steps and guidance 1), for the
   * fields the user has not changed; what the user typed or reused stays.
   */
  applyDefaults(defaults) {
    for (const field of this.fields()) {
      if (!(field.name in (defaults ?? {})) || field.dataset.touched === "true") continue;
      field.value = String(defaults[field.name]);
    }
  }

  /** The service's request bounds, by field name; fields it does not name keep theirs. */
  applyBounds(bounds) {
    for (const field of this.fields()) {
      const own = bounds?.[field.name];
      if (own && typeof own === "object") setBounds(field, own);
    }
    this.updatePromptCount();
  }

  /** The schedulers the loaded engine offers, [{name, label}] in order. */
  offerSchedulers(schedulers) {
    offerSchedulers(this.el.scheduler, schedulers);
  }

  focusPrompt() {
    this.el.prompt.focus();
    this.form.scrollIntoView({ block: "nearest" });
  }

  /** The service answered once (or could not be reached): submissions may go out. */
  setReady() {
    this.ready = true;
    this.form.dataset.ready = "true";
    this.renderSubmit();
  }

  setBusy(busy) {
    this.busy = busy;
    this.form.setAttribute("aria-busy", String(busy));
    this.renderSubmit();
  }

  focusSubmit() {
    this.el.submit.focus();
  }

  renderSubmit() {
    this.el.submit.disabled = this.busy || !this.ready;
    setText(this.el.submit, this.busy ? "Generating…" : "Generate");
  }

  // -------------------------------------------------------------- behaviour

  /** Enter submits from a textarea; Shift+Enter (or an IME composition) keeps the newline. */
  onTextareaKeydown(event) {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    this.form.requestSubmit();
  }

  /** Re-check a field once it was flagged, and check it on leaving; no round-trip needed. */
  onFieldInput(event) {
    const field = event.target;
    if (!field.name) return;
    field.dataset.touched = "true";
    if (field === this.el.prompt) this.updatePromptCount();
    if (field.getAttribute("aria-invalid") === "true") {
      this.setFieldError(field, validateField(field));
    }
  }

  onFieldChange(event) {
    const field = event.target;
    if (!field.name || field.value === "") return;
    this.afterPointerRelease(() => this.setFieldError(field, validateField(field)));
  }

  /**
   * Run `fn` now, or, while a pointer is pressed, just after the click it is making.
   * A change fires when a field loses focus, which happens on pointerdown: showing an
   * error then would push the controls below down and make that click miss its button.
   */
  afterPointerRelease(fn) {
    if (!this.pointerDown) {
      fn();
      return;
    }
    const doc = this.form.ownerDocument;
    const release = () => {
      doc.removeEventListener("pointerup", release, true);
      doc.removeEventListener("pointercancel", release, true);
      setTimeout(fn, 0);
    };
    doc.addEventListener("pointerup", release, true);
    doc.addEventListener("pointercancel", release, true);
  }

  updatePromptCount() {
    const max = maxChars(this.el.prompt);
    const length = charCount(this.el.prompt.value.trim());
    setText(this.el.promptCount, `${length} / ${max ?? "∞"}`);
    this.el.promptCount.dataset.over = String(max !== null && length > max);
  }
}
