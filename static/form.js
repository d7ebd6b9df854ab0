// The request form: reading it into an API body, client-side validation, field errors,
// filling it from a past job, and its keyboard behaviour.
//
// Bounds live once, in the HTML: constraint attributes (min, max, step, required) and
// data-max-chars on text; validation reads them, so the page and its checks cannot drift
// apart. Text has no native maxlength: it counts UTF-16 units (an emoji is two) and the
// spaces around the text, while the server counts characters after trimming.

"use strict";

import { byId, setHidden, setText } from "./dom.js";

const el = {
  form: byId("generate-form"),
  prompt: byId("prompt"),
  promptCount: byId("prompt-count"),
  negativePrompt: byId("negative_prompt"),
  seed: byId("seed"),
  seedRandom: byId("seed-random"),
  formError: byId("form-error"),
};

/** A mouse button, pen or finger is down (see afterPointerRelease). */
let pointerDown = false;

function formFields() {
  return Array.from(el.form.elements).filter((field) => field.name);
}

function numberAttr(field, name) {
  const raw = field.getAttribute(name);
  if (raw === null || raw === "" || raw === "any") return null;
  const value = Number(raw);
  return Number.isFinite(value) ? value : null;
}

/** A text field's bound in characters (code points, after trimming), or null for none. */
function maxChars(field) {
  const raw = field.dataset.maxChars;
  const value = Number(raw);
  return raw && Number.isInteger(value) ? value : null;
}

/** Characters as the server counts them: code points, not UTF-16 units (`.length`). */
function charCount(text) {
  return Array.from(text).length;
}

/** The API value of one (already validated) field; empty and disabled fields are null. */
function fieldValue(field) {
  if (field.disabled) return null;
  const raw = field.dataset.trim ? field.value.trim() : field.value;
  if (field.type === "number") return raw === "" ? null : Number(raw);
  return raw === "" ? null : raw;
}

/** The message for one field against its own constraint attributes, or null when it is fine. */
function validateField(field) {
  if (field.disabled) return null;
  if (field.type === "number") return validateNumber(field);
  if (field.tagName === "SELECT") return null;
  const value = field.dataset.trim ? field.value.trim() : field.value;
  if (!value) return field.required ? "Must not be empty." : null;
  const max = maxChars(field);
  const length = charCount(value);
  if (max !== null && length > max) return `Must be at most ${max} characters (got ${length}).`;
  return null;
}

function validateNumber(field) {
  if (field.validity.badInput) return "Must be a number.";
  if (field.value.trim() === "") return field.required ? "Required." : null;
  const value = Number(field.value);
  if (!Number.isFinite(value)) return "Must be a finite number.";
  if (field.dataset.type === "int" && !Number.isInteger(value)) return "Must be an integer.";
  const min = numberAttr(field, "min");
  const max = numberAttr(field, "max");
  if ((min !== null && value < min) || (max !== null && value > max)) {
    if (min !== null && max !== null) return `Must be between ${min} and ${max}.`;
    return min !== null ? `Must be at least ${min}.` : `Must be at most ${max}.`;
  }
  const step = numberAttr(field, "step");
  if (step !== null && step > 1 && value % step !== 0) return `Must be a multiple of ${step}.`;
  return null;
}

/** Read the form: {body, errors}; errors are [{field, message}] like the server's details. */
export function readForm() {
  const body = {};
  const errors = [];
  for (const field of formFields()) {
    const message = validateField(field);
    if (message) errors.push({ field: field.name, message });
    else body[field.name] = fieldValue(field);
  }
  return { body, errors };
}

function fieldError(name) {
  return byId(`${name}-error`);
}

function setFieldError(field, message) {
  const target = fieldError(field.name);
  if (message) field.setAttribute("aria-invalid", "true");
  else field.removeAttribute("aria-invalid");
  if (!target) return;
  setText(target, message ?? "");
  setHidden(target, !message);
}

/** Show errors next to their fields; return the ones that name no field in the form. */
export function showFieldErrors(errors) {
  const unmatched = [];
  for (const { field: name, message } of errors) {
    const field = el.form.elements.namedItem(name);
    if (field instanceof HTMLElement && fieldError(name)) setFieldError(field, message);
    else unmatched.push({ field: name, message });
  }
  return unmatched;
}

export function showFormError(lines) {
  setText(el.formError, lines.join(" "));
  setHidden(el.formError, lines.length === 0);
}

export function clearErrors() {
  for (const field of formFields()) setFieldError(field, null);
  showFormError([]);
}

export function focusFirstInvalid() {
  el.form.querySelector("[aria-invalid='true']")?.focus();
}

