// The web UI of the local Stable Diffusion service. Plain ES module, no build step.
//
// Layout of this file, top to bottom:
//   config      constants the rest reads
//   dom         tiny helpers around document
//   api         every HTTP call, and the one error type they throw
//   form        reading the form into an API body, client-side validation, field errors
//   render      status line, latest image, health badge and banner
//   controller  state, event wiring, the generation flow and the health poll
//
// Bounds live once, in the HTML constraint attributes (min, max, step, maxlength, required);
// validation reads them, so the page and its checks cannot drift apart.
// Later features (job queue with progress, cancel, gallery) slot in as: an api call,
// a render function, and a controller handler; `state.current.controller` already
// carries an AbortController for cancel.

"use strict";

// ---------------------------------------------------------------- config

const HEALTH_POLL_MS = 5000;
const HEALTH_TIMEOUT_MS = 4000;
const ELAPSED_TICK_MS = 250;
const PLACEHOLDER_SRC = "/static/mock-image.svg";
const NARROW_QUERY = "(max-width: 700px)"; // keep in step with styles.css

const SCHEDULER_LABELS = {
  pndm: "PNDM",
  euler: "Euler",
  euler_a: "Euler ancestral",
  ddim: "DDIM",
  lcm: "LCM",
};

// ---------------------------------------------------------------- dom

const byId = (id) => document.getElementById(id);

const el = {
  form: byId("generate-form"),
  submit: byId("submit"),
  prompt: byId("prompt"),
  promptCount: byId("prompt-count"),
  negativePrompt: byId("negative_prompt"),
  seed: byId("seed"),
  seedRandom: byId("seed-random"),
  formError: byId("form-error"),
  status: byId("status"),
  statusText: byId("status-text"),
  statusElapsed: byId("status-elapsed"),
  result: byId("result"),
  resultImage: byId("result-image"),
  resultSeed: byId("result-seed"),
  resultParams: byId("result-params"),
  reuseSeed: byId("reuse-seed"),
  download: byId("download"),
  health: byId("health"),
  healthMode: byId("health-mode"),
  healthDevice: byId("health-device"),
  healthModel: byId("health-model"),
  banner: byId("health-banner"),
  bannerTitle: byId("health-banner-title"),
  bannerReason: byId("health-banner-reason"),
};

/** Set text only when it changes, so live regions do not re-announce the same words. */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function setHidden(node, hidden) {
  if (node.hidden !== hidden) node.hidden = hidden;
}

/** Render text where `backticked` parts become <code>, without ever parsing HTML. */
function setTextWithCode(node, text) {
  node.replaceChildren();
  String(text)
    .split("`")
    .forEach((part, index) => {
      if (!part) return;
      if (index % 2 === 1) {
        const code = document.createElement("code");
        code.textContent = part;
        node.append(code);
      } else {
        node.append(part);
      }
    });
}

// ---------------------------------------------------------------- api

/** Any failed call: an HTTP error with the service's error body, or a network failure. */
class ApiError extends Error {
  constructor({ status = 0, type = "network_error", message, details = [], requestId = null,
                retryAfter = null }) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = type;
    this.details = details;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }
}

function timeoutSignal(ms, outer) {
  const controller = new AbortController();
  const timeout = () => controller.abort(new DOMException("Timed out", "TimeoutError"));
  const timer = setTimeout(timeout, ms);
  outer?.addEventListener("abort", () => controller.abort(outer.reason), { once: true });
  controller.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  return controller.signal;
}

