// Jobs a restart stopped while they ran (failed with error type "interrupted"), above the
// gallery: each offers "Run again", which sends the same request with the same seed as a
// new job, and "Dismiss", which deletes its record.

"use strict";

import { interruptedCard } from "./cards.js";
import { setHidden } from "./dom.js";

export const isInterrupted = (job) => job?.status === "failed"
  && job?.error?.type === "interrupted" && typeof job?.params?.prompt === "string";

export class InterruptedJobs {
  /**
   * `root` is the #interrupted block; `api` lists jobs and deletes records;
   * `onRunAgain(params)` sends a job's request again; `announce(text, {error})` speaks
   * through the gallery's status line; `schedulerLabel(name)` words a scheduler.
   */
  constructor(root, { api, onRunAgain, announce, schedulerLabel }) {
    this.root = root;
    this.list = root.querySelector("#interrupted-list");
    Object.assign(this, { api, onRunAgain, announce, schedulerLabel });
    /** Job JSON by job id, for the cards shown. */
    this.jobs = new Map();
    this.list.addEventListener("click", (event) => this.onClick(event));
  }

  /** Ask the service for its jobs and show the interrupted ones, newest first. */
  async refresh() {
    let answer;
    try {
      answer = await this.api.listJobs();
    } catch {
      return;  // the gallery's own call says what is wrong; these cards can wait
    }
    this.show((answer?.jobs ?? []).filter(isInterrupted));
  }

  show(jobs) {
    this.jobs = new Map(jobs.map((job) => [job.job_id, job]));
    this.list.replaceChildren(...jobs.map((job) => interruptedCard(job, this.schedulerLabel)));
    setHidden(this.root, jobs.length === 0);
  }

  /** The scheduler labels changed: reword the cards (built again, they are few). */
  relabel() {
    if (this.jobs.size) this.show(Array.from(this.jobs.values()));
  }

  async dismiss(item, job) {
    for (const button of item.querySelectorAll("button")) button.disabled = true;
    try {
      await this.api.deleteImages(job.job_id);
    } catch (error) {
      if (error.status !== 404) {
        for (const button of item.querySelectorAll("button")) button.disabled = false;
        this.announce(`Could not dismiss: ${error.message}`, { error: true });
        return;
      }
    }
    const next = item.nextElementSibling ?? item.previousElementSibling;
    item.remove();
    this.jobs.delete(job.job_id);
    setHidden(this.root, this.jobs.size === 0);
    this.announce("Dismissed the stopped job.");
    const title = this.root.ownerDocument.getElementById("gallery-title");
    (next?.querySelector(".card-run-again") ?? title)?.focus();
  }

  onClick(event) {
    const button = event.target.closest("[data-action]");
    const item = button?.closest(".card");
    const job = item && this.jobs.get(item.dataset.jobId);
    if (!job) return;
    if (button.dataset.action === "run-again") this.onRunAgain(job.params);
    else if (button.dataset.action === "dismiss") this.dismiss(item, job);
  }
}
