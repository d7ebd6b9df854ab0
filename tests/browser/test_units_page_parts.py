"""The UI's parts alone, in Chromium: dom.js's words, the request form, the health monitor.

The form and the monitor are built on the real page's markup (fetched from the server and
put into a blank page, unwired), with the bounds and reports the tests hand them.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

EMOJI = "\N{GRINNING FACE}"
BOUNDS: dict[str, dict[str, int]] = {
    "prompt": {"max_chars": 1000},
    "negative_prompt": {"max_chars": 1000},
    "num_inference_steps": {"min": 1, "max": 100},
    "guidance_scale": {"min": 0, "max": 20},
    "width": {"min": 64, "max": 1024, "multiple_of": 8},
    "height": {"min": 64, "max": 1024, "multiple_of": 8},
    "seed": {"min": 0, "max": 4294967295},
    "num_images": {"min": 1, "max": 4},
}

# The real form, wired to record what it hands on; `values` fills fields by name.
FORM = """
const { RequestForm } = await import("/static/form.js");
await window.fakes.loadPageMarkup();
const submitted = [];
const invalid = [];
const form = new RequestForm(document.getElementById("generate-form"), {
  onSubmit: (body) => submitted.push(body),
  onInvalid: (labels) => invalid.push(labels),
  isBusy: () => false,
});
const fields = document.getElementById("generate-form").elements;
const fill = (values) => {
  for (const [name, value] of Object.entries(values)) fields.namedItem(name).value = value;
};
const errors = () => Object.fromEntries(form.read().errors.map((e) => [e.field, e.message]));
"""


def words(page: Page, expression: str) -> Any:
    """Evaluate ``expression`` with dom.js's exports in scope."""
    return page.evaluate(
        f"async () => {{ const dom = await import('/static/dom.js'); return {expression}; }}"
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("dom.formatDuration(999.4)", "999 ms"),
        ("dom.formatDuration(1530)", "1.5 s"),
        ("dom.formatDuration(119_600)", "2 min"),
        ("dom.formatDuration(430_000)", "7 min 10 s"),
        ("dom.formatSeconds(44.2)", "45 s"),
        ("dom.formatSeconds(300)", "5 min"),
        ("dom.formatEta(null)", ""),
        ("dom.formatEta(Number.NaN)", ""),
        ("dom.formatEta(0.4)", "almost done"),
        ("dom.formatEta(12)", "about 12 s left"),
        ("dom.formatEta(430)", "about 7 min 10 s left"),
        ("dom.truncate('  a  lighthouse\\n at dusk ', 40)", "a lighthouse at dusk"),
        ("dom.truncate('a lighthouse at dusk', 10)", "a lightho\N{HORIZONTAL ELLIPSIS}"),
        (f"dom.truncate('{EMOJI * 5}', 3)", f"{EMOJI * 2}\N{HORIZONTAL ELLIPSIS}"),
        ("dom.downloadName({job_id: '0123456789abcdef'}, {seed: 42})", "sd-42-01234567.png"),
        ("dom.schedulerLabel(null)", "model default"),
        ("dom.schedulerLabel('euler', new Map([['euler', 'Euler']]))", "Euler"),
        ("dom.schedulerLabel('someday')", "someday"),
    ],
)
def test_values_in_words(units_page: Page, expression: str, expected: str) -> None:
    assert words(units_page, expression) == expected


