// Small helpers every module shares: DOM access and building, and how values read in words.
// Nothing here knows about the service or keeps state.

"use strict";

export const byId = (id) => document.getElementById(id);

/** Set text only when it changes, so live regions do not re-announce the same words. */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export function setHidden(node, hidden) {
  if (node.hidden !== hidden) node.hidden = hidden;
}

/** Render text where `backticked` parts become <code>, without ever parsing HTML. */
export function setTextWithCode(node, text) {
  const value = String(text);
  if (node.dataset.text === value) return;
  node.dataset.text = value;
  node.replaceChildren();
  value.split("`").forEach((part, index) => {
    if (!part) return;
    node.append(index % 2 === 1 ? h("code", {}, part) : part);
  });
}

/**
 * Build an element: h("a", {href, className: "button", dataset: {id}}, "text", child).
 * Properties go through the DOM (so text never becomes HTML); `attrs` sets attributes
 * that have no property, like aria-*; null and false children are skipped.
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  const { attrs = {}, dataset = {}, ...rest } = props;
  Object.assign(node, rest);
  Object.assign(node.dataset, dataset);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== null && child !== false));
  return node;
}

export function prefersReducedMotion() {
  return window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

// ---------------------------------------------------------------- words

/**
 * A scheduler's name in words; `labels` maps names to the labels the service gave (a
 * Map), and a name it did not label reads as itself.
 */
export function schedulerLabel(value, labels = new Map()) {
  return value ? labels.get(value) ?? value : "model default";
}

/** Minutes and seconds in words: "7 min 10 s", "5 min". Rounded first, so never "60 s". */
function minutesAndSeconds(seconds) {
  const whole = Math.round(seconds);
  const rest = whole % 60;
  const minutes = (whole - rest) / 60;
  return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
}

export function formatDuration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return minutesAndSeconds(ms / 1000);
}

/** A span of seconds in words: "45 s", "7 min 10 s". */
export function formatSeconds(seconds) {
  return seconds < 60 ? `${Math.ceil(seconds)} s` : minutesAndSeconds(seconds);
}

/** "about 12 s left", or "" when the server has no estimate yet. */
export function formatEta(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  if (seconds < 1) return "almost done";
  return `about ${formatSeconds(seconds)} left`;
}

export function truncate(text, max) {
  const chars = Array.from(String(text ?? "").replace(/\s+/g, " ").trim());
  return chars.length <= max ? chars.join("") : `${chars.slice(0, max - 1).join("").trimEnd()}…`;
}

/**
 * The file name a download gets: seed and job, so a batch's images do not collide, and
 * "-covered" for an image the safety filter covered, so the file says what it is too.
 */
export function downloadName(job, image) {
  const covered = image.nsfw === true ? "-covered" : "";
  return `sd-${image.seed}-${String(job.job_id).slice(0, 8)}${covered}.png`;
}
