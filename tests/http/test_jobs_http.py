"""The job API through the app, on a controllable fake backend."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.support.fakes import FakeBackend
from tests.support.sse import ServerSentEvent, StreamOpenedSignal, stream_events
from tests.support.waiting import wait_until

SMALL = {"prompt": "x", "width": 64, "height": 64}


@pytest.fixture
def held_backend() -> FakeBackend:
    return FakeBackend(hold=threading.Event())


@pytest.fixture
def client(tmp_path: Path, held_backend: FakeBackend) -> Iterator[TestClient]:
    app = StreamOpenedSignal(create_app(make_settings(tmp_path, max_queue=2), backend=held_backend))
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client
    assert held_backend.hold is not None
    held_backend.hold.set()


def wait_for_status(client: TestClient, job_id: str, status: str) -> dict[str, object]:
    def job_if_there() -> dict[str, object] | None:
        job: dict[str, object] = client.get(f"/jobs/{job_id}").json()
        return job if job["status"] == status else None

    return wait_until(
        job_if_there, f"job {job_id} to be {status}", context=lambda: client.get(f"/jobs/{job_id}")
    )


def read_events(client: TestClient, job_id: str) -> list[ServerSentEvent]:
    return list(stream_events(client, f"/jobs/{job_id}/events"))


def read_events_releasing(
    client: TestClient, job_id: str, hold: threading.Event | None
) -> list[ServerSentEvent]:
    """All the job's events, with the held backend let go once the stream is open, so that
    no step happens before the test listens. The client's app is a `StreamOpenedSignal`."""
    assert hold is not None and isinstance(client.app, StreamOpenedSignal)
    with ThreadPoolExecutor(1) as reader:
        events = reader.submit(read_events, client, job_id)
        assert client.app.opened.wait(10), "the event stream did not open"
        hold.set()
        return events.result()


def test_job_lifecycle_over_http(client: TestClient, held_backend: FakeBackend) -> None:
    created = client.post("/jobs", json={**SMALL, "seed": 3, "num_inference_steps": 4})
    assert created.status_code == 202
    job = created.json()
    assert created.headers["location"] == f"/jobs/{job['job_id']}"
    assert job["status"] in {"queued", "running"}
    assert job["urls"] == {
        "self": f"/jobs/{job['job_id']}",
        "events": f"/jobs/{job['job_id']}/events",
    }
    running = wait_for_status(client, job["job_id"], "running")
    assert running["queue_position"] is None
    assert held_backend.hold is not None
    held_backend.hold.set()
    done = wait_for_status(client, job["job_id"], "succeeded")
    assert done["progress"] == {"step": 4, "total": 4}
    assert done["images"] == [
        {"url": done["image_url"], "seed": 3, "width": 64, "height": 64, "nsfw": None}
    ]
    assert done["error"] is None
    listed = client.get("/jobs").json()["jobs"]
    assert [entry["job_id"] for entry in listed] == [job["job_id"]]
    conflict = client.delete(f"/jobs/{job['job_id']}")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["type"] == "conflict"


def test_unknown_job_is_404(client: TestClient) -> None:
    for response in (
        client.get("/jobs/nope"),
        client.delete("/jobs/nope"),
        client.get("/jobs/nope/events"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "not_found"


def test_queue_full_is_429_with_retry_after_and_exact_count(client: TestClient) -> None:
    first = client.post("/jobs", json=SMALL).json()
    wait_for_status(client, first["job_id"], "running")
    statuses = [client.post("/jobs", json=SMALL).status_code for _ in range(6)]
    assert statuses == [202, 202, 429, 429, 429, 429]
    rejected = client.post("/image", json=SMALL)
    assert rejected.status_code == 429
    assert int(rejected.headers["retry-after"]) >= 1
    assert "queue is full" in rejected.json()["error"]["message"]
    assert client.get("/health").json()["queue"] == {"queued": 2, "running": 1}


def test_cancel_queued_and_running_jobs(client: TestClient, held_backend: FakeBackend) -> None:
    running = client.post("/jobs", json=SMALL).json()
    wait_for_status(client, running["job_id"], "running")
    queued = client.post("/jobs", json=SMALL).json()
    assert queued["queue_position"] == 1
    cancelled = client.delete(f"/jobs/{queued['job_id']}")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    stopped = client.delete(f"/jobs/{running['job_id']}")
    assert stopped.json()["status"] == "cancelled"
    assert stopped.json()["images"] == []
    assert held_backend.calls and len(held_backend.calls) == 1


def test_events_stream_ends_after_one_final_event(
    client: TestClient, held_backend: FakeBackend
) -> None:
    blocker = client.post("/jobs", json=SMALL).json()
    wait_for_status(client, blocker["job_id"], "running")
    job = client.post("/jobs", json={**SMALL, "num_inference_steps": 3}).json()
    events = read_events_releasing(client, job["job_id"], held_backend.hold)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "queued"
    assert events[0][1] == {"queue_position": 1}
    assert kinds[-1] == "succeeded"
    assert [data["step"] for kind, data in events if kind == "progress"] == [1, 2, 3]
    assert sum(kind in {"succeeded", "failed", "cancelled"} for kind in kinds) == 1
    late = read_events(client, job["job_id"])
    assert [kind for kind, _ in late] == ["succeeded"]


def test_failed_job_reports_its_error(tmp_path: Path) -> None:
    backend = FakeBackend(error=RuntimeError("device lost at /dev/dri/card0"))
    with TestClient(
        create_app(make_settings(tmp_path), backend=backend), base_url="http://127.0.0.1"
    ) as client:
        job = client.post("/jobs", json=SMALL).json()
        failed = wait_for_status(client, job["job_id"], "failed")
        late = read_events(client, job["job_id"])
    error = failed["error"]
    assert isinstance(error, dict)
    assert error["type"] == "generation_failed"
    assert "/dev/dri" not in error["message"]
    assert late == [("failed", {"error": error})]


def test_events_carry_previews_every_few_steps(tmp_path: Path) -> None:
    backend = FakeBackend(hold=threading.Event())
    app = StreamOpenedSignal(create_app(make_settings(tmp_path, preview_every=2), backend=backend))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        job = client.post("/jobs", json={**SMALL, "num_inference_steps": 5}).json()
        events = read_events_releasing(client, job["job_id"], backend.hold)
    previews = [data for kind, data in events if kind == "preview"]
    assert [data["step"] for data in previews] == [2, 4]
    assert (
        previews[0]["image"] == "data:image/jpeg;base64," + base64.b64encode(b"preview 2").decode()
    )


def test_previews_can_be_turned_off(tmp_path: Path) -> None:
    backend = FakeBackend(hold=threading.Event())
    app = StreamOpenedSignal(create_app(make_settings(tmp_path, preview_every=0), backend=backend))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        job = client.post("/jobs", json={**SMALL, "num_inference_steps": 6}).json()
        events = read_events_releasing(client, job["job_id"], backend.hold)
    assert [kind for kind, _ in events if kind == "progress"]
    assert not [kind for kind, _ in events if kind == "preview"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/jobs", "GET, HEAD, POST"),
        ("PATCH", "/jobs/abc", "GET, HEAD, DELETE"),
        ("POST", "/images/abc", "GET, HEAD, DELETE"),
        ("DELETE", "/images", "GET, HEAD"),
        ("GET", "/image", "POST"),
        ("POST", "/static/app.js", "GET, HEAD"),
    ],
)
def test_405_lists_every_method_of_the_path_in_the_error_shape(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    error = response.json()["error"]
    assert (error["type"], error["message"]) == ("method_not_allowed", "Method not allowed.")
