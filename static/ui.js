// The web UI of the local Stable Diffusion service: the entry point and its controller.
// Plain ES modules, no build step; none of them touches the page when it is imported:
//   dom.js          DOM helpers and how values read in words
//   api.js          every HTTP call, ApiError, and watchJob (event stream, polling fallback)
//   constraints.js  what the service allows: its request bounds in the fields, the checks
//                   that read them, the schedulers its engine offers
//   form.js         RequestForm: read, validate, show field errors, fill from a past job
//   result.js       ResultPanel: status line, progress, Cancel, live preview, the image(s)
//   cards.js        one gallery card per finished job
//   gallery.js      Gallery: past images, pages, "Use these settings", download, delete
//   health.js       HealthMonitor: the health badge, the degraded banner, and their poll
// This file builds them on the page and keeps the state: the generation in flight, what
// the last /health said (time limit, scheduler labels), and applies each health report
// to the form (defaults, bounds, schedulers). Then it runs the generation's flow:
// POST /jobs, follow its events, show the outcome.

"use strict";

import { ApiError, api, watchJob } from "./api.js";
import { byId, formatDuration, formatSeconds, schedulerLabel } from "./dom.js";
import { RequestForm } from "./form.js";
import { Gallery } from "./gallery.js";
import { HealthMonitor } from "./health.js";
import { ResultPanel } from "./result.js";

const ELAPSED_TICK_MS = 250;
const NOTE_STREAM_LOST = "Live updates stopped; checking the job every second.";
const NOTE_UNREACHABLE = "Cannot reach the service; trying again every second.";

async function loadImage(url) {
  const image = new Image();
  image.src = url;
  await image.decode();
}

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

class PageController {
  constructor() {
    /**
     * The generation in flight, or null:
     * {job, watch, startedAt, runningSince, overTimeLimit, timer, total, cancelling}.
     * `job` is null until the service accepted it; `total` counts the steps of every image
     * of the batch.
     */
    this.run = null;
    /** The service's INFERENCE_TIMEOUT_SECONDS as /health last said, or null. */
    this.timeLimitSeconds = null;
    /** Scheduler labels by name, from every /health that offered some. */
    this.schedulerLabels = new Map();
    const label = (name) => schedulerLabel(name, this.schedulerLabels);

    this.form = new RequestForm(byId("generate-form"), {
      onSubmit: (body) => this.generate(body),
      isBusy: () => this.run !== null,
      onInvalid: (names) => {
        const which = names.length === 1 ? "this field" : "these fields";
        this.result.renderStatus("error", `Check ${which}: ${names.join(", ")}.`);
      },
    });
    this.result = new ResultPanel(byId("result").closest("section"), {
      onCancel: () => this.cancel(),
      onReuseSeed: (seed) => this.form.useSeed(seed),
      afterCancel: () => this.form.focusSubmit(),
      schedulerLabel: label,
    });
    this.gallery = new Gallery(byId("gallery"), {
      api,
      onUse: (params) => {
        this.form.fill(params);
        this.form.focusPrompt();
      },
      onDeleted: (jobId) => this.result.forgetJob(jobId),
      schedulerLabel: label,
    });
    this.health = new HealthMonitor({
      badge: byId("health"),
      banner: byId("health-banner"),
      fetchHealth: () => api.health(),
      onReport: (report) => this.applyHealth(report),
      // Bounds unknown: the form goes by its types alone, and the server checks the rest.
      onUnreachable: () => this.form.setReady(),
    });
  }

  start() {
    this.result.renderStatus("idle", "Ready.");
    this.gallery.refresh();
    this.health.start();
  }

  /** What /health says about requests: the form's bounds, defaults and schedulers. */
  applyHealth(report) {
    const limit = report.limits?.inference_timeout_seconds;
    this.timeLimitSeconds = Number.isFinite(limit) && limit > 0 ? limit : null;
    if (report.request_bounds) this.form.applyBounds(report.request_bounds);
    // Degraded, no engine is loaded: its defaults and schedulers are not known yet.
    if (report.status === "ok") {
      this.form.applyDefaults(report.defaults);
      if (Array.isArray(report.schedulers)) this.offerSchedulers(report.schedulers);
    }
    this.form.setReady();
  }

  offerSchedulers(schedulers) {
    let relabelled = false;
    for (const { name, label } of schedulers) {
      if (this.schedulerLabels.get(name) === label) continue;
      this.schedulerLabels.set(name, label);
      relabelled = true;
    }
    this.form.offerSchedulers(schedulers);
    if (relabelled) {
      this.gallery.relabel();
      this.result.relabel();
    }
  }

  // -------------------------------------------------------------- following a job

  startElapsed(current) {
    const tick = () => this.result.renderElapsed(
      Math.floor((performance.now() - current.startedAt) / 1000));
    tick();
    current.timer = setInterval(tick, ELAPSED_TICK_MS);
  }

  showQueued(current, position) {
    this.result.renderStatus("queued", position ? `Waiting — position ${position} in queue`
                                                : "Waiting in the queue…");
    this.result.renderProgressWaiting(current.total);
  }

  showRunning(current, { step = 0, total = current.total, eta = null }) {
    if (Number.isFinite(total) && total > 0) current.total = total;
    this.result.renderStatus("generating", "Generating…");
    const stepsPerImage = current.job?.params?.num_inference_steps ?? current.total;
    this.result.renderProgress({ step, total: current.total, eta, stepsPerImage });
  }