def test_the_form_takes_its_bounds_from_the_service_and_checks_against_them(
    units_page: Page,
) -> None:
    record = units_page.evaluate(
        f"""async (bounds) => {{ {FORM}
          const before = errors();
          fill({{ prompt: "a lighthouse", width: "4096" }});
          const permissive = errors();
          form.applyBounds(bounds);
          const width = fields.namedItem("width");
          const attributes = [width.min, width.max, width.step];
          const checked = {{}};
          for (const [name, value] of [["width", "4096"], ["width", "100"],
                                       ["num_inference_steps", "2.5"],
                                       ["num_inference_steps", "101"], ["guidance_scale", "-1"],
                                       ["num_images", ""], ["prompt", "   "],
                                       ["prompt", "{EMOJI * 1001}"]]) {{
            fill({{ width: "512", num_inference_steps: "20", guidance_scale: "7.5",
                    num_images: "1", prompt: "a lighthouse", [name]: value }});
            checked[`${{name}}=${{value.length > 10 ? "long" : value}}`] = errors()[name];
          }}
          form.applyBounds({{ ...bounds, num_inference_steps: {{ min: 1, max: 8 }} }});
          fill({{ num_inference_steps: "20", prompt: "a lighthouse" }});
          const fewer = errors();
          return {{ before, permissive, attributes, checked, fewer }};
        }}""",
        BOUNDS,
    )
    # Before the service answered only the form's own rules hold: a prompt, and numbers.
    assert record["before"] == {"prompt": "Must not be empty."}
    assert record["permissive"] == {}
    assert record["attributes"] == ["64", "1024", "8"]
    assert record["checked"] == {
        "width=4096": "Must be between 64 and 1024.",
        "width=100": "Must be a multiple of 8.",
        "num_inference_steps=2.5": "Must be an integer.",
        "num_inference_steps=101": "Must be between 1 and 100.",
        "guidance_scale=-1": "Must be between 0 and 20.",
        "num_images=": "Required.",
        "prompt=   ": "Must not be empty.",
        "prompt=long": "Must be at most 1000 characters (got 1001).",
    }
    assert record["fewer"] == {"num_inference_steps": "Must be between 1 and 8."}


def test_the_form_reads_an_api_body_and_submits_only_once_ready(units_page: Page) -> None:
    record = units_page.evaluate(
        f"""async (bounds) => {{ {FORM}
          form.applyBounds(bounds);
          fill({{ prompt: "  a lighthouse  ", negative_prompt: " ", width: "256" }});
          const submit = () => document.getElementById("generate-form").requestSubmit();
          submit();
          const early = submitted.length;
          form.setReady();
          submit();
          fill({{ width: "100" }});
          submit();
          return {{ early, submitted, invalid,
                    focused: document.activeElement.id,
                    generate: document.getElementById("submit").disabled }};
        }}""",
        BOUNDS,
    )
    assert record["early"] == 0, "a submit before the service answered goes nowhere"
    assert record["submitted"] == [
        {
            "prompt": "a lighthouse",
            "negative_prompt": None,
            "num_inference_steps": 20,
            "guidance_scale": 7.5,
            "width": 256,
            "height": 512,
            "seed": None,
            "scheduler": None,
            "num_images": 1,
        }
    ]
    assert record["invalid"] == [["width"]]
    assert record["focused"] == "width"
    assert record["generate"] is False


def test_the_scheduler_list_is_the_engines_and_a_choice_stays_while_offered(
    units_page: Page,
) -> None:
    record = units_page.evaluate(
        f"""async () => {{ {FORM}
          const select = fields.namedItem("scheduler");
          const options = () => Array.from(select.options, (o) => [o.value, o.text]);
          const markup = options();
          form.offerSchedulers([{{ name: "pndm", label: "PNDM" }},
                                {{ name: "euler", label: "Euler" }}]);
          select.value = "euler";
          form.offerSchedulers([{{ name: "euler", label: "Euler" }},
                                {{ name: "lcm", label: "LCM" }}]);
          const kept = [select.value, options()];
          form.offerSchedulers([{{ name: "lcm", label: "LCM" }}]);
          return {{ markup, kept, dropped: select.value }};
        }}"""
    )
    assert record["markup"] == [["", "Model default"]]
    assert record["kept"] == ["euler", [["", "Model default"], ["euler", "Euler"], ["lcm", "LCM"]]]
    assert record["dropped"] == ""


def test_model_defaults_fill_only_the_fields_nobody_touched(units_page: Page) -> None:
    record = units_page.evaluate(
        f"""async () => {{ {FORM}
          const steps = fields.namedItem("num_inference_steps");
          steps.value = "6";
          steps.dispatchEvent(new Event("input", {{ bubbles: true }}));
          form.applyDefaults({{ num_inference_steps: 4, guidance_scale: 1.0, width: 512 }});
          return [steps.value, fields.namedItem("guidance_scale").value];
        }}"""
    )
    assert record == ["6", "1"]


