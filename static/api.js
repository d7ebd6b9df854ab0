// Every HTTP call of the page, the one error type they throw, and following a job to its end.

"use strict";

const HEALTH_TIMEOUT_MS = 4000;
const POLL_MS = 1000;
export const FINAL_STATUSES = new Set(["succeeded", "failed", "cancelled"]);

/** Any failed call: an HTTP error with the service's error body, or a network failure. */
export class ApiError extends Error {
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

const jobPath = (jobId) => `/jobs/${encodeURIComponent(jobId)}`;

export const api = {
  /** POST /jobs: queue a generation; resolves with the queued job (202). */
  submitJob(params) {
    return requestJson("/jobs", { method: "POST", body: params });
  },
  /** GET /jobs/{id}: the job as it is now. */
  getJob(jobId, { signal } = {}) {
    return requestJson(jobPath(jobId), { signal, cache: "no-store" });
  },
  /** DELETE /jobs/{id}: cancel a queued or running job; resolves with the job. */
  cancelJob(jobId) {
    return requestJson(jobPath(jobId), { method: "DELETE" });
  },
  /** GET /images: finished jobs, newest first, `limit` at a time after `before`. */
  listImages({ limit, before = null } = {}) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before) query.set("before", before);
    return requestJson(`/images?${query}`, { cache: "no-store" });
  },
  /** DELETE /images/{job_id}: remove a job's images and its record. */
  deleteImages(jobId) {
    return requestJson(`/images/${encodeURIComponent(jobId)}`, { method: "DELETE" });
  },
  /** GET /health: the service's status, mode, device, model and queue. */
  health({ signal } = {}) {
    return requestJson("/health", { signal: timeoutSignal(HEALTH_TIMEOUT_MS, signal),
                                    cache: "no-store" });
  },
};

/**
 * Follow a job until it ends, through its event stream; if the stream breaks, by asking
 * GET /jobs/{id} every second instead. Returns {done, settle, stop}:
 *   done    resolves with the final job JSON, fetched so that it carries the images; for a
 *           job that failed or was cancelled while the service went away (it stops with
 *           its jobs cancelled), the final event's own data stands in for it
 *   settle  ends the watch early with a final job the caller already has (a cancel's answer)
 *   stop    gives up without an answer; `done` then never resolves
 * Handlers (all optional): queued({queue_position}), started({device}),
 * progress({step, total, eta_seconds}), preview({step, image}), snapshot(job) for a polled
 * job that is not final, streamLost(), unreachable(error).
 * `io` swaps what the watch talks to, for the unit tests: openEvents(url) (an EventSource,
 * or null to poll only), getJob(jobId), later(fn, ms) and cancelLater(id) (the poll's timer).
 */
export function watchJob(job, handlers = {}, io = {}) {
  const {
    openEvents = typeof EventSource === "function" ? (url) => new EventSource(url) : null,
    getJob = (jobId) => api.getJob(jobId),
    later = (fn, ms) => setTimeout(fn, ms),
    cancelLater = (id) => clearTimeout(id),
  } = io;
  let source = null;
  let pollTimer = null;
  let finished = false;
  let lastProgress = null;
  let resolveDone;
  let rejectDone;
  const done = new Promise((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });

  const close = () => {
    finished = true;
    source?.close();
    source = null;
    cancelLater(pollTimer);
  };
  const settle = (final) => {
    if (finished || !FINAL_STATUSES.has(final?.status)) return;
    close();
    resolveDone(final);
  };

  async function poll() {
    if (finished) return;
    try {
      const current = await getJob(job.job_id);
      if (finished) return;
      if (FINAL_STATUSES.has(current.status)) {
        settle(current);
        return;
      }
      handlers.snapshot?.(current);
    } catch (error) {
      if (finished) return;
      if (error instanceof ApiError && error.status === 404) {
        close();
        rejectDone(error);
        return;
      }
      handlers.unreachable?.(error);
    }
    pollTimer = later(poll, POLL_MS);
  }

  function listen(name, handler) {
    source.addEventListener(name, (event) => {
      if (finished) return;
      let data = {};
      try {
        data = JSON.parse(event.data || "{}") ?? {};
      } catch {
        data = {};
      }
      handler(data);
    });
  }

  if (openEvents === null) {
    poll();
  } else {
    source = openEvents(job.urls?.events ?? `${jobPath(job.job_id)}/events`);
    listen("queued", (data) => handlers.queued?.(data));
    listen("started", (data) => handlers.started?.(data));
    listen("progress", (data) => {
      lastProgress = { step: data.step, total: data.total };
      handlers.progress?.(data);
    });
    listen("preview", (data) => handlers.preview?.(data));
    for (const name of FINAL_STATUSES) {
      // The event says that it ended; the job JSON says with which images or error.
      listen(name, async (data) => {
        source?.close();
        source = null;
        if (name === "succeeded") {
          poll();
          return;
        }
        try {
          const current = await getJob(job.job_id);
          if (FINAL_STATUSES.has(current.status)) settle(current);
          else poll();
        } catch (error) {
          if (finished) return;
          if (error instanceof ApiError && error.status === 404) {
            poll();  // says why the job is gone
            return;
          }
          // The service stopped right after it (a shutdown cancels every job): what the
          // event says is all there is to show, with no images to wait for.
          settle({ ...job, status: name, error: data.error ?? null, images: [],
                   progress: lastProgress ?? job.progress });
        }
      });
    }
    source.addEventListener("error", () => {
      if (finished || source === null) return;
      source.close();
      source = null;
      handlers.streamLost?.();
      poll();
    });
  }

  return { done, settle, stop: close };
}