  /**
   * Say so early when, at the pace so far, the job will not finish inside the service's
   * time limit (a big size on a small CPU), rather than let it run into the limit.
   */
  warnIfOverTimeLimit(current, { step, eta }) {
    const limit = this.timeLimitSeconds;
    if (!limit || current.runningSince === null || !(step >= 2)) return;
    if (!Number.isFinite(eta)) return;
    const projected = (performance.now() - current.runningSince) / 1000 + eta;
    if (projected > limit) {
      current.overTimeLimit = true;
      this.result.renderProgressNote(
        `At this pace the job needs about ${formatSeconds(projected)}, and the service stops ` +
        `a job after ${formatSeconds(limit)}: fewer steps or a smaller size ` +
        "would finish in time.");
    } else if (current.overTimeLimit) {
      current.overTimeLimit = false;
      this.result.renderProgressNote(null);
    }
  }

  /** What each event (or polled snapshot) of the job does to the page. */
  jobHandlers(current) {
    const { result } = this;
    return {
      queued: ({ queue_position: position }) => this.showQueued(current, position),
      started: () => {
        current.runningSince = performance.now();
        this.showRunning(current, {});
      },
      progress: ({ step, total, eta_seconds: eta }) => {
        this.showRunning(current, { step, total, eta });
        this.warnIfOverTimeLimit(current, { step, eta });
      },
      preview: (data) => result.renderPreview(current.job, data),
      snapshot: (job) => {
        result.renderProgressNote(NOTE_STREAM_LOST);
        if (job.status === "queued") this.showQueued(current, job.queue_position);
        else this.showRunning(current, { ...job.progress, eta: job.eta_seconds });
      },
      streamLost: () => result.renderProgressNote(NOTE_STREAM_LOST),
      unreachable: () => result.renderProgressNote(NOTE_UNREACHABLE),
    };
  }

  /** The job ended: show its images, or why it stopped. */
  async showFinal(current, job) {
    const { result } = this;
    const total = job.progress?.total || current.total;
    const step = job.progress?.step ?? 0;
    const perImage = job.params?.num_inference_steps ?? total;
    result.renderProgressNote(null);
    if (job.status === "succeeded") {
      try {
        await Promise.all(job.images.map((image) => loadImage(image.url)));
      } catch {
        throw new ApiError({ type: "image_load",
                             message: "The image was generated but could not be loaded." });
      }
      result.renderResult(job);
      result.renderProgress({ step: total, total, stepsPerImage: perImage, ended: "complete" });
      await result.resultImageDecoded();
      const took = formatDuration(job.duration_ms ?? performance.now() - current.startedAt);
      const count = job.images.length;
      result.renderStatus("complete", count > 1 ? `Complete in ${took} — ${count} images.`
                                                : `Complete in ${took}.`);
      result.revealResult();
      this.gallery.refresh();
      return;
    }
    result.restoreResult();
    if (step > 0) result.renderProgress({ step, total, stepsPerImage: perImage, ended: "stopped" });
    else result.hideProgress();
    if (job.status === "cancelled") {
      result.renderStatus("cancelled", "Cancelled.");
      return;
    }
    const error = job.error ?? { type: "failed", message: "The job failed." };
    const prefix = error.type === "timeout" ? "Timed out." : "Error:";
    result.renderStatus("error", `${prefix} ${error.message}`, { title: `Job ${job.job_id}` });
    result.revealResult();
  }

  async generate(body) {
    const { result } = this;
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
    this.run = current;
    this.form.setBusy(true);
    result.renderProgressNote(null);
    result.renderStatus("queued", "Sending…");
    result.renderProgressWaiting(current.total);
    this.startElapsed(current);
    result.revealResult({ block: "start" });
    try {
      current.job = await api.submitJob(body);
      current.total = current.job.progress?.total || current.total;
      result.renderCancel("ready");
      this.showQueued(current, current.job.queue_position);
      current.watch = watchJob(current.job, this.jobHandlers(current));
      await this.showFinal(current, await current.watch.done);
    } catch (error) {
      current.watch?.stop();
      result.restoreResult();
      result.hideProgress();
      this.showServerError(error);
    } finally {
      clearInterval(current.timer);
      this.run = null;
      this.form.setBusy(false);
      result.renderCancel("hidden");
    }
  }

  async cancel() {
    const current = this.run;
    if (!current?.job || current.cancelling) return;
    current.cancelling = true;
    this.result.renderCancel("pending");
    try {
      // The answer is final (or, if the engine is wedged, still running: the watch goes on).
      current.watch?.settle(await api.cancelJob(current.job.job_id));
    } catch (error) {
      // 409: it ended before the cancel arrived; the watch brings the outcome.
      if (error instanceof ApiError && error.status === 409) return;
      current.cancelling = false;
      if (this.run === current) {
        this.result.renderCancel("ready");
        this.result.renderProgressNote(`Could not cancel: ${error.message}`);
      }
    }
  }

  showServerError(error) {
    if (!(error instanceof ApiError)) console.error(error);
    const details = error instanceof ApiError ? error.details : [];
    const unmatched = this.form.showFieldErrors(details);
    this.form.showFormError(unmatched.map(({ field, message }) => `${field}: ${message}`));
    this.result.renderStatus("error", describeError(error),
                             { title: error?.requestId ? `Request id ${error.requestId}` : "" });
    if (details.length > unmatched.length) this.form.focusFirstInvalid();
    else this.result.revealResult();
  }
}

new PageController().start();
