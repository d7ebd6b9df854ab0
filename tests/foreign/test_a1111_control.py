"""AUTOMATIC1111's `progress`, `interrupt` and `skip` on our queue, in-process on the mock
backend paced to a second a step, so a job runs until a test stops it."""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr
from starlette.testclient import TestClient

from entrypoints.app import create_app
from entrypoints.bootstrap import Services
from tests.conftest import make_settings
from tests.support.waiting import wait_until

LONG = {"prompt": "a fox", "width": 64, "height": 64, "num_inference_steps": 50}
KEYS = "alice:alice-key-0123456789,bob:bob-key-0123456789"


def basic(key: str) -> dict[str, str]:
    """As A1111 clients send credentials: Basic, the key as password."""
    return {"authorization": "Basic " + base64.b64encode(f"user:{key}".encode()).decode()}


ALICE, BOB = basic("alice-key-0123456789"), basic("bob-key-0123456789")


def paced_client(tmp_path: Path, **values: Any) -> TestClient:
    settings = make_settings(
        tmp_path, use_mocks=True, mock_step_seconds=1.0, preview_every=1, **values
    )
    return TestClient(create_app(settings), base_url="http://127.0.0.1")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with paced_client(tmp_path) as test_client:
        yield test_client


def built(client: TestClient) -> Services:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


def start(client: TestClient, headers: dict[str, str] | None = None) -> str:
    answer = client.post("/jobs", json=LONG, headers=headers)
    assert answer.status_code == 202, answer.text
    job_id: str = answer.json()["job_id"]
    return job_id


