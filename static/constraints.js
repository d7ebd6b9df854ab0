// What the service allows in the form: its request bounds written into the fields, the
// checks that read them back, and the schedulers its engine offers. The attributes (min,
// max, step, data-max-chars) are the page's one copy of the bounds, so the native number
// controls and these checks agree.
// Text has no native maxlength: it counts UTF-16 units (an emoji is two) and the spaces
// around the text, while the server counts characters after trimming.

"use strict";

import { h } from "./dom.js";

function numberAttr(field, name) {
  const raw = field.getAttribute(name);
  if (raw === null || raw === "" || raw === "any") return null;
  const value = Number(raw);
  return Number.isFinite(value) ? value : null;
}

/** A text field's bound in characters (code points, after trimming), or null for none. */
export function maxChars(field) {
  const raw = field.dataset.maxChars;
  const value = Number(raw);
  return raw && Number.isInteger(value) ? value : null;
}

/** Characters as the server counts them: code points, not UTF-16 units (`.length`). */
export function charCount(text) {
  return Array.from(text).length;
}

/** The API value of one (already validated) field; empty and disabled fields are null. */
export function fieldValue(field) {
  if (field.disabled) return null;
  const raw = field.dataset.trim ? field.value.trim() : field.value;
  if (field.type === "number") return raw === "" ? null : Number(raw);
  return raw === "" ? null : raw;
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

/** The message for one field against its own constraint attributes, or null when it is fine. */
export function validateField(field) {
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

/** Write one field's bounds from /health ({min, max, multiple_of} or {max_chars}). */
export function setBounds(field, bounds) {
  if (field.type !== "number") {
    if (Number.isInteger(bounds.max_chars)) field.dataset.maxChars = String(bounds.max_chars);
    return;
  }
  for (const name of ["min", "max"]) {
    if (Number.isFinite(bounds[name])) field.setAttribute(name, String(bounds[name]));
    else field.removeAttribute(name);
  }
  const step = Number.isFinite(bounds.multiple_of) ? bounds.multiple_of : null;
  field.setAttribute("step", String(step ?? (field.dataset.type === "int" ? 1 : "any")));
}

/**
 * Offer the engine's schedulers, [{name, label}] in order, after the model's own (the
 * empty option the markup keeps). A choice still offered stays chosen.
 */
export function offerSchedulers(select, schedulers) {
  const wanted = schedulers.map(({ name, label }) => [String(name), String(label ?? name)]);
  const shown = Array.from(select.options).slice(1).map((option) => [option.value, option.text]);
  if (JSON.stringify(wanted) === JSON.stringify(shown)) return;
  const chosen = select.value;
  select.replaceChildren(select.options[0],
                         ...wanted.map(([value, label]) => h("option", { value }, label)));
  select.value = wanted.some(([value]) => value === chosen) ? chosen : "";
}
