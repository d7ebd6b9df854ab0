// The health badge in the header, the degraded banner, and the poll that feeds them.
// It says how the service is; what a report means for the form (its defaults, bounds and
// schedulers) is the controller's business, told through onReport.

"use strict";

import { setHidden, setText, setTextWithCode } from "./dom.js";
import { filterState } from "./safety.js";

const HEALTH_POLL_MS = 5000;

export class HealthMonitor {
  /**
   * `badge` is the header's #health, `banner` the degraded banner; `fetchHealth()`
   * answers /health. `onReport(report)` gets every answer, `onUnreachable()` every time
   * there is none. start() asks now, then every few seconds and when the tab shows again;
   * pause() stops asking (signed out: the answers would only be 401s) until start().
   */
  constructor({ badge, banner, fetchHealth, onReport = () => {}, onUnreachable = () => {} }) {
    const part = (root, id) => root.querySelector(`#${id}`);
    this.el = {
      health: badge,
      mode: part(badge, "health-mode"),
      device: part(badge, "health-device"),
      safety: part(badge, "health-safety"),
      model: part(badge, "health-model"),
      queue: part(badge, "health-queue"),
      banner,
      bannerTitle: part(banner, "health-banner-title"),
      bannerReason: part(banner, "health-banner-reason"),
    };
    this.doc = badge.ownerDocument;
    this.fetchHealth = fetchHealth;
    this.onReport = onReport;
    this.onUnreachable = onUnreachable;
    this.timer = null;
    this.inFlight = false;
    this.paused = false;
    this.doc.addEventListener("visibilitychange", () => {
      if (!this.doc.hidden) this.check();
    });
  }

  start() {
    this.paused = false;
    this.check();
  }

  pause() {
    this.paused = true;
    clearTimeout(this.timer);
  }

  /** Ask /health now (unless a request is out or the tab is hidden), then again later. */
  async check() {
    clearTimeout(this.timer);
    if (this.paused) return;
    if (!this.doc.hidden && !this.inFlight) {
      this.inFlight = true;
      let report = null;
      try {
        report = await this.fetchHealth();
      } catch {
        report = null;  // no answer, an HTTP error or not JSON: the service is not there
      } finally {
        this.inFlight = false;
      }
      // Paused while it was out: a 401 that asked for a key, not a service gone away.
      if (this.paused) return;
      if (report !== null && typeof report === "object") this.show(report);
      else this.showUnreachable();
    }
    this.timer = setTimeout(() => this.check(), HEALTH_POLL_MS);
  }

  /** A bug in showing an answer is the page's, not the service's: log it, never "offline". */
  show(report) {
    for (const [what, step] of [["render the health report", () => this.render(report)],
                                ["apply the health report", () => this.onReport(report)]]) {
      try {
        step();
      } catch (error) {
        console.error(`Could not ${what}:`, error, report);
      }
    }
  }

  showUnreachable() {
    this.renderUnreachable();
    this.onUnreachable();
  }

  render(report) {
    const degraded = report.status !== "ok";
    this.el.health.dataset.status = degraded ? "degraded" : "ok";
    this.el.health.dataset.mode = report.mock ? "mock" : "real";

    setText(this.el.mode, report.mock ? "mock" : "real model");
    this.el.mode.dataset.tone = report.mock ? "warn" : "ok";
    this.el.mode.title = report.mock
      ? "Demo mode: images are placeholders, not model output."
      : "Images come from the Stable Diffusion model.";

    const device = report.device ?? {};
    const fallback = device.fallback_reason;
    setText(this.el.device, fallback
      ? `${device.target} → ${device.active} fallback`
      : `device ${device.active ?? "?"}`);
    this.el.device.title = fallback ? `Fell back: ${fallback}` : `Requested ${device.target}`;
    this.el.device.dataset.tone = fallback ? "warn" : "";
    if (fallback) {
      // Focusable, so keyboard users can reach the reason that the tooltip shows on hover.
      this.el.device.tabIndex = 0;
      this.el.device.setAttribute("aria-label",
                                  `${device.target} to ${device.active} fallback: ${fallback}`);
    } else {
      this.el.device.removeAttribute("tabindex");
      this.el.device.removeAttribute("aria-label");
    }
    if (report.cluster) this.showWorkers(report.cluster);
    setHidden(this.el.device, false);

    const model = report.model ?? {};
    setText(this.el.model, model.cached ? "model cached" : "model not downloaded");
    this.el.model.title = `${model.repo_id ?? "model"} in ${model.dir ?? "?"}`;
    this.el.model.dataset.tone = model.cached || report.mock ? "" : "warn";
    setHidden(this.el.model, false);

    this.renderSafety(report.safety);
    this.renderQueue(report.queue);
    this.renderBanner(degraded ? {
      title: "The service is degraded.",
      reason: report.reason ?? "It cannot generate images right now.",
    } : null);
  }

  /** "safety filter on" (or off, or not ready); what it does in the tooltip and its name. */
  renderSafety(safety) {
    const state = filterState(safety);
    setHidden(this.el.safety, state === null);
    if (state === null) return;
    setText(this.el.safety, state.text);
    this.el.safety.dataset.tone = state.tone;
    this.el.safety.title = state.detail;
    this.el.safety.setAttribute("aria-label", state.detail);
    this.el.safety.tabIndex = 0;
  }

  /** "1 running · 2 waiting" across every client of the service; hidden when idle. */
  renderQueue(queue) {
    const running = queue?.running ?? 0;
    const queued = queue?.queued ?? 0;
    const parts = [];
    if (running) parts.push(`${running} running`);
    if (queued) parts.push(`${queued} waiting`);
    setText(this.el.queue, parts.join(" · "));
    this.el.queue.title = "Jobs in the service's queue, from every page and client";
    setHidden(this.el.queue, parts.length === 0);
  }

  renderUnreachable() {
    this.el.health.dataset.status = "offline";
    delete this.el.health.dataset.mode;
    setText(this.el.mode, "offline");
    this.el.mode.dataset.tone = "error";
    this.el.mode.title = "The service does not answer /health.";
    setHidden(this.el.device, true);
    setHidden(this.el.safety, true);
    setHidden(this.el.model, true);
    setHidden(this.el.queue, true);
    this.renderBanner({
      title: "Cannot reach the service.",
      reason: "Start it with `make serve` (or `make demo` for mock images); this page retries "
        + "every few seconds.",
    });
  }

  renderBanner(banner) {
    if (!banner) {
      setHidden(this.el.banner, true);
      return;
    }
    setText(this.el.bannerTitle, banner.title);
    setTextWithCode(this.el.bannerReason, banner.reason);
    setHidden(this.el.banner, false);
  }

  /** Several machines: "3 workers: 2 GPU, 1 CPU" in place of this PC's device. */
  showWorkers(cluster) {
    const workers = cluster.workers ?? [];
    const kinds = Object.entries(cluster.devices ?? {})
      .map(([kind, count]) => `${count} ${kind}`).join(", ");
    const noun = workers.length === 1 ? "worker" : "workers";
    setText(this.el.device, workers.length ? `${workers.length} ${noun}: ${kinds}` : "no workers");
    this.el.device.title = workers.map((w) => `${w.host} (${w.device})`).join("\n")
      || "No worker is connected to the shared queue.";
    this.el.device.dataset.tone = workers.length ? "" : "warn";
  }
}
