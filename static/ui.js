// The web UI of the local Stable Diffusion service: the entry point and its controller.
// Plain ES modules, no build step:
//   dom.js      DOM helpers and how values read in words
//   api.js      every HTTP call, ApiError, and watchJob (event stream, polling fallback)
//   form.js     the request form: read, validate, show field errors, fill from a past job
//   result.js   status line, progress, Cancel, live preview and the finished image(s)
//   gallery.js  past images: pages, "Use these settings", download, delete
//   health.js   the health badge and the degraded banner
// This file keeps the one piece of state, the generation in flight, and runs its flow:
// POST /jobs, follow its events, show the outcome.

"use strict";

import { ApiError, api, watchJob } from "./api.js";
import { formatDuration, formatSeconds } from "./dom.js";
import {
  fillForm, focusFirstInvalid, focusPrompt, initForm, showFieldErrors, showFormError, useSeed,
} from "./form.js";
import { initGallery, refreshGallery } from "./gallery.js";
import { initHealth } from "./health.js";
import {
  forgetJob, hideProgress, initResult, renderBusy, renderCancel, renderElapsed, renderPreview,
  renderProgress, renderProgressNote, renderProgressWaiting, renderResult, renderStatus,
  restoreResult, resultImageDecoded, revealResult,
} from "./result.js";

const ELAPSED_TICK_MS = 250;
const NOTE_STREAM_LOST = "Live updates stopped; checking the job every second.";
const NOTE_UNREACHABLE = "Cannot reach the service; trying again every second.";

/** The service's INFERENCE_TIMEOUT_SECONDS as /health last said, or null. */
let timeLimitSeconds = null;

/**
 * The generation in flight, or null:
 * {job, watch, startedAt, runningSince, overTimeLimit, timer, total, cancelling}.
 * `job` is null until the service accepted it; `total` counts the steps of every image
 * of the batch.
 */
let run = null;

// ---------------------------------------------------------------- following a job

function startElapsed(current) {
  const tick = () => renderElapsed(Math.floor((performance.now() - current.startedAt) / 1000));
  tick();
  current.timer = setInterval(tick, ELAPSED_TICK_MS);
}

function stepsPerImage(current) {
  return current.job?.params?.num_inference_steps ?? current.total;
}

function showQueued(current, position) {
  renderStatus("queued", position ? `Waiting — position ${position} in queue`
                                  : "Waiting in the queue…");
  renderProgressWaiting(current.total);
}

function showRunning(current, { step = 0, total = current.total, eta = null }) {
  if (Number.isFinite(total) && total > 0) current.total = total;
  renderStatus("generating", "Generating…");
  renderProgress({ step, total: current.total, eta, stepsPerImage: stepsPerImage(current) });
}

/**
 * Say so early when, at the pace so far, the job will not finish inside the service's
 * time limit (a big size on a small CPU), rather than let it run into the limit.
 */
function warnIfOverTimeLimit(current, { step, eta }) {
  if (!timeLimitSeconds || current.runningSince === null || !(step >= 2)) return;
  if (!Number.isFinite(eta)) return;
  const projected = (performance.now() - current.runningSince) / 1000 + eta;
  if (projected > timeLimitSeconds) {
    current.overTimeLimit = true;
    renderProgressNote(
      `At this pace the job needs about ${formatSeconds(projected)}, and the service stops ` +
      `a job after ${formatSeconds(timeLimitSeconds)}: fewer steps or a smaller size ` +
      "would finish in time.");
  } else if (current.overTimeLimit) {
    current.overTimeLimit = false;
    renderProgressNote(null);
  }
}

/** What each event (or polled snapshot) of the job does to the page. */
function jobHandlers(current) {
  return {
    queued: ({ queue_position: position }) => showQueued(current, position),
    started: () => {
      current.runningSince = performance.now();
      showRunning(current, {});
    },
    progress: ({ step, total, eta_seconds: eta }) => {
      showRunning(current, { step, total, eta });
      warnIfOverTimeLimit(current, { step, eta });
    },
    preview: (data) => renderPreview(current.job, data),
    snapshot: (job) => {
      renderProgressNote(NOTE_STREAM_LOST);
      if (job.status === "queued") showQueued(current, job.queue_position);
      else showRunning(current, { ...job.progress, eta: job.eta_seconds });
    },
    streamLost: () => renderProgressNote(NOTE_STREAM_LOST),
    unreachable: () => renderProgressNote(NOTE_UNREACHABLE),
  };
}

async function loadImage(url) {
  const image = new Image();
  image.src = url;
  await image.decode();
}

