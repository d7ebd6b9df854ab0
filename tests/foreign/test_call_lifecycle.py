"""A foreign call of several jobs between two of them: an interrupt ends it, a refusal of
a later job keeps the images made, the rate counts it once, and the service's stop
answers 503 as `POST /image` does. On a fake backend that holds its calls in turn."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from application.ports import CancelCheck, EditImages, ProgressCallback, RenderedImage
from domain.generation_request import GenerationRequest
from entrypoints.app import create_app
from entrypoints.bootstrap import Services
from tests.conftest import make_settings
from tests.foreign.openai_support import answer_pngs, jobs_of
from tests.support.fakes import FakeBackend
from tests.support.waiting import wait_until

KEYS = "alice:alice-key-0123456789,bob:bob-key-0123456789"
ALICE = {"authorization": "Bearer alice-key-0123456789"}
BOB = {"authorization": "Bearer bob-key-0123456789"}
ALICES, BOBS = "a lighthouse", "ahead"
"""The prompts of Alice's call and of the jobs queued beside it."""


EIGHT = {"prompt": ALICES, "width": 64, "height": 64, "steps": 2, "seed": 7}
EIGHT |= {"batch_size": 4, "n_iter": 2}
"""Two jobs of four images."""
SMALL_JOB = {"prompt": BOBS, "width": 64, "height": 64, "num_inference_steps": 2}


@dataclass
class HeldByPrompt(FakeBackend):
    """Holds each image of a prompt in ``gates`` until its gate is set."""

    gates: dict[str, threading.Event] = field(default_factory=dict)

    def generate(
        self,
        request: GenerationRequest,
        seed: int,
        on_progress: ProgressCallback,
        should_cancel: CancelCheck,
        edit: EditImages | None = None,
    ) -> RenderedImage:
        self.hold = self.gates.get(request.prompt)
        return super().generate(request, seed, on_progress, should_cancel, edit)


@pytest.fixture
def backend() -> Iterator[HeldByPrompt]:
    held = HeldByPrompt(gates={ALICES: threading.Event(), BOBS: threading.Event()})
    yield held
    for gate in held.gates.values():
        gate.set()


def keyed_client(tmp_path: Path, backend: HeldByPrompt, **values: Any) -> TestClient:
    settings = make_settings(tmp_path, api_keys=SecretStr(KEYS), **values)
    return TestClient(create_app(settings, backend=backend), base_url="http://127.0.0.1")


def in_background(client: TestClient, path: str, body: dict[str, Any]) -> Future[Any]:
    pool = ThreadPoolExecutor(1)
    future = pool.submit(client.post, path, json=body, headers=ALICE)
    pool.shutdown(wait=False)
    return future


def statuses(client: TestClient, headers: dict[str, str]) -> list[str]:
    return [str(job["status"]) for job in jobs_of(client, headers)]


def status(client: TestClient, job_id: str, headers: dict[str, str]) -> str:
    return str(client.get(f"/jobs/{job_id}", headers=headers).json()["status"])


def bob_runs_between_alices_jobs(client: TestClient, backend: HeldByPrompt) -> str:
    """Alice's first job runs held; Bob's job queues behind it and runs held once hers
    has ended; her call then queues its second job behind Bob's. Bob's job id."""
    wait_until(lambda: backend.calls, "Alice's first job to run")
    bobs = client.post("/jobs", json=SMALL_JOB, headers=BOB)
    assert bobs.status_code == 202, bobs.text
    backend.gates[ALICES].set()
    job_id = str(bobs.json()["job_id"])
    wait_until(lambda: status(client, job_id, BOB) == "running", "Bob's job to run")
    return job_id


def test_an_interrupt_between_two_jobs_ends_the_call(tmp_path: Path, backend: HeldByPrompt) -> None:
    with keyed_client(tmp_path, backend) as client:
        call = in_background(client, "/sdapi/v1/txt2img", EIGHT)
        bobs = bob_runs_between_alices_jobs(client, backend)
        wait_until(
            lambda: statuses(client, ALICE) == ["succeeded", "queued"],
            "Alice's second job to wait behind Bob's",
            context=lambda: statuses(client, ALICE),
        )
        # Nothing of Alice's runs: the interrupt stops her call, and its queued job.
        assert client.post("/sdapi/v1/interrupt", headers=ALICE).status_code == 200
        response = call.result(timeout=30)
        assert response.status_code == 200, response.text
        info = json.loads(response.json()["info"])
        assert len(response.json()["images"]) == 4 and info["all_seeds"] == [7, 8, 9, 10]
        assert info["warnings"] == ["interrupted"]
        # The queued job cancelled, no third queued; Bob's job runs on.
        assert statuses(client, ALICE) == ["succeeded", "cancelled"]
        assert status(client, bobs, BOB) == "running"