def progress(
    client: TestClient, headers: dict[str, str] | None = None, query: str = ""
) -> dict[str, Any]:
    answer = client.get(f"/sdapi/v1/progress{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def status(client: TestClient, job_id: str, headers: dict[str, str] | None = None) -> str:
    state: str = client.get(f"/jobs/{job_id}", headers=headers).json()["status"]
    return state


def running_with_preview(
    client: TestClient, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return wait_until(
        lambda: (body := progress(client, headers))["current_image"] and body,
        "a step with a preview",
    )


def assert_stopping(body: dict[str, Any], job_id: str, *, interrupted: bool) -> None:
    """Until the engine notices the stop (within a step) the job still runs, and says why."""
    if body["state"]["job"] == job_id:
        assert (body["state"]["interrupted"], body["state"]["skipped"]) == (
            interrupted,
            not interrupted,
        )


def test_progress_describes_the_running_job_with_its_preview(client: TestClient) -> None:
    idle = progress(client)
    assert idle["progress"] == 0 and idle["eta_relative"] == 0
    assert idle["current_image"] is None and idle["textinfo"] is None
    assert idle["state"] == {
        "skipped": False,
        "interrupted": False,
        "job": "",
        "job_count": 0,
        "job_timestamp": "",
        "job_no": 0,
        "sampling_step": 0,
        "sampling_steps": 0,
    }

    job_id = start(client)
    body = running_with_preview(client)
    state = body["state"]
    assert state["job"] == job_id and state["job_count"] == 1 and state["job_no"] == 0
    assert 1 <= state["sampling_step"] < state["sampling_steps"] == 50
    assert 0 < body["progress"] < 1 and body["eta_relative"] >= 0
    assert len(state["job_timestamp"]) == 14 and state["job_timestamp"].isdigit()
    assert not state["interrupted"] and not state["skipped"]
    # Base64 without a data: prefix, which A1111 clients decode with PIL.
    with Image.open(io.BytesIO(base64.b64decode(body["current_image"]))) as preview:
        assert preview.format == "JPEG"
    assert progress(client, query="?skip_current_image=true")["current_image"] is None

    # The whole queue is counted, and the waiting job is not the one described.
    second = start(client)
    counted = progress(client)
    assert counted["state"]["job_count"] == 2 and counted["state"]["job"] == job_id

    interrupted = client.post("/sdapi/v1/interrupt")
    assert interrupted.status_code == 200 and interrupted.json() == {}
    assert_stopping(progress(client), job_id, interrupted=True)
    wait_until(lambda: status(client, job_id) == "cancelled", "the interrupted job to end")
    # interrupt stops the running job only: the next one runs.
    wait_until(lambda: progress(client)["state"]["job"] == second, "the next job to run")
    client.delete(f"/jobs/{second}")
    wait_until(lambda: progress(client)["state"]["job_count"] == 0, "an idle queue")


def test_interrupt_and_skip_with_nothing_running_answer_200(client: TestClient) -> None:
    for path in ("/sdapi/v1/interrupt", "/sdapi/v1/skip"):
        answer = client.post(path)
        assert answer.status_code == 200 and answer.json() == {}


def test_skip_cancels_the_running_job_marked_as_skipped(client: TestClient) -> None:
    job_id = start(client)
    running_with_preview(client)
    assert client.post("/sdapi/v1/skip").status_code == 200
    assert_stopping(progress(client), job_id, interrupted=False)
    wait_until(lambda: status(client, job_id) == "cancelled", "the skipped job to end")
    # What a batch asks once the job ended: it goes on after a skipped job.
    assert built(client).skipped_jobs.take_skip(job_id)


def test_another_clients_job_is_counted_but_neither_shown_nor_stopped(tmp_path: Path) -> None:
    with paced_client(tmp_path, api_keys=SecretStr(KEYS)) as client:
        alices = start(client, ALICE)
        running_with_preview(client, ALICE)

        # Bob, with nothing queued: the queue's size, nothing of Alice's job.
        seen = progress(client, BOB)
        assert seen["state"]["job_count"] == 1 and seen["state"]["job"] == ""
        assert seen["current_image"] is None and seen["progress"] == 0
        assert seen["state"]["sampling_steps"] == 0 and seen["state"]["job_timestamp"] == ""

        # Bob's waiting job is what he is told about.
        bobs = start(client, BOB)
        waiting = progress(client, BOB)
        assert waiting["state"]["job"] == bobs and waiting["state"]["job_count"] == 2
        assert waiting["textinfo"] == "Waiting: 1 job ahead"
        assert waiting["progress"] == 0 and waiting["current_image"] is None

        # Bob cannot stop Alice's job; Alice's interrupt leaves Bob's waiting job alone.
        for path in ("/sdapi/v1/interrupt", "/sdapi/v1/skip"):
            assert client.post(path, headers=BOB).status_code == 200
        assert status(client, alices, ALICE) == "running"
        assert not built(client).skipped_jobs.is_skipped(alices)
        assert client.post("/sdapi/v1/interrupt", headers=ALICE).status_code == 200
        wait_until(lambda: status(client, alices, ALICE) == "cancelled", "Alice's job to end")
        wait_until(lambda: status(client, bobs, BOB) == "running", "Bob's job to run")
        assert progress(client, BOB)["state"]["job"] == bobs
        client.delete(f"/jobs/{bobs}", headers=BOB)


def test_progress_without_a_key_is_refused_when_keys_are_set(tmp_path: Path) -> None:
    with paced_client(tmp_path, api_keys=SecretStr(KEYS)) as client:
        assert client.get("/sdapi/v1/progress").status_code == 401
        assert client.post("/sdapi/v1/interrupt").status_code == 401


BATCH = {"prompt": "a fox", "width": 64, "height": 64, "steps": 50, "batch_size": 5}
"""Five images: a job of four, then a job of one, queued when the first has ended."""


def txt2img_in_background(client: TestClient) -> tuple[threading.Thread, list[Any]]:
    answers: list[Any] = []
    thread = threading.Thread(
        target=lambda: answers.append(client.post("/sdapi/v1/txt2img", json=BATCH))
    )
    thread.start()
    return thread, answers


def test_skip_drops_the_running_job_and_its_batch_goes_on(client: TestClient) -> None:
    thread, answers = txt2img_in_background(client)
    first = running_with_preview(client)["state"]["job"]
    assert client.post("/sdapi/v1/skip").status_code == 200
    # `progress` names the caller's waiting job too: wait until the next one runs.
    second = wait_until(
        lambda: (job := progress(client)["state"]["job"]) not in ("", first) and job,
        "the batch's next job",
    )
    wait_until(lambda: status(client, second) == "running", "the batch's next job to run")
    assert client.post("/sdapi/v1/interrupt").status_code == 200
    thread.join(30)
    assert status(client, first) == status(client, second) == "cancelled"
    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json()["images"] == []


def test_interrupt_ends_the_rest_of_the_batch(client: TestClient) -> None:
    thread, answers = txt2img_in_background(client)
    first = running_with_preview(client)["state"]["job"]
    assert client.post("/sdapi/v1/interrupt").status_code == 200
    thread.join(30)
    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json()["images"] == []
    assert [job["job_id"] for job in client.get("/jobs").json()["jobs"]] == [first]
    assert progress(client)["state"]["job_count"] == 0
