// The health badge in the header, the degraded banner, and the poll that feeds them.

"use strict";

import { api } from "./api.js";
import { byId, setHidden, setText, setTextWithCode } from "./dom.js";
import { applyModelDefaults } from "./form.js";

const HEALTH_POLL_MS = 5000;

const el = {
  health: byId("health"),
  mode: byId("health-mode"),
  device: byId("health-device"),
  model: byId("health-model"),
  queue: byId("health-queue"),
  banner: byId("health-banner"),
  bannerTitle: byId("health-banner-title"),
  bannerReason: byId("health-banner-reason"),
};

const poll = { timer: null, inFlight: false, onReport: null };

function renderHealth(report) {
  const degraded = report.status !== "ok";
  el.health.dataset.status = degraded ? "degraded" : "ok";
  if (!degraded) applyModelDefaults(report.defaults);
  el.health.dataset.mode = report.mock ? "mock" : "real";

  setText(el.mode, report.mock ? "mock" : "real model");
  el.mode.dataset.tone = report.mock ? "warn" : "ok";
  el.mode.title = report.mock
    ? "Demo mode: images are placeholders, not model output."
    : "Images come from the Stable Diffusion model.";

  const device = report.device ?? {};
  const fallback = device.fallback_reason;
  setText(el.device, fallback
    ? `${device.target} → ${device.active} fallback`
    : `device ${device.active ?? "?"}`);
  el.device.title = fallback ? `Fell back: ${fallback}` : `Requested ${device.target}`;
  el.device.dataset.tone = fallback ? "warn" : "";
  if (fallback) {
    // Focusable, so keyboard users can reach the reason that the tooltip shows on hover.
    el.device.tabIndex = 0;
    el.device.setAttribute("aria-label",
                           `${device.target} to ${device.active} fallback: ${fallback}`);
  } else {
    el.device.removeAttribute("tabindex");
    el.device.removeAttribute("aria-label");
  }
  setHidden(el.device, false);

  const model = report.model ?? {};
  setText(el.model, model.cached ? "model cached" : "model not downloaded");
  el.model.title = `${model.repo_id ?? "model"} in ${model.dir ?? "?"}`;
  el.model.dataset.tone = model.cached || report.mock ? "" : "warn";
  setHidden(el.model, false);

  renderQueue(report.queue);
  renderBanner(degraded ? {
    title: "The service is degraded.",
    reason: report.reason ?? "It cannot generate images right now.",
  } : null);
}

/** "1 running · 2 waiting" across every client of the service; hidden when idle. */
function renderQueue(queue) {
  const running = queue?.running ?? 0;
  const queued = queue?.queued ?? 0;
  const parts = [];
  if (running) parts.push(`${running} running`);
  if (queued) parts.push(`${queued} waiting`);
  setText(el.queue, parts.join(" · "));
  el.queue.title = "Jobs in the service's queue, from every page and client";
  setHidden(el.queue, parts.length === 0);
}

function renderHealthUnreachable() {
  el.health.dataset.status = "offline";
  delete el.health.dataset.mode;
  setText(el.mode, "offline");
  el.mode.dataset.tone = "error";
  el.mode.title = "The service does not answer /health.";
  setHidden(el.device, true);
  setHidden(el.model, true);
  setHidden(el.queue, true);
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
  setTextWithCode(el.bannerReason, banner.reason);
  setHidden(el.banner, false);
}

/** Ask /health now (unless a request is out or the tab is hidden), then every few seconds. */
export async function pollHealth() {
  clearTimeout(poll.timer);
  if (!document.hidden && !poll.inFlight) {
    poll.inFlight = true;
    try {
      const report = await api.health();
      renderHealth(report);
      poll.onReport?.(report);
    } catch {
      renderHealthUnreachable();
    } finally {
      poll.inFlight = false;
    }
  }
  poll.timer = setTimeout(pollHealth, HEALTH_POLL_MS);
}

/** `onReport(report)` gets every /health answer, e.g. for the service's limits. */
export function initHealth({ onReport } = {}) {
  poll.onReport = onReport ?? null;
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) pollHealth();
  });
  pollHealth();
}
