"""job_watch.js's watchJob, alone: its way from the event stream (or polling) to the final job.

Each test drives a fake event stream, scripted GET /jobs/{id} answers and a timer that
only fires when told (tests/browser/units/fakes.js), in the page's own Chromium, and
asserts here on what the watch did: the handlers it called, what `done` came to, whether
the stream is closed and whether a poll is still scheduled.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

POLL_MS = 1000


def run(page: Page, body: str) -> dict[str, Any]:
    """Run ``body`` (JS with `fakes` in scope, ending in `return report(watch)` or so)."""
    result: dict[str, Any] = page.evaluate(
        f"async () => {{ const fakes = window.fakes; "
        f"const {{ apiError, job, report, settle, startWatch }} = fakes; {body} }}"
    )
    return result


def test_a_job_followed_from_queued_to_succeeded(units_page: Page) -> None:
    record = run(
        units_page,
        """
        const images = [{ url: "/images/a.png", seed: 7, width: 64, height: 64 }];
        const watch = startWatch([job({ status: "succeeded", images })]);
        const stream = watch.io.stream;
        stream.emit("queued", { queue_position: 2 });
        stream.emit("started", { device: "CPU" });
        stream.emit("progress", { step: 5, total: 20, eta_seconds: 3.5 });
        stream.emit("preview", { step: 5, image: "data:image/jpeg;base64,AA" });
        stream.emit("succeeded", {});
        await settle();
        return report(watch);
        """,
    )
    assert record["streamUrl"] == "/jobs/job-1/events"
    assert record["calls"] == [
        ["queued", {"queue_position": 2}],
        ["started", {"device": "CPU"}],
        ["progress", {"step": 5, "total": 20, "eta_seconds": 3.5}],
        ["preview", {"step": 5, "image": "data:image/jpeg;base64,AA"}],
    ]
    # `succeeded` says that it ended; the job JSON brings the images.
    assert record["done"]["resolved"]["status"] == "succeeded"
    assert record["done"]["resolved"]["images"][0]["url"] == "/images/a.png"
    assert record["getJobCalls"] == 1
    assert record["streamClosed"] is True
    assert record["timers"] == []


def test_a_lost_stream_falls_back_to_polling_until_the_job_ends(units_page: Page) -> None:
    record = run(
        units_page,
        """
        const running = job({ status: "running", progress: { step: 7, total: 20 } });
        const watch = startWatch([running, apiError(), job({ status: "succeeded" })]);
        watch.io.stream.emit("progress", { step: 5, total: 20, eta_seconds: 2 });
        watch.io.stream.fail();
        await settle();
        const afterLoss = { calls: watch.calls.map(([name]) => name),
                            timers: watch.io.pendingDelays(), done: watch.done.value };
        watch.io.fire();  // the next poll: the service does not answer
        await settle();
        const afterMiss = { calls: watch.calls.map(([name]) => name),
                            timers: watch.io.pendingDelays() };
        watch.io.fire();  // and the one after: it has ended
        await settle();
        return { afterLoss, afterMiss, ...report(watch) };
        """,
    )
    assert record["afterLoss"] == {
        "calls": ["progress", "streamLost", "snapshot"],
        "timers": [POLL_MS],
        "done": "pending",
    }
    assert record["calls"][2] == ["snapshot", {**record["calls"][2][1], "status": "running"}]
    assert record["afterMiss"] == {
        "calls": ["progress", "streamLost", "snapshot", "unreachable"],
        "timers": [POLL_MS],
    }
    assert record["calls"][3] == ["unreachable", "Cannot reach the service."]
    assert record["done"]["resolved"]["status"] == "succeeded"
    assert record["getJobCalls"] == 3
    assert record["streamClosed"] is True
    assert record["timers"] == []


def test_without_event_source_it_polls_from_the_start(units_page: Page) -> None:
    record = run(
        units_page,
        """
        const watch = startWatch([job({ status: "queued", queue_position: 3 }),
                                  job({ status: "cancelled" })], { events: false });
        await settle();
        watch.io.fire();
        await settle();
        return report(watch);
        """,
    )
    assert record["streamUrl"] is None
    assert [name for name, _ in record["calls"]] == ["snapshot"]
    assert record["done"]["resolved"]["status"] == "cancelled"
    assert record["timers"] == []


@pytest.mark.parametrize(
    ("status", "message"), [(404, "No job job-1."), (401, "This service needs an API key.")]
)
def test_a_job_gone_or_a_session_ended_while_polling_rejects_with_that_error(
    units_page: Page, status: int, message: str
) -> None:
    # A 401 repeated every second would only count against this address's sign-ins.
    record = units_page.evaluate(
        """async ([status, message]) => {
          const { apiError, report, settle, startWatch } = window.fakes;
          const watch = startWatch([apiError(status, message)], { events: false });
          await settle();
          return report(watch);
        }""",
        [status, message],
    )
    assert record["done"] == {"rejected": message}
    assert record["timers"] == []


def test_a_failed_job_comes_from_the_service_with_its_error(units_page: Page) -> None:
    record = run(
        units_page,
        """
        const error = { type: "engine_error", message: "The engine failed." };
        const watch = startWatch([job({ status: "failed", error, progress: { step: 3,
                                                                             total: 20 } })]);
        watch.io.stream.emit("failed", { error: { type: "stale", message: "from the event" } });
        await settle();
        return report(watch);
        """,
    )
    final = record["done"]["resolved"]
    assert final["status"] == "failed"
    assert final["error"] == {"type": "engine_error", "message": "The engine failed."}
    assert record["getJobCalls"] == 1


@pytest.mark.parametrize(
    ("event", "data", "error"),
    [
        ("cancelled", {}, None),
        (
            "failed",
            {"error": {"type": "shutdown", "message": "Stopped."}},
            {"type": "shutdown", "message": "Stopped."},
        ),
    ],
)
def test_a_stream_that_ends_while_the_service_is_gone_ends_from_the_event(
    units_page: Page, event: str, data: dict[str, Any], error: dict[str, str] | None
) -> None:
    # A shutdown cancels every job and the service is gone before the page can ask.
    record = units_page.evaluate(
        """async ([event, data]) => {
          const { apiError, report, settle, startWatch } = window.fakes;
          const watch = startWatch([apiError()]);
          watch.io.stream.emit("progress", { step: 5, total: 20, eta_seconds: 8 });
          watch.io.stream.emit(event, data);
          await settle();
          return report(watch);
        }""",
        [event, data],
    )
    final = record["done"]["resolved"]
    assert final["status"] == event
    assert final["error"] == error
    assert final["images"] == []
    assert final["progress"] == {"step": 5, "total": 20}
    assert record["timers"] == [], "it must not keep polling a service that is gone"
    assert record["streamClosed"] is True


def test_settle_ends_the_watch_with_a_final_answer_and_ignores_others(units_page: Page) -> None:
    record = run(
        units_page,
        """
        const watch = startWatch([]);
        watch.watch.settle(job({ status: "running" }));  // a cancel the engine has not heeded
        const stillOpen = !watch.io.stream.closed;
        watch.watch.settle(job({ status: "cancelled", progress: { step: 4, total: 20 } }));
        watch.io.stream.emit("progress", { step: 6, total: 20 });
        await settle();
        return { stillOpen, ...report(watch) };
        """,
    )
    assert record["stillOpen"] is True
    assert record["done"]["resolved"]["status"] == "cancelled"
    assert record["calls"] == [], "events after the end reach no handler"
    assert record["streamClosed"] is True
    assert record["getJobCalls"] == 0


def test_stop_gives_up_without_an_answer(units_page: Page) -> None:
    record = run(
        units_page,
        """
        const watch = startWatch([job({ status: "running" })]);
        watch.io.stream.fail();
        await settle();
        watch.watch.stop();
        await settle();
        return report(watch);
        """,
    )
    assert record["done"] == "pending"
    assert record["timers"] == [], "stop cancels the next poll"
    assert [name for name, _ in record["calls"]] == ["streamLost", "snapshot"]


def test_an_unreadable_event_reaches_its_handler_as_empty_data(units_page: Page) -> None:
    record = run(
        units_page,
        """
        const watch = startWatch([]);
        watch.io.stream.emit("queued", "not json");
        watch.io.stream.emit("progress", "null");
        await settle();
        return report(watch);
        """,
    )
    assert record["calls"] == [["queued", {}], ["progress", {}]]
    assert record["done"] == "pending"