HEALTH = """
const { HealthMonitor } = await import("/static/health.js");
await window.fakes.loadPageMarkup();
const logged = [];
console.error = (...args) => logged.push(args.map(String).join(" "));
const seen = { reports: 0, unreachable: 0 };
const monitor = (fetchHealth, onReport = () => { seen.reports += 1; }) => new HealthMonitor({
  badge: document.getElementById("health"),
  banner: document.getElementById("health-banner"),
  fetchHealth,
  onReport,
  onUnreachable: () => { seen.unreachable += 1; },
});
const badge = () => ({
  status: document.getElementById("health").dataset.status,
  mode: document.getElementById("health-mode").textContent,
  banner: document.getElementById("health-banner").hidden
    ? null : document.getElementById("health-banner-title").textContent,
});
const ok = { status: "ok", mock: true, device: { target: "GPU", active: "mock" },
             model: { cached: false }, queue: { queued: 0, running: 0 } };
"""


def test_health_says_offline_when_the_service_does_not_answer(units_page: Page) -> None:
    record = units_page.evaluate(
        f"""async () => {{ {HEALTH}
          await monitor(async () => {{ throw new Error("connection refused"); }}).check();
          return {{ badge: badge(), seen, logged }};
        }}"""
    )
    assert record["badge"] == {
        "status": "offline",
        "mode": "offline",
        "banner": "Cannot reach the service.",
    }
    assert record["seen"] == {"reports": 0, "unreachable": 1}
    assert record["logged"] == []


def test_a_bug_in_applying_a_report_is_logged_and_never_called_offline(units_page: Page) -> None:
    record = units_page.evaluate(
        f"""async () => {{ {HEALTH}
          await monitor(async () => ok, () => {{ throw new Error("bug in the form"); }}).check();
          const applying = {{ badge: badge(), logged: [...logged] }};
          logged.length = 0;
          const broken = {{ ...ok, get queue() {{ throw new Error("bug in the badge"); }} }};
          await monitor(async () => broken).check();
          return {{ applying, rendering: {{ badge: badge(), logged }}, seen }};
        }}"""
    )
    assert record["applying"]["badge"] == {"status": "ok", "mode": "mock", "banner": None}
    assert len(record["applying"]["logged"]) == 1
    assert "bug in the form" in record["applying"]["logged"][0]
    assert record["rendering"]["badge"]["status"] != "offline"
    assert len(record["rendering"]["logged"]) == 1
    assert "bug in the badge" in record["rendering"]["logged"][0]
    # The controller still heard the report whose badge failed to render.
    assert record["seen"] == {"reports": 1, "unreachable": 0}


def test_the_device_badge_counts_a_cluster_s_workers(units_page: Page) -> None:
    record = units_page.evaluate(
        f"""async () => {{ {HEALTH}
          const device = () => document.getElementById("health-device");
          const shown = [];
          const cluster = (workers, devices) => ({{ ...ok, cluster: {{ workers, devices }} }});
          const gpu = {{ host: "pc-01", device: "GPU.0" }};
          const cpu = {{ host: "pc-02", device: "CPU" }};
          for (const report of [
            cluster([gpu, {{ ...gpu, host: "pc-03" }}, cpu], {{ GPU: 2, CPU: 1 }}),
            cluster([cpu], {{ CPU: 1 }}),
            cluster([], {{}}),
          ]) {{
            await monitor(async () => report).check();
            shown.push([device().textContent, device().title, device().dataset.tone]);
          }}
          return {{ shown, logged }};
        }}"""
    )
    assert record["shown"] == [
        ["3 workers: 2 GPU, 1 CPU", "pc-01 (GPU.0)\npc-03 (GPU.0)\npc-02 (CPU)", ""],
        ["1 worker: 1 CPU", "pc-02 (CPU)", ""],
        ["no workers", "No worker is connected to the shared queue.", "warn"],
    ]
    assert record["logged"] == []
