"""session.js's SessionGate and api.js's 401 hook, alone, on the real page's markup.

The gate talks to a scripted API (tests/browser/units/session_fakes.js) that records its
calls; the tests assert on those records and on what the page shows.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

# The real markup and styles, a gate on a scripted API, and what it told the controller.
GATE = """
const fakes = await import("/__units__/session_fakes.js");
const { scriptedApi, httpError, signedOut, signedIn, noKeys, signInView } = fakes;
await window.fakes.loadPageMarkup();
await fakes.loadStyles();
delete document.documentElement.dataset.session;
const { SessionGate } = await import("/static/session.js");
const told = [];
const gateOn = (answers) => {
  const api = scriptedApi(answers);
  const gate = new SessionGate(document, {
    api,
    onOpen: () => told.push("open"),
    onClosed: () => told.push("closed"),
    afterSignIn: () => document.getElementById("prompt").focus(),
  });
  return { api, gate };
};
const submit = (key) => {
  document.getElementById("sign-in-key").value = key;
  document.getElementById("sign-in-form").requestSubmit();
};
const settled = () => new Promise((resolve) => { setTimeout(resolve, 0); });
"""


def run(page: Page, body: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(f"async () => {{ {GATE} {body} }}")
    return result


def test_a_service_with_keys_opens_to_the_sign_in_form_alone(units_page: Page) -> None:
    record = run(
        units_page,
        """
        const { api, gate } = gateOn({ session: [signedOut] });
        await gate.check();
        return { view: signInView(), told, calls: api.calls };
        """,
    )
    assert record["view"] == {
        "session": "signed-out",
        "form": True,
        "app": False,
        "error": None,
        "invalid": None,
        "focused": "sign-in-key",
        "account": None,
        "key": "",
    }
    assert record["told"] == ["closed"]
    assert record["calls"] == [["session"]]


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        ("httpError(401, 'unauthorized', 'The API key is wrong.')", "The API key is wrong."),
        (
            "httpError(429, 'rate_limited', 'Too many wrong keys.', 42)",
            "Too many tries. Wait 42 s, then try again.",
        ),
        ("httpError(0, 'network_error', 'Cannot reach the service.')", "Cannot reach the service."),
    ],
)
def test_a_refused_key_says_why_in_the_forms_error_line(
    units_page: Page, error: str, shown: str
) -> None:
    record = run(
        units_page,
        f"""
        const {{ api, gate }} = gateOn({{ session: [signedOut], signIn: [{error}] }});
        await gate.check();
        submit("k-wrong");
        await settled();
        const key = document.getElementById("sign-in-key");
        return {{ view: signInView(), told, calls: api.calls,
                  selected: key.value.slice(key.selectionStart, key.selectionEnd) }};
        """,
    )
    assert record["view"]["error"] == shown
    assert record["view"]["invalid"] == "true"
    assert record["view"]["form"] is True
    assert record["view"]["app"] is False
    assert record["selected"] == "k-wrong", "the key is selected, ready to be typed again"
    assert record["calls"] == [["session"], ["signIn", "k-wrong"]]
    assert record["told"] == ["closed"]


def test_the_right_key_opens_the_page_and_leaves_no_trace_of_itself(units_page: Page) -> None:
    record = run(
        units_page,
        """
        const { api, gate } = gateOn({ session: [signedOut, signedIn("teacher")],
                                       signIn: [null] });
        await gate.check();
        submit("   ");
        await settled();
        const blank = signInView().error;
        submit("k-123");
        await settled();
        await settled();
        return { blank, view: signInView(), told, calls: api.calls,
                 stored: localStorage.length + sessionStorage.length,
                 url: location.href, cookie: document.cookie };
        """,
    )
    assert record["blank"] == "Enter the API key."
    assert record["view"] == {
        "session": "signed-in",
        "form": False,
        "app": True,
        "error": None,
        "invalid": None,
        "focused": "prompt",
        "account": "Signed in as teacher",
        "key": "",
    }
    assert record["told"] == ["closed", "open"]
    # The key went out in the sign-in call and nowhere else.
    assert record["calls"] == [["session"], ["signIn", "k-123"], ["session"]]
    assert record["stored"] == 0
    assert "k-123" not in record["url"]
    assert "k-123" not in record["cookie"]


def test_signing_out_brings_the_form_back(units_page: Page) -> None:
    record = run(
        units_page,
        """
        const { api, gate } = gateOn({ session: [signedIn("teacher")], signOut: [null] });
        await gate.check();
        const before = signInView();
        document.getElementById("sign-out").click();
        await settled();
        return { before, after: signInView(), told, calls: api.calls };
        """,
    )
    assert record["before"]["account"] == "Signed in as teacher"
    assert record["before"]["form"] is False
    assert record["after"]["form"] is True
    assert record["after"]["account"] is None
    assert record["after"]["focused"] == "sign-in-key"
    assert record["told"] == ["open", "closed"]
    assert record["calls"] == [["session"], ["signOut"]]


def test_a_failed_sign_out_says_so_and_keeps_the_page(units_page: Page) -> None:
    record = run(
        units_page,
        """
        const { gate } = gateOn({ session: [signedIn("teacher")],
                                  signOut: [httpError(0, "network_error", "No answer.")] });
        await gate.check();
        document.getElementById("sign-out").click();
        await settled();
        return { view: signInView(), told,
                 error: document.getElementById("account-error").textContent };
        """,
    )
    assert record["view"]["form"] is False
    assert record["error"] == "Could not sign out: No answer."
    assert record["told"] == ["open"]


@pytest.mark.parametrize(
    "answer",
    ["noKeys", "httpError(404, 'not_found', 'No route.')", "httpError(0, 'network_error', 'x')"],
)
def test_without_keys_or_without_a_session_route_the_page_opens_as_before(
    units_page: Page, answer: str
) -> None:
    record = run(
        units_page,
        f"""
        const {{ gate }} = gateOn({{ session: [{answer}] }});
        await gate.check();
        return {{ view: signInView(), told }};
        """,
    )
    assert record["view"]["form"] is False
    assert record["view"]["app"] is True
    assert record["view"]["account"] is None, "no sign-out where nobody signs in"
    assert record["told"] == ["open"]


def test_a_401_from_any_call_but_the_sign_in_tells_the_page(units_page: Page) -> None:
    # fetch itself is faked: requestJson's handling of the answer is what is tested.
    record = units_page.evaluate(
        """async () => {
          const { api, onUnauthorized } = await import("/static/api.js");
          const heard = [];
          onUnauthorized((reason) => heard.push(reason));
          const answers = { "GET /health": 401, "POST /session": 401, "GET /jobs": 200 };
          window.fetch = async (url, { method = "GET" } = {}) => {
            const status = answers[`${method} ${new URL(url, location.href).pathname}`];
            const body = status === 200 ? { jobs: [] }
              : { error: { type: "unauthorized", message: "This service needs an API key.",
                           details: [], request_id: "r1" } };
            return new Response(JSON.stringify(body), { status,
              headers: { "Content-Type": "application/json" } });
          };
          const outcome = async (call) => {
            try { await call(); return "ok"; } catch (error) {
              return [error.status, error.type, error.message];
            }
          };
          const health = await outcome(() => api.health());
          const afterHealth = heard.length;
          const signIn = await outcome(() => api.signIn("k-wrong"));
          const afterSignIn = heard.length;
          const jobs = await outcome(() => api.listJobs());
          return { health, afterHealth, signIn, afterSignIn, jobs, heard };
        }"""
    )
    assert record["health"] == [401, "unauthorized", "This service needs an API key."]
    assert record["afterHealth"] == 1
    assert record["signIn"] == [401, "unauthorized", "This service needs an API key."]
    assert record["afterSignIn"] == 1, "a wrong key is the form's to show, not a new sign-in"
    assert record["jobs"] == "ok"
    assert record["heard"] == ["This service needs an API key."]


def test_a_session_that_ended_while_in_use_brings_the_form_back_saying_why(
    units_page: Page,
) -> None:
    record = run(
        units_page,
        """
        const { gate } = gateOn({ session: [signedIn("teacher")] });
        await gate.check();
        gate.close("The session has expired: sign in again.");
        gate.close("This service needs an API key.");  // the next 401 changes nothing
        return { view: signInView(), told };
        """,
    )
    assert record["view"]["form"] is True
    assert record["view"]["app"] is False
    assert record["view"]["error"] == "The session has expired: sign in again."
    assert record["view"]["invalid"] is None, "the key field is empty, not wrong"
    assert record["view"]["focused"] == "sign-in-key"
    assert record["told"] == ["open", "closed"]


def test_health_paused_by_a_401_neither_says_offline_nor_asks_again(units_page: Page) -> None:
    record = units_page.evaluate(
        """async () => {
          const { HealthMonitor } = await import("/static/health.js");
          await window.fakes.loadPageMarkup();
          let asked = 0;
          const monitor = new HealthMonitor({
            badge: document.getElementById("health"),
            banner: document.getElementById("health-banner"),
            fetchHealth: async () => {
              asked += 1;
              monitor.pause();  // what the 401 hook does, before the call throws
              throw new Error("401");
            },
          });
          monitor.start();
          await new Promise((resolve) => { setTimeout(resolve, 0); });
          return { asked, status: document.getElementById("health").dataset.status,
                   banner: document.getElementById("health-banner").hidden,
                   timer: monitor.paused };
        }"""
    )
    assert record == {"asked": 1, "status": "unknown", "banner": True, "timer": True}