def test_bobs_interrupt_leaves_alices_call_alone(tmp_path: Path, backend: HeldByPrompt) -> None:
    with keyed_client(tmp_path, backend) as client:
        call = in_background(client, "/sdapi/v1/txt2img", EIGHT)
        wait_until(lambda: backend.calls, "Alice's first job to run")
        assert client.post("/sdapi/v1/interrupt", headers=BOB).status_code == 200
        backend.gates[ALICES].set()
        response = call.result(timeout=30)
        assert len(response.json()["images"]) == 8
        assert statuses(client, ALICE) == ["succeeded", "succeeded"]


def test_an_interrupt_leaves_the_callers_waiting_calls_alone(
    tmp_path: Path, backend: HeldByPrompt
) -> None:
    """A1111 stops the generation under way, not requests that wait: neither Alice's
    OpenAI call nor her A1111 call queued behind Bob's running job is touched."""
    with keyed_client(tmp_path, backend) as client:
        bobs = client.post("/jobs", json=SMALL_JOB, headers=BOB)
        wait_until(lambda: backend.calls, "Bob's job to run")
        openai_call = in_background(
            client, "/v1/images/generations", {"prompt": ALICES, "size": "64x64"}
        )
        a1111_call = in_background(client, "/sdapi/v1/txt2img", EIGHT)
        wait_until(lambda: statuses(client, ALICE) == ["queued", "queued"], "Alice's two jobs")
        assert client.post("/sdapi/v1/interrupt", headers=ALICE).status_code == 200
        assert statuses(client, ALICE) == ["queued", "queued"]
        assert status(client, bobs.json()["job_id"], BOB) == "running"
        backend.gates[BOBS].set()
        backend.gates[ALICES].set()
        assert openai_call.result(timeout=30).status_code == 200
        assert len(a1111_call.result(timeout=30).json()["images"]) == 8


def test_a_later_job_refused_answers_the_images_made_with_a_warning(
    tmp_path: Path, backend: HeldByPrompt
) -> None:
    with keyed_client(tmp_path, backend, max_queued_per_client=1) as client:
        call = in_background(client, "/sdapi/v1/txt2img", EIGHT)
        wait_until(lambda: backend.calls, "Alice's first job to run")
        # Bob's job first in line, then one of Alice's own: when her call's first job
        # ends, Bob's runs (held) and hers waits, so her call may queue no other.
        client.post("/jobs", json=SMALL_JOB, headers=BOB)
        assert client.post("/jobs", json=SMALL_JOB, headers=ALICE).status_code == 202
        backend.gates[ALICES].set()
        response = call.result(timeout=30)
        assert response.status_code == 200, response.text
        info = json.loads(response.json()["info"])
        assert len(response.json()["images"]) == 4 and info["all_seeds"] == [7, 8, 9, 10]
        [warning] = info["warnings"]
        assert warning.startswith("stopped after 4 images: You already have 1 jobs waiting")
        assert statuses(client, ALICE) == ["succeeded", "queued"]


def test_an_openai_call_refused_later_answers_fewer_images(
    tmp_path: Path, backend: HeldByPrompt
) -> None:
    with keyed_client(tmp_path, backend, max_queued_per_client=1) as client:
        body = {"prompt": ALICES, "n": 8, "size": "64x64", "num_inference_steps": 2}
        call = in_background(client, "/v1/images/generations", body)
        wait_until(lambda: backend.calls, "Alice's first job to run")
        client.post("/jobs", json=SMALL_JOB, headers=BOB)
        assert client.post("/jobs", json=SMALL_JOB, headers=ALICE).status_code == 202
        backend.gates[ALICES].set()
        response = call.result(timeout=30)
        assert response.status_code == 200, response.text
        assert len(answer_pngs(response.json())) == 4


def test_a_call_counts_once_against_the_rate(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, use_mocks=True, rate_limit="2/minute")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        body = {"prompt": "a barn", "n": 10, "size": "64x64", "num_inference_steps": 1}
        ten = client.post("/v1/images/generations", json=body)
        assert ten.status_code == 200, ten.text
        assert len(answer_pngs(ten.json())) == 10 and len(jobs_of(client)) == 3
        assert client.post("/v1/images/generations", json={**body, "n": 1}).status_code == 200
        refused = client.post("/v1/images/generations", json={**body, "n": 1})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


def test_a_job_still_queued_when_the_service_stops_answers_503(
    tmp_path: Path, backend: HeldByPrompt
) -> None:
    with keyed_client(tmp_path, backend) as client:
        ahead = client.post("/jobs", json=SMALL_JOB, headers=BOB)
        wait_until(lambda: backend.calls, "Bob's job to run")
        call = in_background(client, "/sdapi/v1/txt2img", {**EIGHT, "n_iter": 1})
        wait_until(lambda: statuses(client, ALICE) == ["queued"], "Alice's job to wait")
        services: Services = client.app.state.services
        assert client.portal is not None
        client.portal.call(services.service.begin_shutdown)
        response = call.result(timeout=30)
        # Not a 200 without images: the job runs after the restart, as POST /image says.
        assert response.status_code == 503, response.text
        assert "stays queued" in response.json()["detail"]
        assert statuses(client, ALICE) == ["queued"]
        assert ahead.status_code == 202
