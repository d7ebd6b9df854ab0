// One generation from the page: the edit's uploads (the mask), POST /jobs, follow its
// events, show the images or why it stopped, and cancel it on request. The controller in
// ui.js makes one per submission and holds it while it runs; everything about that job
// lives in its instance.

"use strict";

import { ApiError, api } from "./api.js";
import { watchJob } from "./job_watch.js";
import { formatDuration, formatSeconds } from "./dom.js";
import { paramsDenoisingSteps } from "./edit_rules.js";
import { coveredCount } from "./safety.js";

const ELAPSED_TICK_MS = 250;
const NOTE_STREAM_LOST = "Live updates stopped; checking the job every second.";
const NOTE_UNREACHABLE = "Cannot reach the service; trying again every second.";

async function loadImage(url) {
  const image = new Image();
  image.src = url;
  await image.decode();
}

function describeError(error) {
  if (!(error instanceof ApiError)) {
    return "Error: something went wrong in the page; see the console.";
  }
  if (error.status === 429) {
    return error.retryAfter !== null
      ? `The queue is full — try again in ${error.retryAfter} s.`
      : "The queue is full — try again shortly.";
  }
  if (error.status === 504) return `Timed out. ${error.message}`;
  if (error.status === 401) {
    return "Signed out: sign in to go on. A job the service took goes on without the page, "
      + "and its images land in the gallery.";
  }
  // 503 (model missing or downloading) carries what to do, e.g. `make download`.
  return `Error: ${error.message}`;
}

/** The status line of a finished job; it says what the safety filter covered, if anything. */
function completeWords(job, took) {
  const count = job.images.length;
  const covered = coveredCount(job);
  if (count === 1) {
    return covered ? `Complete in ${took}. The safety filter covered the image.`
                   : `Complete in ${took}.`;
  }
  return covered ? `Complete in ${took} — ${count} images, ${covered} covered by the safety filter.`
                 : `Complete in ${took} — ${count} images.`;
}

/** No image area: the body goes as the form made it. */
const TEXT_ONLY = { editBody: async (body) => body, claimErrors: (details) => details };

/** The steps that really run over every image: an edit runs int(steps * strength) each. */
function stepsOf(body) {
  return paramsDenoisingSteps(body) * (body.num_images ?? 1);
}

export class Generation {
  /**
   * `body` is the form's valid request; `form`, `result`, `gallery` and `imageInput` are
   * the page's parts; `timeLimit()` is the service's INFERENCE_TIMEOUT_SECONDS as /health
   * last said.
   */
  constructor(body, { form, result, gallery, imageInput = TEXT_ONLY, timeLimit }) {
    Object.assign(this, { form, result, gallery, imageInput, timeLimit });
    this.job = null;  // until the service accepted it
    this.watch = null;
    this.startedAt = performance.now();
    this.runningSince = null;  // from the `started` event: the time limit counts from it
    this.overTimeLimit = false;
    this.timer = null;
    this.total = stepsOf(body);
    this.cancelling = false;
    this.ended = false;
    this.body = body;
  }

  /** Run it to its end; never throws (errors show on the page). */
  async run() {
    const { result } = this;
    this.form.setBusy(true);
    result.offerRunAgain(null);
    result.progress.renderNote(null);
    result.renderStatus("queued", "Sending…");
    result.progress.renderWaiting(this.total);
    this.startElapsed();
    result.revealResult({ block: "start" });
    try {
      this.body = await this.imageInput.editBody(this.body);
      this.total = stepsOf(this.body);
      this.job = await api.submitJob(this.body);
      this.total = this.job.progress?.total || this.total;
      result.progress.renderCancel("ready");
      this.showQueued(this.job.queue_position);
      this.watch = watchJob(this.job, this.handlers());
      await this.showFinal(await this.watch.done);
    } catch (error) {
      this.watch?.stop();
      result.restoreResult();
      result.progress.hide();
      this.showServerError(error);
    } finally {
      this.ended = true;
      clearInterval(this.timer);
      this.form.setBusy(false);
      result.progress.renderCancel("hidden");
    }
  }

  async cancel() {
    if (!this.job || this.cancelling) return;
    this.cancelling = true;
    this.result.progress.renderCancel("pending");
    try {
      // The answer is final (or, if the engine is wedged, still running: the watch goes on).
      this.watch?.settle(await api.cancelJob(this.job.job_id));
    } catch (error) {
      // 409: it ended before the cancel arrived; the watch brings the outcome.
      if (error instanceof ApiError && error.status === 409) return;
      this.cancelling = false;
      if (!this.ended) {
        this.result.progress.renderCancel("ready");
        this.result.progress.renderNote(`Could not cancel: ${error.message}`);
      }
    }
  }

