// Signing in with an API key when the service is shared, and signing out.
// The key goes from the password field into POST /session's body and nowhere else (no
// variable outlives the call, nothing is stored, no URL carries it): the service answers
// with an HttpOnly cookie, which every later call, event stream and image load carries.

"use strict";

import { setHidden, setText } from "./dom.js";

const NO_SESSION = { auth_required: false, signed_in: false, client: null };

/** What a failed sign-in says in the form's error line. */
export function signInError(error) {
  if (error?.status === 429) {
    const wait = error.retryAfter !== null && error.retryAfter !== undefined
      ? `${error.retryAfter} s` : "a minute";
    return `Too many tries. Wait ${wait}, then try again.`;
  }
  return error?.message || "Could not sign in.";
}

export class SessionGate {
  /**
   * `doc` is the page: while a key is needed its `data-session` is "signed-out" and the
   * parts marked `data-needs-session` are hidden (styles.css), so nothing behind the
   * form shows errors. `api` has session(), signIn(key) and signOut(). `onOpen()` runs
   * whenever the page may use the API (at start when no key is needed, after each
   * sign-in); `onClosed()` when it no longer may. `afterSignIn()` takes the keyboard
   * focus from the form that goes away.
   */
  constructor(doc, { api, onOpen, onClosed, afterSignIn = () => {} }) {
    const part = (id) => doc.getElementById(id);
    this.doc = doc;
    this.el = {
      panel: part("sign-in"),
      form: part("sign-in-form"),
      key: part("sign-in-key"),
      error: part("sign-in-error"),
      submit: part("sign-in-submit"),
      account: part("account"),
      name: part("account-name"),
      signOut: part("sign-out"),
      accountError: part("account-error"),
    };
    Object.assign(this, { api, onOpen, onClosed, afterSignIn });
    /** "unknown" until the service said; then "open" (no key needed or signed in) or "closed". */
    this.state = "unknown";
    this.pending = false;
    this.el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.signIn();
    });
    this.el.signOut.addEventListener("click", () => this.signOut());
  }

  /** Ask the service whether this page needs a key, and show the page or the form. */
  async check() {
    let session;
    try {
      session = await this.api.session();
    } catch {
      // An older service has no /session, or none answers (the health badge says so):
      // carry on without a key; a 401 from any later call still asks for one.
      session = NO_SESSION;
    }
    if (session.auth_required && !session.signed_in) this.close();
    else this.open(session);
    return session;
  }

  /**
   * A key is needed (GET /session said so, or a call answered 401): show the form, with
   * `reason` (the 401's message: a session that expired) in its error line.
   */
  close(reason = null) {
    if (this.state === "closed") return;
    this.state = "closed";
    this.doc.documentElement.dataset.session = "signed-out";
    setHidden(this.el.account, true);
    this.showError(reason, { invalid: false });
    setHidden(this.el.panel, false);
    this.el.key.focus();
    this.onClosed();
  }

  open(session) {
    const wasOpen = this.state === "open";
    this.state = "open";
    this.doc.documentElement.dataset.session = session.auth_required ? "signed-in" : "open";
    setHidden(this.el.panel, true);
    this.showError(null);
    const named = session.auth_required && session.signed_in;
    setText(this.el.name, session.client ? `Signed in as ${session.client}` : "Signed in");
    setHidden(this.el.account, !named);
    setHidden(this.el.accountError, true);
    if (!wasOpen) this.onOpen();
  }

  /** `invalid`: the text is about the key typed (not, say, an expired session). */
  showError(text, { invalid = true } = {}) {
    setText(this.el.error, text ?? "");
    setHidden(this.el.error, !text);
    if (text && invalid) this.el.key.setAttribute("aria-invalid", "true");
    else this.el.key.removeAttribute("aria-invalid");
  }

  renderPending(pending) {
    this.pending = pending;
    this.el.submit.disabled = pending;
    setText(this.el.submit, pending ? "Signing in…" : "Sign in");
  }

  async signIn() {
    if (this.pending) return;
    if (!this.el.key.value.trim()) {
      this.showError("Enter the API key.");
      this.el.key.focus();
      return;
    }
    this.renderPending(true);
    try {
      await this.api.signIn(this.el.key.value);
    } catch (error) {
      this.showError(signInError(error));
      this.el.key.select();
      return;
    } finally {
      this.renderPending(false);
    }
    this.el.key.value = "";
    const session = await this.check();
    if (this.state === "open") this.afterSignIn();
    if (this.state === "closed" && session.auth_required) {
      // Accepted, yet the next request came without the cookie.
      this.showError("The key was accepted but this browser did not keep the session cookie "
        + "(a service with HTTPS set up must be opened over https://).");
    }
  }

  async signOut() {
    this.el.signOut.disabled = true;
    try {
      await this.api.signOut();
    } catch (error) {
      setText(this.el.accountError, `Could not sign out: ${error.message}`);
      setHidden(this.el.accountError, false);
      return;
    } finally {
      this.el.signOut.disabled = false;
    }
    this.close();
  }
}
