// Following a job until it ends: its event stream, or GET /jobs/{id} every second when
// the stream breaks.

"use strict";

import { ApiError, api, jobPath } from "./api.js";

const POLL_MS = 1000;
export const FINAL_STATUSES = new Set(["succeeded", "failed", "cancelled"]);

/**
 * Follow a job until it ends, through its event stream; if the stream breaks, by asking
 * GET /jobs/{id} every second instead. Returns {done, settle, stop}:
 *   done    resolves with the final job JSON, fetched so that it carries the images; for a
 *           job that failed or was cancelled while the service went away (it stops with
 *           its jobs cancelled), the final event's own data stands in for it
 *   settle  ends the watch early with a final job the caller already has (a cancel's answer)
 *   stop    gives up without an answer; `done` then never resolves
 * A poll that finds the job gone (404) or the session ended (401) rejects `done` with
 * that ApiError.
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
      // 404: the job is gone. 401: signed out; asking every second without a key would
      // only count as failed sign-ins against this address.
      if (error instanceof ApiError && (error.status === 404 || error.status === 401)) {
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
