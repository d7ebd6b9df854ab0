// The web UI of the local Stable Diffusion service: the entry point and its controller.
// Plain ES modules, no build step; none of them touches the page when it is imported:
//   dom.js          DOM helpers and how values read in words
//   api.js          every HTTP call, ApiError, and the hook that hears a 401
//   job_watch.js    watchJob: a job to its end (event stream, polling fallback)
//   session.js      SessionGate: the sign-in form when the service wants a key, sign-out
//   constraints.js  what the service allows: its request bounds in the fields, the checks
//                   that read them, the schedulers its engine offers
//   form.js         RequestForm: read, validate, show field errors, fill from a past job
//   edit_rules.js   what an edit means: the output size from an input, the steps that run
//   image_input.js  ImageInput: the image a job starts from, strength, size rule, and
//                   (image_sources.js) drop, pick and paste, (mask_editor.js, mask_layer.js)
//                   the inpainting mask
//   result.js       ResultPanel: status line, live preview, the image(s), "Run again"
//   job_params.js   a finished job's settings in words, for the result's list
//   progress.js     ProgressView: the result's progress bar, its note, and Cancel
//   cards.js        one gallery card per finished job, and one per interrupted job
//   gallery.js      Gallery: past images, pages, "Use these settings", download, delete
//   interrupted.js  InterruptedJobs: jobs a restart stopped, with "Run again"
//   health.js       HealthMonitor: the health badge, the degraded banner, and their poll
//   safety.js       the safety filter: which images it covered, its notice, its state
//   generation.js   Generation: one job from the page, POST /jobs to its outcome, cancel
// This file builds them on the page and keeps the state: the generation in flight and
// what the last /health said (time limit, scheduler labels); it applies each health
// report to the form (defaults, bounds, schedulers). Nothing asks the API until the
// session gate has opened (no key needed, or signed in); a 401 from any call closes it.

"use strict";

import { api, onUnauthorized } from "./api.js";
import { byId, schedulerLabel } from "./dom.js";
import { RequestForm } from "./form.js";
import { Gallery } from "./gallery.js";
import { Generation } from "./generation.js";
import { HealthMonitor } from "./health.js";
import { ImageInput } from "./image_input.js";
import { InterruptedJobs } from "./interrupted.js";
import { ResultPanel } from "./result.js";
import { filterState, isCovered } from "./safety.js";
import { SessionGate } from "./session.js";

class PageController {
  constructor() {
    /** The Generation in flight, or null: one at a time from this page. */
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
    this.imageInput = new ImageInput(byId("generate-form"));
    this.result = new ResultPanel(byId("result").closest("section"), {
      onCancel: () => this.run?.cancel(),
      onReuseSeed: (seed) => this.form.useSeed(seed),
      onRunAgain: (params) => this.runAgain(params),
      onUseAsInput: (image) => this.useAsInput(image),
      afterCancel: () => this.form.focusSubmit(),
      schedulerLabel: label,
    });
    this.gallery = new Gallery(byId("gallery"), {
      api,
      onUse: (params) => {
        this.form.fill(params);
        this.imageInput.restore(params);
        this.form.focusPrompt();
      },
      onUseInput: (image) => this.useAsInput(image),
      onDeleted: (jobId) => this.result.forgetJob(jobId),
      schedulerLabel: label,
    });
    this.interrupted = new InterruptedJobs(byId("interrupted"), {
      api,
      onRunAgain: (params) => this.runAgain(params),
      announce: (text, { error = false } = {}) => (error ? this.gallery.announceError(text)
                                                          : this.gallery.announce(text)),
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
    this.session = new SessionGate(document, {
      api,
      onOpen: () => {
        this.gallery.refresh();
        this.interrupted.refresh();
        this.health.start();
      },
      afterSignIn: () => this.form.focusPrompt(),
      onClosed: () => {
        this.health.pause();
        // The next key may name another client, who must not see this one's images.
        this.gallery.reset();
        this.interrupted.show([]);
        this.imageInput.remove();
        if (this.result.shown) this.result.forgetJob(this.result.shown.job.job_id);
      },
    });
    onUnauthorized((reason) => this.session.close(reason));
  }

  start() {
    this.result.renderStatus("idle", "Ready.");
    this.session.check();
  }

  /** "Run again" on a job a restart stopped: its settings in the form, then Generate. */
  runAgain(params) {
    if (this.run !== null) {
      this.gallery.announce("A generation is running: run it again once it ends.");
      return;
    }
    this.form.fill(params);
    this.imageInput.restore(params);
    byId("generate-form").requestSubmit();
  }

  /** "Use as input" on a generated image: it becomes the form's input image. */
  useAsInput(image) {
    // A cover is no picture to edit; the buttons are hidden for one, this makes sure.
    if (isCovered(image)) return;
    this.imageInput.useImage(image);
    byId("image-input").scrollIntoView({ block: "nearest" });
    byId("strength").focus({ preventScroll: true });
  }

  /** What /health says about requests: the form's bounds, defaults and schedulers. */
  applyHealth(report) {
    const limit = report.limits?.inference_timeout_seconds;
    this.timeLimitSeconds = Number.isFinite(limit) && limit > 0 ? limit : null;
    if (report.request_bounds) this.form.applyBounds(report.request_bounds);
    this.result.applySafety(filterState(report.safety));
    // Degraded, no engine is loaded: its defaults and schedulers are not known yet.
    if (report.status === "ok") {
      this.form.applyDefaults(report.defaults);
      if (Array.isArray(report.schedulers)) this.offerSchedulers(report.schedulers);
    }
    // After the defaults: a size derived from the input image stays shown.
    this.imageInput.applyBounds(report.request_bounds);
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
      this.interrupted.relabel();
      this.result.relabel();
    }
  }

  async generate(body) {
    const generation = new Generation(body, {
      form: this.form,
      result: this.result,
      gallery: this.gallery,
      imageInput: this.imageInput,
      timeLimit: () => this.timeLimitSeconds,
    });
    this.run = generation;
    try {
      await generation.run();
    } finally {
      this.run = null;
    }
  }
}

new PageController().start();