/** The job ended: show its images, or why it stopped. */
async function showFinal(current, job) {
  const total = job.progress?.total || current.total;
  const step = job.progress?.step ?? 0;
  const perImage = job.params?.num_inference_steps ?? total;
  renderProgressNote(null);
  if (job.status === "succeeded") {
    try {
      await Promise.all(job.images.map((image) => loadImage(image.url)));
    } catch {
      throw new ApiError({ type: "image_load",
                           message: "The image was generated but could not be loaded." });
    }
    renderResult(job);
    renderProgress({ step: total, total, stepsPerImage: perImage, ended: "complete" });
    await resultImageDecoded();
    const took = formatDuration(job.duration_ms ?? performance.now() - current.startedAt);
    const count = job.images.length;
    renderStatus("complete", count > 1 ? `Complete in ${took} — ${count} images.`
                                       : `Complete in ${took}.`);
    revealResult();
    refreshGallery();
    return;
  }
  restoreResult();
  if (step > 0) renderProgress({ step, total, stepsPerImage: perImage, ended: "stopped" });
  else hideProgress();
  if (job.status === "cancelled") {
    renderStatus("cancelled", "Cancelled.");
    return;
  }
  const error = job.error ?? { type: "failed", message: "The job failed." };
  const prefix = error.type === "timeout" ? "Timed out." : "Error:";
  renderStatus("error", `${prefix} ${error.message}`, { title: `Job ${job.job_id}` });
  revealResult();
}

async function generate(body) {
  const current = {
    job: null,
    watch: null,
    startedAt: performance.now(),
    runningSince: null,  // from the `started` event: the service's time limit counts from it
    overTimeLimit: false,
    timer: null,
    total: body.num_inference_steps * (body.num_images ?? 1),
    cancelling: false,
  };
  run = current;
  renderBusy(true);
  renderProgressNote(null);
  renderStatus("queued", "Sending…");
  renderProgressWaiting(current.total);
  startElapsed(current);
  revealResult({ block: "start" });
  try {
    current.job = await api.submitJob(body);
    current.total = current.job.progress?.total || current.total;
    renderCancel("ready");
    showQueued(current, current.job.queue_position);
    current.watch = watchJob(current.job, jobHandlers(current));
    await showFinal(current, await current.watch.done);
  } catch (error) {
    current.watch?.stop();
    restoreResult();
    hideProgress();
    showServerError(error);
  } finally {
    clearInterval(current.timer);
    run = null;
    renderBusy(false);
    renderCancel("hidden");
  }
}

async function onCancel() {
  const current = run;
  if (!current?.job || current.cancelling) return;
  current.cancelling = true;
  renderCancel("pending");
  try {
    // The answer is final (or, if the engine is wedged, still running: the watch goes on).
    current.watch?.settle(await api.cancelJob(current.job.job_id));
  } catch (error) {
    // 409: it ended before the cancel arrived; the watch brings the outcome.
    if (error instanceof ApiError && error.status === 409) return;
    current.cancelling = false;
    if (run === current) {
      renderCancel("ready");
      renderProgressNote(`Could not cancel: ${error.message}`);
    }
  }
}

// ---------------------------------------------------------------- errors in words

function describeError(error) {
  if (!(error instanceof ApiError)) return "Error: something went wrong in the page; see the console.";
  if (error.status === 429) {
    return error.retryAfter !== null
      ? `The queue is full — try again in ${error.retryAfter} s.`
      : "The queue is full — try again shortly.";
  }
  if (error.status === 504) return `Timed out. ${error.message}`;
  // 503 (model missing or downloading) carries what to do, e.g. `make download`.
  return `Error: ${error.message}`;
}

function showServerError(error) {
  if (!(error instanceof ApiError)) console.error(error);
  const details = error instanceof ApiError ? error.details : [];
  const unmatched = showFieldErrors(details);
  showFormError(unmatched.map(({ field, message }) => `${field}: ${message}`));
  renderStatus("error", describeError(error),
               { title: error?.requestId ? `Request id ${error.requestId}` : "" });
  if (details.length > unmatched.length) focusFirstInvalid();
  else revealResult();
}

// ---------------------------------------------------------------- start

function init() {
  initForm({
    onSubmit: generate,
    isBusy: () => run !== null,
    onInvalid: (names) => {
      const which = names.length === 1 ? "this field" : "these fields";
      renderStatus("error", `Check ${which}: ${names.join(", ")}.`);
    },
  });
  initResult({ onCancel, onReuseSeed: useSeed });
  initGallery({
    onUse: (params) => {
      fillForm(params);
      focusPrompt();
    },
    onDeleted: forgetJob,
  });
  renderStatus("idle", "Ready.");
  initHealth({
    onReport: (report) => {
      const limit = report.limits?.inference_timeout_seconds;
      timeLimitSeconds = Number.isFinite(limit) && limit > 0 ? limit : null;
    },
  });
  document.getElementById("generate-form").dataset.ready = "true";
}

init();