  startElapsed() {
    const tick = () => this.result.renderElapsed(
      Math.floor((performance.now() - this.startedAt) / 1000));
    tick();
    this.timer = setInterval(tick, ELAPSED_TICK_MS);
  }

  showQueued(position) {
    this.result.renderStatus("queued", position ? `Waiting — position ${position} in queue`
                                                : "Waiting in the queue…");
    this.result.progress.renderWaiting(this.total);
  }

  showRunning({ step = 0, total = this.total, eta = null }) {
    if (Number.isFinite(total) && total > 0) this.total = total;
    this.result.renderStatus("generating", "Generating…");
    const stepsPerImage = this.total / (this.job?.params?.num_images ?? 1);
    this.result.progress.render({ step, total: this.total, eta, stepsPerImage });
  }

  /**
   * Say so early when, at the pace so far, the job will not finish inside the service's
   * time limit (a big size on a small CPU), rather than let it run into the limit.
   */
  warnIfOverTimeLimit({ step, eta }) {
    const limit = this.timeLimit();
    if (!limit || this.runningSince === null || !(step >= 2)) return;
    if (!Number.isFinite(eta)) return;
    const projected = (performance.now() - this.runningSince) / 1000 + eta;
    if (projected > limit) {
      this.overTimeLimit = true;
      this.result.progress.renderNote(
        `At this pace the job needs about ${formatSeconds(projected)}, and the service stops ` +
        `a job after ${formatSeconds(limit)}: fewer steps or a smaller size ` +
        "would finish in time.");
    } else if (this.overTimeLimit) {
      this.overTimeLimit = false;
      this.result.progress.renderNote(null);
    }
  }

  /** What each event (or polled snapshot) of the job does to the page. */
  handlers() {
    const { result } = this;
    return {
      queued: ({ queue_position: position }) => this.showQueued(position),
      started: () => {
        this.runningSince = performance.now();
        this.showRunning({});
      },
      progress: ({ step, total, eta_seconds: eta }) => {
        this.showRunning({ step, total, eta });
        this.warnIfOverTimeLimit({ step, eta });
      },
      preview: (data) => result.renderPreview(this.job, data),
      snapshot: (job) => {
        result.progress.renderNote(NOTE_STREAM_LOST);
        if (job.status === "queued") this.showQueued(job.queue_position);
        else this.showRunning({ ...job.progress, eta: job.eta_seconds });
      },
      streamLost: () => result.progress.renderNote(NOTE_STREAM_LOST),
      unreachable: () => result.progress.renderNote(NOTE_UNREACHABLE),
    };
  }

  /** The job ended: show its images, or why it stopped. */
  async showFinal(job) {
    const { result } = this;
    const total = job.progress?.total || this.total;
    const step = job.progress?.step ?? 0;
    const perImage = total / (job.params?.num_images ?? 1);
    result.progress.renderNote(null);
    if (job.status === "succeeded") {
      try {
        await Promise.all(job.images.map((image) => loadImage(image.url)));
      } catch {
        throw new ApiError({ type: "image_load",
                             message: "The image was generated but could not be loaded." });
      }
      result.renderResult(job);
      // Strength 0 runs no step at all: the result is the input, resized.
      if (total > 0) {
        result.progress.render({ step: total, total, stepsPerImage: perImage, ended: "complete" });
      } else {
        result.progress.hide();
      }
      await result.resultImageDecoded();
      const took = formatDuration(job.duration_ms ?? performance.now() - this.startedAt);
      result.renderStatus("complete", completeWords(job, took));
      result.revealResult();
      this.gallery.refresh();
      return;
    }
    result.restoreResult();
    if (step > 0) {
      result.progress.render({ step, total, stepsPerImage: perImage, ended: "stopped" });
    } else {
      result.progress.hide();
    }
    if (job.status === "cancelled") {
      result.renderStatus("cancelled", "Cancelled.");
      return;
    }
    const error = job.error ?? { type: "failed", message: "The job failed." };
    const prefix = error.type === "timeout" ? "Timed out." : "Error:";
    result.renderStatus("error", `${prefix} ${error.message}`, { title: `Job ${job.job_id}` });
    // The service restarted under it: the same request (and seed) can simply go again.
    if (error.type === "interrupted" && job.params) result.offerRunAgain(job.params);
    result.revealResult();
  }

  showServerError(error) {
    if (!(error instanceof ApiError)) console.error(error);
    const details = this.imageInput.claimErrors(error instanceof ApiError ? error.details : []);
    const unmatched = this.form.showFieldErrors(details);
    this.form.showFormError(unmatched.map(({ field, message }) => `${field}: ${message}`));
    this.result.renderStatus("error", describeError(error),
                             { title: error?.requestId ? `Request id ${error.requestId}` : "" });
    if (details.length > unmatched.length) this.form.focusFirstInvalid();
    else this.result.revealResult();
  }
}
