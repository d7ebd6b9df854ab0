// Every HTTP call of the page and the one error type they throw. Following a job to its
// end is job_watch.js's.

"use strict";

const HEALTH_TIMEOUT_MS = 4000;
const UPLOAD_TYPES = new Set(["image/png", "image/jpeg", "image/webp"]);

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

/** Who hears that a call was refused for want of a key (see onUnauthorized). */
let unauthorizedListener = null;

/**
 * Call `listener(message)` whenever the service answers 401 to a call other than the
 * session's own: the page has no (or no longer a) session and must ask for a key; the
 * message says why ("The session has expired: sign in again."). The call still throws.
 */
export function onUnauthorized(listener) {
  unauthorizedListener = listener;
}

function timeoutSignal(ms, outer) {
  const controller = new AbortController();
  const timeout = () => controller.abort(new DOMException("Timed out", "TimeoutError"));
  const timer = setTimeout(timeout, ms);
  outer?.addEventListener("abort", () => controller.abort(outer.reason), { once: true });
  controller.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  return controller.signal;
}

/**
 * `session`: a call of the sign-in itself, whose 401 (a wrong key) is the form's to show,
 * not a reason to ask for a key. `empty`: the answer has no body (204). `raw`: a Blob
 * sent as the body with its own type, or FormData, in place of a JSON `body`.
 */
async function requestJson(url, { method = "GET", body, raw, signal, cache, session = false,
                                  empty = false } = {}) {
  let headers = { Accept: "application/json" };
  let payload;
  if (raw instanceof FormData) {
    payload = raw;  // the browser writes the multipart Content-Type with its boundary
  } else if (raw !== undefined) {
    // A file as it is (an upload): its own type, no JSON around it.
    headers = { ...headers, "Content-Type": raw.type || "application/octet-stream" };
    payload = raw;
  } else if (body !== undefined) {
    headers = { ...headers, "Content-Type": "application/json" };
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, { method, signal, cache, headers, body: payload });
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
    const message = error.message
      ?? `The service answered ${response.status} ${response.statusText}.`;
    if (response.status === 401 && !session) unauthorizedListener?.(message);
    throw new ApiError({
      status: response.status,
      type: error.type ?? "http_error",
      message,
      details: Array.isArray(error.details) ? error.details : [],
      requestId: error.request_id ?? response.headers.get("X-Request-ID"),
      retryAfter: Number.isFinite(retry) ? retry : null,
    });
  }
  if (empty) return null;
  if (data === null) {
    throw new ApiError({ status: response.status, type: "bad_response",
                         message: "The service sent an unreadable answer." });
  }
  return data;
}

export const jobPath = (jobId) => `/jobs/${encodeURIComponent(jobId)}`;

export const api = {
  /** POST /jobs: queue a generation; resolves with the queued job (202). */
  submitJob(params) {
    return requestJson("/jobs", { method: "POST", body: params });
  },
  /** GET /jobs: the jobs the service remembers, newest first, as {jobs}. */
  listJobs() {
    return requestJson("/jobs", { cache: "no-store" });
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
  /**
   * POST /uploads: store an input image (a File or Blob). An image type the service takes
   * goes as the body; anything else in a form, where the service looks at the bytes and
   * says what the file is ("text, not an image") rather than only refusing its type.
   */
  uploadImage(blob) {
    if (UPLOAD_TYPES.has(blob.type)) return requestJson("/uploads", { method: "POST", raw: blob });
    const form = new FormData();
    form.append("file", blob, blob.name || "upload");
    return requestJson("/uploads", { method: "POST", raw: form });
  },
  /** GET /health: the service's status, mode, device, model and queue. */
  health({ signal } = {}) {
    return requestJson("/health", { signal: timeoutSignal(HEALTH_TIMEOUT_MS, signal),
                                    cache: "no-store" });
  },
  /** GET /session: {auth_required, signed_in, client}. */
  session() {
    return requestJson("/session", { cache: "no-store", session: true });
  },
  /** POST /session: trade a key for the session cookie; the key goes nowhere else. */
  signIn(key) {
    return requestJson("/session", { method: "POST", body: { key }, session: true,
                                     empty: true });
  },
  /** DELETE /session: the cookie is cleared. */
  signOut() {
    return requestJson("/session", { method: "DELETE", session: true, empty: true });
  },
};
