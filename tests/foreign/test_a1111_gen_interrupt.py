"""A txt2img call whose jobs are cancelled, skipped, or whose client leaves: on a fake
backend that holds its images until told, so that each happens while a job runs or waits."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from application.ports import CancelCheck, EditImages, ProgressCallback, RenderedImage
from domain.generation_request import GenerationRequest
from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.support.asgi_calls import post_and_leave_once_queued
from tests.support.fakes import FakeBackend
from tests.support.waiting import wait_until

SMALL = {"prompt": "a lighthouse", "width": 64, "height": 64, "steps": 2, "seed": 7}


@dataclass
class HeldAfter(FakeBackend):
    """Makes its first ``free_images`` images at once, then holds each until ``gate``."""

    free_images: int = 0
    gate: threading.Event = field(default_factory=threading.Event)

    def generate(
        self,
        request: GenerationRequest,
        seed: int,
        on_progress: ProgressCallback,
        should_cancel: CancelCheck,
        edit: EditImages | None = None,
    ) -> RenderedImage:
        self.hold = self.gate if len(self.calls) >= self.free_images else None
        return super().generate(request, seed, on_progress, should_cancel, edit)


def client_with(tmp_path: Path, backend: HeldAfter) -> TestClient:
    return TestClient(
        create_app(make_settings(tmp_path), backend=backend), base_url="http://127.0.0.1"
    )


@pytest.fixture
def backend() -> Iterator[HeldAfter]:
    held = HeldAfter()
    yield held
    held.gate.set()


def running_job(client: TestClient, number: int) -> str:
    """The id of the call's ``number``th job (from 1), once it runs."""

    def find() -> str | None:
        jobs = sorted(client.get("/jobs").json()["jobs"], key=lambda job: job["created_at"])
        if len(jobs) >= number and jobs[number - 1]["status"] == "running":
            return str(jobs[number - 1]["job_id"])
        return None

    return wait_until(find, f"job {number} to run", context=lambda: client.get("/jobs").json())


def call_in_background(client: TestClient, body: dict[str, Any]) -> Any:
    pool = ThreadPoolExecutor(1)
    future = pool.submit(client.post, "/sdapi/v1/txt2img", json=body)
    pool.shutdown(wait=False)
    return future


def test_an_interrupt_answers_200_with_the_images_made_so_far(
    tmp_path: Path, backend: HeldAfter
) -> None:
    backend.free_images = 4
    with client_with(tmp_path, backend) as client:
        call = call_in_background(client, {**SMALL, "batch_size": 4, "n_iter": 2})
        second = running_job(client, 2)
        assert client.delete(f"/jobs/{second}").status_code == 200
        response = call.result(timeout=30)
    assert response.status_code == 200
    answer = response.json()
    info = json.loads(answer["info"])
    assert len(answer["images"]) == 4
    assert info["all_seeds"] == [7, 8, 9, 10]
    assert info["warnings"] == ["interrupted"]
    assert len(info["job_ids"]) == 2 and info["job_ids"][1] == second


def test_an_interrupt_before_any_image_answers_none(tmp_path: Path, backend: HeldAfter) -> None:
    with client_with(tmp_path, backend) as client:
        call = call_in_background(client, SMALL)
        client.delete(f"/jobs/{running_job(client, 1)}")
        response = call.result(timeout=30)
    assert response.status_code == 200
    info = json.loads(response.json()["info"])
    assert response.json()["images"] == [] and info["all_seeds"] == []
    assert info["seed"] == 7 and info["warnings"] == ["interrupted"]


def test_a_skipped_job_lets_the_call_go_on(tmp_path: Path, backend: HeldAfter) -> None:
    with client_with(tmp_path, backend) as client:
        call = call_in_background(client, {**SMALL, "batch_size": 4, "n_iter": 2})
        first = running_job(client, 1)
        # What POST /sdapi/v1/skip does: mark the running job skipped, then cancel it.
        client.app.state.services.skipped_jobs.skip(first)
        client.delete(f"/jobs/{first}")
        backend.gate.set()
        response = call.result(timeout=30)
    info = json.loads(response.json()["info"])
    assert response.status_code == 200
    assert info["all_seeds"] == [11, 12, 13, 14]
    assert info["warnings"] == [f"skipped: job {first}"]


def test_a_client_that_leaves_while_its_job_waits_drops_it(
    tmp_path: Path, backend: HeldAfter
) -> None:
    with client_with(tmp_path, backend) as client:
        ahead = client.post("/jobs", json={"prompt": "ahead", "width": 64, "height": 64})
        running_job(client, 1)
        assert post_and_leave_once_queued(client, "/sdapi/v1/txt2img", SMALL) == [499]
        jobs = client.get("/jobs").json()["jobs"]
        dropped = [job for job in jobs if job["job_id"] != ahead.json()["job_id"]]
        assert [job["status"] for job in dropped] == ["cancelled"]
        assert dropped[0]["images"] == []


def test_a_full_queue_answers_429_with_retry_after(tmp_path: Path, backend: HeldAfter) -> None:
    app = create_app(make_settings(tmp_path, max_queue=1), backend=backend)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        small = {"prompt": "ahead", "width": 64, "height": 64}
        client.post("/jobs", json=small)
        running_job(client, 1)
        assert client.post("/jobs", json=small).status_code == 202
        refused = client.post("/sdapi/v1/txt2img", json=SMALL)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert len(client.get("/jobs").json()["jobs"]) == 2