export function fieldLabel(name) {
  const label = el.form.querySelector(`label[for="${CSS.escape(name)}"]`);
  return label ? label.firstChild.textContent.trim() : name;
}

function setSeedRandom(random) {
  el.seedRandom.checked = random;
  el.seed.disabled = random;
  el.seed.required = !random;
  if (random) setFieldError(el.seed, null);
}

/** Put a fixed seed in the form (the "Reuse seed" button). */
export function useSeed(seed) {
  setSeedRandom(false);
  el.seed.value = String(seed);
  el.seed.focus();
}

/** Fill every field from a job's params, the seed included (so "random" is unchecked). */
export function fillForm(params) {
  clearErrors();
  for (const field of formFields()) {
    if (!(field.name in params)) continue;
    const value = params[field.name];
    field.value = value === null || value === undefined ? "" : String(value);
    field.dataset.touched = "true";
  }
  const fixedSeed = params.seed !== null && params.seed !== undefined;
  setSeedRandom(!fixedSeed);
  if (!fixedSeed) el.seed.value = "";
  updatePromptCount();
}

/**
 * The loaded model's defaults (a few-step model wants 4 steps and guidance 1), for the
 * fields the user has not changed; what the user typed or reused stays.
 */
export function applyModelDefaults(defaults) {
  for (const field of formFields()) {
    if (!(field.name in (defaults ?? {})) || field.dataset.touched === "true") continue;
    field.value = String(defaults[field.name]);
  }
}

export function focusPrompt() {
  el.prompt.focus();
  el.form.scrollIntoView({ block: "nearest" });
}

// ---------------------------------------------------------------- behaviour

/** Enter submits from a textarea; Shift+Enter (or an IME composition) keeps the newline. */
function onTextareaKeydown(event) {
  if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
  event.preventDefault();
  el.form.requestSubmit();
}

/** Re-check a field once it was flagged, and check it on leaving; no round-trip needed. */
function onFieldInput(event) {
  const field = event.target;
  if (!field.name) return;
  field.dataset.touched = "true";
  if (field === el.prompt) updatePromptCount();
  if (field.getAttribute("aria-invalid") === "true") setFieldError(field, validateField(field));
}

function onFieldChange(event) {
  const field = event.target;
  if (!field.name || field.value === "") return;
  afterPointerRelease(() => setFieldError(field, validateField(field)));
}

/**
 * Run `fn` now, or, while a pointer is pressed, just after the click it is making.
 * A change fires when a field loses focus, which happens on pointerdown: showing an
 * error then would push the controls below down and make that click miss its button.
 */
function afterPointerRelease(fn) {
  if (!pointerDown) {
    fn();
    return;
  }
  const release = () => {
    document.removeEventListener("pointerup", release, true);
    document.removeEventListener("pointercancel", release, true);
    setTimeout(fn, 0);
  };
  document.addEventListener("pointerup", release, true);
  document.addEventListener("pointercancel", release, true);
}

function updatePromptCount() {
  const max = maxChars(el.prompt);
  const length = charCount(el.prompt.value.trim());
  setText(el.promptCount, `${length} / ${max ?? "∞"}`);
  el.promptCount.dataset.over = String(max !== null && length > max);
}

/**
 * Wire the form: `onSubmit(body)` gets a valid body; an invalid form shows its errors and
 * calls `onInvalid(labels)`; nothing happens while `isBusy()`.
 */
export function initForm({ onSubmit, onInvalid, isBusy }) {
  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (isBusy()) return; // one generation at a time from this page
    clearErrors();
    const { body, errors } = readForm();
    if (errors.length) {
      showFieldErrors(errors);
      onInvalid(errors.map(({ field }) => fieldLabel(field).toLowerCase()));
      focusFirstInvalid();
      return;
    }
    onSubmit(body);
  });
  el.form.addEventListener("input", onFieldInput);
  el.form.addEventListener("change", onFieldChange);
  document.addEventListener("pointerdown", () => { pointerDown = true; }, true);
  for (const type of ["pointerup", "pointercancel"]) {
    document.addEventListener(type, () => { pointerDown = false; }, true);
  }
  el.prompt.addEventListener("keydown", onTextareaKeydown);
  el.negativePrompt.addEventListener("keydown", onTextareaKeydown);
  el.seedRandom.addEventListener("change", () => {
    setSeedRandom(el.seedRandom.checked);
    if (!el.seedRandom.checked) el.seed.focus();
  });
  setSeedRandom(el.seedRandom.checked);
  updatePromptCount();
}
