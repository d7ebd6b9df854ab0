// Hand-written fakes for the UI's unit tests: what watchJob talks to (an event stream,
// GET /jobs/{id}, a timer) and the real page's markup. Each records what happened to it,
// and the tests return those records to pytest, which asserts on them.

"use strict";

import { ApiError } from "/static/api.js";
import { watchJob } from "/static/job_watch.js";

/** An EventSource that the test drives: emit(name, data) and fail() deliver events. */
export class FakeEventSource {
  constructor(url) {
    this.url = url;
    this.closed = false;
    this.listeners = new Map();
  }

  addEventListener(name, listener) {
    if (!this.listeners.has(name)) this.listeners.set(name, []);
    this.listeners.get(name).push(listener);
  }

  close() {
    this.closed = true;
  }

  /** `data` goes out as JSON, or as it is when it is already a string (a malformed event). */
  emit(name, data = {}) {
    if (this.closed) return;
    const text = typeof data === "string" ? data : JSON.stringify(data);
    for (const listener of this.listeners.get(name) ?? []) listener({ type: name, data: text });
  }

  /** The connection broke (the browser's `error` event, without data). */
  fail() {
    if (this.closed) return;
    for (const listener of this.listeners.get("error") ?? []) listener({ type: "error" });
  }
}

/**
 * Everything a watch talks to, scripted: `answers` is what GET /jobs/{id} gives, one per
 * call, each a job or an Error to throw. The timer only fires when the test says so.
 */
export function fakeIo(answers = []) {
  const io = {
    streams: [],
    getJobCalls: [],
    timers: new Map(),
    nextTimer: 1,
    openEvents: (url) => {
      const stream = new FakeEventSource(url);
      io.streams.push(stream);
      return stream;
    },
    getJob: async (jobId) => {
      io.getJobCalls.push(jobId);
      if (answers.length === 0) throw new Error(`no answer for call ${io.getJobCalls.length}`);
      const answer = answers.shift();
      if (answer instanceof Error) throw answer;
      return answer;
    },
    later: (fn, ms) => {
      const id = io.nextTimer++;
      io.timers.set(id, { fn, ms });
      return id;
    },
    cancelLater: (id) => io.timers.delete(id),
    /** Fire the one pending timer (the watch's next poll). */
    fire: () => {
      if (io.timers.size !== 1) throw new Error(`${io.timers.size} timers pending, not 1`);
      const [[id, { fn }]] = io.timers;
      io.timers.delete(id);
      fn();
    },
    pendingDelays: () => Array.from(io.timers.values(), ({ ms }) => ms),
    get stream() {
      return io.streams.at(-1);
    },
  };
  return io;
}

/** Handlers that record each call as [name, argument], in order. */
export function recordingHandlers() {
  const calls = [];
  const handlers = {};
  for (const name of ["queued", "started", "progress", "preview", "snapshot", "streamLost",
                      "unreachable"]) {
    handlers[name] = (arg) => calls.push([name, arg instanceof Error ? arg.message : arg ?? null]);
  }
  return { calls, handlers };
}

/** What a settled promise came to, for pytest: {resolved} or {rejected}, or "pending". */
export function outcome(promise) {
  const state = { value: "pending" };
  promise.then((value) => { state.value = { resolved: value }; },
               (error) => { state.value = { rejected: String(error?.message ?? error) }; });
  return state;
}

/** Let every promise chain the fakes started run to its end: all of them answer at once. */
export function settle() {
  return new Promise((resolve) => { setTimeout(resolve, 0); });
}

/** Put the real page's parts (form, header, result, gallery) into this page, unwired. */
export async function loadPageMarkup() {
  const html = await (await fetch("/", { cache: "no-store" })).text();
  const page = new DOMParser().parseFromString(html, "text/html");
  // A copy first: adopting a node takes it out of the live list being walked.
  const parts = Array.from(page.body.children);
  document.body.replaceChildren(...parts.map((node) => document.adoptNode(node)));
}

/** A job as POST /jobs answers it, with `changes` on top. */
export function job(changes = {}) {
  return {
    job_id: "job-1",
    status: "queued",
    queue_position: 1,
    params: { prompt: "a test", num_inference_steps: 20, num_images: 1 },
    progress: { step: 0, total: 20 },
    images: [],
    error: null,
    urls: { self: "/jobs/job-1", events: "/jobs/job-1/events" },
    ...changes,
  };
}

/** An ApiError as the page's calls throw it: status 0 is "the service is not there". */
export function apiError(status = 0, message = "Cannot reach the service.") {
  return new ApiError({ status, type: status ? "http_error" : "network_error", message });
}

/** watchJob on job() with recording handlers and scripted I/O; `events: false` polls only. */
export function startWatch(answers = [], { events = true } = {}) {
  const io = fakeIo(answers);
  if (!events) io.openEvents = null;
  const { calls, handlers } = recordingHandlers();
  const watch = watchJob(job(), handlers, io);
  return { io, calls, watch, done: outcome(watch.done) };
}

/** What a test returns to pytest about a watch: its calls, outcome, stream and timers. */
export function report(started) {
  const { io, calls, done } = started;
  return {
    calls,
    done: done.value,
    streamUrl: io.streams[0]?.url ?? null,
    streamClosed: io.streams.every((stream) => stream.closed),
    getJobCalls: io.getJobCalls.length,
    timers: io.pendingDelays(),
  };
}