async function requestJson(url, { method = "GET", body, signal, cache } = {}) {
  let response;
  try {
    response = await fetch(url, {
      method,
      signal,
      cache,
      headers: body === undefined
        ? { Accept: "application/json" }
        : { Accept: "application/json", "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new ApiError({ message: "Cannot reach the service. Is it still running?" });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data?.error ?? {};
    const retry = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
    throw new ApiError({
      status: response.status,
      type: error.type ?? "http_error",
      message: error.message ?? `The service answered ${response.status} ${response.statusText}.`,
      details: Array.isArray(error.details) ? error.details : [],
      requestId: error.request_id ?? response.headers.get("X-Request-ID"),
      retryAfter: Number.isFinite(retry) ? retry : null,
    });
  }
  if (data === null) {
    throw new ApiError({ status: response.status, type: "bad_response",
                         message: "The service sent an unreadable answer." });
  }
  return data;
}

const api = {
  /** POST /image: generate one image, resolve with the finished job. */
  generate(params, { signal } = {}) {
    return requestJson("/image", { method: "POST", body: params, signal });
  },
  /** GET /health: the service's status, mode, device and model. */
  health({ signal } = {}) {
    return requestJson("/health", { signal: timeoutSignal(HEALTH_TIMEOUT_MS, signal),
                                    cache: "no-store" });
  },
};

// ---------------------------------------------------------------- form

function formFields() {
  return Array.from(el.form.elements).filter((field) => field.name);
}

function numberAttr(field, name) {
  const raw = field.getAttribute(name);
  if (raw === null || raw === "" || raw === "any") return null;
  const value = Number(raw);
  return Number.isFinite(value) ? value : null;
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
  const max = numberAttr(field, "maxlength");
  const length = Array.from(value).length;
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
function readForm() {
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
function showFieldErrors(errors) {
  const unmatched = [];
  for (const { field: name, message } of errors) {
    const field = el.form.elements.namedItem(name);
    if (field instanceof HTMLElement && fieldError(name)) setFieldError(field, message);
    else unmatched.push({ field: name, message });
  }
  return unmatched;
}

function showFormError(lines) {
  setText(el.formError, lines.join(" "));
  setHidden(el.formError, lines.length === 0);
}

function clearErrors() {
  for (const field of formFields()) setFieldError(field, null);
  showFormError([]);
}

function focusFirstInvalid() {
  el.form.querySelector("[aria-invalid='true']")?.focus();
}

function fieldLabel(name) {
  const label = el.form.querySelector(`label[for="${CSS.escape(name)}"]`);
  return label ? label.firstChild.textContent.trim() : name;
}

function setSeedRandom(random) {
  el.seedRandom.checked = random;
  el.seed.disabled = random;
  el.seed.required = !random;
  if (random) setFieldError(el.seed, null);
}

// ---------------------------------------------------------------- render

/** The status line: state is "idle" | "generating" | "complete" | "error". */
function renderStatus(state, text, { title = "" } = {}) {
  el.status.dataset.state = state;
  setText(el.statusText, text);
  el.status.title = title;
  if (state !== "generating") setText(el.statusElapsed, "");
  el.result.setAttribute("aria-busy", String(state === "generating"));
}

function renderElapsed(seconds) {
  setText(el.statusElapsed, `${seconds} s`);
}

function formatDuration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function describeError(error) {
  if (!(error instanceof ApiError)) return "Something went wrong in the page; see the console.";
  let message = error.message;
  if (error.retryAfter !== null) message += ` Try again in ${error.retryAfter} s.`;
  return message;
}

function renderBusy(busy) {
  el.submit.disabled = busy;
  el.form.setAttribute("aria-busy", String(busy));
  setText(el.submit, busy ? "Generating…" : "Generate");
}

function paramRows(job) {
  const params = job.params ?? {};
  const rows = [["Prompt", params.prompt]];
  if (params.negative_prompt) rows.push(["Negative", params.negative_prompt]);
  rows.push(
    ["Size", `${params.width} × ${params.height}`],
    ["Steps", String(params.num_inference_steps)],
    ["Guidance", String(params.guidance_scale)],
    ["Scheduler", params.scheduler ? SCHEDULER_LABELS[params.scheduler] ?? params.scheduler
                                   : "model default"],
    ["Device", job.mock && job.device !== "mock" ? `${job.device} (mock)` : String(job.device)],
  );
  if (job.duration_ms !== null && job.duration_ms !== undefined) {
    rows.push(["Time", formatDuration(job.duration_ms)]);
  }
  return rows;
}

function renderParams(job) {
  const nodes = paramRows(job).flatMap(([term, value]) => {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = term;
    dd.textContent = value;
    return [dt, dd];
  });
  el.resultParams.replaceChildren(...nodes);
  setHidden(el.resultParams, false);
}

/** Show a finished job; the image at job.image_url must already be loadable. */
function renderResult(job) {
  const { params } = job;
  el.resultImage.width = params.width;
  el.resultImage.height = params.height;
  el.resultImage.src = job.image_url;
  el.resultImage.alt = `Generated image for the prompt: ${params.prompt}`;
  el.result.dataset.empty = "false";
  setText(el.resultSeed, String(job.seed));
  el.download.href = job.image_url;
  el.download.download = `sd-${job.seed}-${String(job.job_id).slice(0, 8)}.png`;
  setHidden(el.download, false);
  el.reuseSeed.dataset.seed = String(job.seed);
  setHidden(el.reuseSeed, false);
  renderParams(job);
}

function renderHealth(report) {
  const degraded = report.status !== "ok";
  el.health.dataset.status = degraded ? "degraded" : "ok";
  el.health.dataset.mode = report.mock ? "mock" : "real";

  setText(el.healthMode, report.mock ? "mock" : "real model");
  el.healthMode.dataset.tone = report.mock ? "warn" : "ok";
  el.healthMode.title = report.mock
    ? "Demo mode: images are placeholders, not model output."
    : "Images come from the Stable Diffusion model.";

  const device = report.device ?? {};
  const fallback = device.fallback_reason;
  setText(el.healthDevice, fallback
    ? `${device.target} → ${device.active} fallback`
    : `device ${device.active ?? "?"}`);
  el.healthDevice.title = fallback ? `Fell back: ${fallback}` : `Requested ${device.target}`;
  el.healthDevice.dataset.tone = fallback ? "warn" : "";
  if (fallback) {
    // Focusable, so keyboard users can reach the reason that the tooltip shows on hover.
    el.healthDevice.tabIndex = 0;
    el.healthDevice.setAttribute("aria-label",
                                 `${device.target} to ${device.active} fallback: ${fallback}`);
  } else {
    el.healthDevice.removeAttribute("tabindex");
    el.healthDevice.removeAttribute("aria-label");
  }
  setHidden(el.healthDevice, false);

  const model = report.model ?? {};
  setText(el.healthModel, model.cached ? "model cached" : "model not downloaded");
  el.healthModel.title = `${model.repo_id ?? "model"} in ${model.dir ?? "?"}`;
  el.healthModel.dataset.tone = model.cached || report.mock ? "" : "warn";
  setHidden(el.healthModel, false);

  renderBanner(degraded ? {
    title: "The service is degraded.",
    reason: report.reason ?? "It cannot generate images right now.",
  } : null);
}

function renderHealthUnreachable() {
  el.health.dataset.status = "offline";
  delete el.health.dataset.mode;
  setText(el.healthMode, "offline");
  el.healthMode.dataset.tone = "error";
  el.healthMode.title = "The service does not answer /health.";
  setHidden(el.healthDevice, true);
  setHidden(el.healthModel, true);
  renderBanner({
    title: "Cannot reach the service.",
    reason: "Start it with `make serve` (or `make demo` for mock images); this page retries "
      + "every few seconds.",
  });
}

function renderBanner(banner) {
  if (!banner) {
    setHidden(el.banner, true);
    return;
  }
  setText(el.bannerTitle, banner.title);
  if (el.bannerReason.dataset.text !== banner.reason) {
    el.bannerReason.dataset.text = banner.reason;
    setTextWithCode(el.bannerReason, banner.reason);
  }
  setHidden(el.banner, false);
}

// ---------------------------------------------------------------- controller

const state = {
  /** The generation in flight: {controller, startedAt, timer}, or null. */
  current: null,
  /** The last finished job, as the server sent it. */
  lastJob: null,
  health: { timer: null, inFlight: false },
  /** A mouse button, pen or finger is down (see afterPointerRelease). */
  pointerDown: false,
};

async function loadImage(url) {
  const image = new Image();
  image.src = url;
  await image.decode();
}

function startElapsed(current) {
  const tick = () => renderElapsed(Math.floor((performance.now() - current.startedAt) / 1000));
  tick();
  current.timer = setInterval(tick, ELAPSED_TICK_MS);
}

async function generate(body) {
  const current = { controller: new AbortController(), startedAt: performance.now(), timer: null };
  state.current = current;
  renderBusy(true);
  renderStatus("generating", "Generating…");
  startElapsed(current);
  try {
    const job = await api.generate(body, { signal: current.controller.signal });
    try {
      await loadImage(job.image_url);
    } catch {
      throw new ApiError({ type: "image_load",
                           message: "The image was generated but could not be loaded." });
    }
    state.lastJob = job;
    renderResult(job);
    await el.resultImage.decode().catch(() => undefined);
    const took = job.duration_ms ?? performance.now() - current.startedAt;
    renderStatus("complete", `Complete in ${formatDuration(took)}.`);
    revealResult();
  } catch (error) {
    if (error?.name === "AbortError") {
      renderStatus("idle", "Cancelled.");
    } else {
      showServerError(error);
    }
  } finally {
    clearInterval(current.timer);
    state.current = null;
    renderBusy(false);
  }
}

/** On a one-column layout the image sits below the form: bring it into view. */
function revealResult() {
  if (!window.matchMedia(NARROW_QUERY).matches) return;
  const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  el.result.scrollIntoView({ block: "nearest", behavior: reduce ? "auto" : "smooth" });
}

function showServerError(error) {
  if (!(error instanceof ApiError)) console.error(error);
  const details = error instanceof ApiError ? error.details : [];
  const unmatched = showFieldErrors(details);
  showFormError(unmatched.map(({ field, message }) => `${field}: ${message}`));
  renderStatus("error", `Error: ${describeError(error)}`,
               { title: error?.requestId ? `Request id ${error.requestId}` : "" });
  if (details.length > unmatched.length) focusFirstInvalid();
  else revealResult();
}

function onSubmit(event) {
  event.preventDefault();
  if (state.current) return;
  clearErrors();
  const { body, errors } = readForm();
  if (errors.length) {
    showFieldErrors(errors);
    const names = errors.map(({ field }) => fieldLabel(field).toLowerCase());
    const which = names.length === 1 ? "this field" : "these fields";
    renderStatus("error", `Check ${which}: ${names.join(", ")}.`);
    focusFirstInvalid();
    return;
  }
  generate(body);
}

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
  if (!state.pointerDown) {
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
  const max = numberAttr(el.prompt, "maxlength");
  setText(el.promptCount, `${Array.from(el.prompt.value.trim()).length} / ${max ?? "∞"}`);
}

function onReuseSeed() {
  setSeedRandom(false);
  el.seed.value = el.reuseSeed.dataset.seed ?? "";
  el.seed.focus();
}

async function pollHealth() {
  clearTimeout(state.health.timer);
  if (!document.hidden && !state.health.inFlight) {
    state.health.inFlight = true;
    try {
      renderHealth(await api.health());
    } catch {
      renderHealthUnreachable();
    } finally {
      state.health.inFlight = false;
    }
  }
  state.health.timer = setTimeout(pollHealth, HEALTH_POLL_MS);
}

function init() {
  el.form.addEventListener("submit", onSubmit);
  el.form.addEventListener("input", onFieldInput);
  el.form.addEventListener("change", onFieldChange);
  document.addEventListener("pointerdown", () => { state.pointerDown = true; }, true);
  for (const type of ["pointerup", "pointercancel"]) {
    document.addEventListener(type, () => { state.pointerDown = false; }, true);
  }
  el.prompt.addEventListener("keydown", onTextareaKeydown);
  el.negativePrompt.addEventListener("keydown", onTextareaKeydown);
  el.seedRandom.addEventListener("change", () => {
    setSeedRandom(el.seedRandom.checked);
    if (!el.seedRandom.checked) el.seed.focus();
  });
  el.reuseSeed.addEventListener("click", onReuseSeed);
  el.resultImage.addEventListener("error", () => {
    if (el.resultImage.getAttribute("src") !== PLACEHOLDER_SRC) {
      renderStatus("error", "Error: the image could not be loaded.");
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) pollHealth();
  });
  setSeedRandom(el.seedRandom.checked);
  updatePromptCount();
  renderStatus("idle", "Ready.");
  el.form.dataset.ready = "true";
  pollHealth();
}

init();
