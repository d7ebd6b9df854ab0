// Hand-written fakes for the session and "Run again" unit tests: an API whose answers the
// test scripts, one per call, and which records every call it gets.

"use strict";

import { ApiError } from "/static/api.js";

/**
 * An API with scripted answers: `answers` maps a method name to a list, one answer per
 * call, each a value to resolve with or an Error to throw. `calls` records [name, ...args].
 */
export function scriptedApi(answers) {
  const calls = [];
  const api = { calls };
  for (const [name, list] of Object.entries(answers)) {
    api[name] = async (...args) => {
      calls.push([name, ...args]);
      if (list.length === 0) throw new Error(`no answer for ${name} call`);
      const answer = list.shift();
      if (answer instanceof Error) throw answer;
      return answer;
    };
  }
  return api;
}

/** The error shape's ApiError, as requestJson throws it for an HTTP error. */
export function httpError(status, type, message, retryAfter = null) {
  return new ApiError({ status, type, message, retryAfter });
}

export const signedOut = { auth_required: true, signed_in: false, client: null };
export const signedIn = (client) => ({ auth_required: true, signed_in: true, client });
export const noKeys = { auth_required: false, signed_in: false, client: null };

/** A job as GET /jobs lists it; `changes` on top. */
export function listedJob(id, changes = {}) {
  return {
    job_id: id,
    status: "succeeded",
    seed: 99,
    params: { prompt: `prompt of ${id}`, negative_prompt: null, num_inference_steps: 9,
              guidance_scale: 6.5, width: 320, height: 256, seed: 99, scheduler: null,
              num_images: 1 },
    progress: { step: 9, total: 9 },
    images: [],
    error: null,
    urls: { self: `/jobs/${id}`, events: `/jobs/${id}/events` },
    ...changes,
  };
}

export const interruptedError = {
  type: "interrupted",
  message: "The service stopped while this job was running: submit it again.",
};

/** What the sign-in part of the page shows now. */
export function signInView() {
  const part = (id) => document.getElementById(id);
  return {
    session: document.documentElement.dataset.session ?? null,
    form: !part("sign-in").hidden,
    app: getComputedStyle(document.querySelector("main")).display !== "none",
    error: part("sign-in-error").hidden ? null : part("sign-in-error").textContent,
    invalid: part("sign-in-key").getAttribute("aria-invalid"),
    focused: document.activeElement?.id ?? null,
    account: part("account").hidden ? null : part("account-name").textContent,
    key: part("sign-in-key").value,
  };
}

/** The page's stylesheet, so that what it hides (signed out) is hidden here too. */
export function loadStyles() {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/static/styles.css";
  const loaded = new Promise((resolve, reject) => {
    link.addEventListener("load", resolve, { once: true });
    link.addEventListener("error", reject, { once: true });
  });
  document.head.append(link);
  return loaded;
}
