"""A shared service: each client sees only its own jobs and images; rates and shares per client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.support.waiting import wait_until

KEYS = "alice:alice-key-0123456789,bob:bob-key-0123456789,teacher:teacher-key-0123456789:admin"
ALICE = {"authorization": "Bearer alice-key-0123456789"}
BOB = {"authorization": "Bearer bob-key-0123456789"}
TEACHER = {"authorization": "Bearer teacher-key-0123456789"}
SMALL = {"prompt": "a fox", "width": 64, "height": 64, "num_inference_steps": 2}


def shared_client(tmp_path: Path, **values: Any) -> TestClient:
    settings = make_settings(tmp_path, use_mocks=True, api_keys=SecretStr(KEYS), **values)
    return TestClient(create_app(settings), base_url="http://127.0.0.1")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with shared_client(tmp_path) as test_client:
        yield test_client


def test_a_client_sees_and_manages_only_its_own_jobs_and_images(client: TestClient) -> None:
    made = client.post("/image", json=SMALL, headers=ALICE)
    assert made.status_code == 200, made.text
    job_id, image = made.json()["job_id"], made.json()["images"][0]["url"]

    # Bob: every way to reach Alice's job answers as if it did not exist.
    assert client.get(f"/jobs/{job_id}", headers=BOB).status_code == 404
    assert client.get(f"/jobs/{job_id}/events", headers=BOB).status_code == 404
    assert client.delete(f"/jobs/{job_id}", headers=BOB).status_code == 404
    assert client.get(f"/images/{job_id}.json", headers=BOB).status_code == 404
    assert client.get(image, headers=BOB).status_code == 404
    assert client.delete(f"/images/{job_id}", headers=BOB).status_code == 404
    assert client.get(f"/images?before={job_id}", headers=BOB).status_code == 404
    assert job_id not in {job["job_id"] for job in client.get("/jobs", headers=BOB).json()["jobs"]}
    assert client.get("/images", headers=BOB).json()["images"] == []
    unknown = client.get("/images/0123456789abcdef0123456789abcdef.json", headers=BOB).json()
    hidden = client.get(f"/images/{job_id}.json", headers=BOB).json()
    assert hidden["error"]["message"] == unknown["error"]["message"].replace(
        "0123456789abcdef0123456789abcdef", job_id
    )

    # Alice and the admin see it.
    for headers in (ALICE, TEACHER):
        assert client.get(f"/jobs/{job_id}", headers=headers).status_code == 200
        assert client.get(f"/images/{job_id}.json", headers=headers).status_code == 200
        assert client.get(image, headers=headers).status_code == 200
        listed = client.get("/images", headers=headers).json()["images"]
        assert [record["job_id"] for record in listed] == [job_id]
    assert client.delete(f"/images/{job_id}", headers=ALICE).status_code == 200
    assert client.get(image, headers=TEACHER).status_code == 404


def test_the_submission_rate_is_per_client(tmp_path: Path) -> None:
    with shared_client(tmp_path, rate_limit="2/minute") as client:
        for _ in range(2):
            assert client.post("/jobs", json=SMALL, headers=ALICE).status_code == 202
        refused = client.post("/jobs", json=SMALL, headers=ALICE)
        assert refused.status_code == 429
        assert refused.json()["error"]["type"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert client.post("/jobs", json=SMALL, headers=BOB).status_code == 202


def test_refused_submissions_do_not_use_up_the_rate(tmp_path: Path) -> None:
    with shared_client(tmp_path, rate_limit="1/minute") as client:
        for _ in range(3):
            assert client.post("/jobs", json={"prompt": ""}, headers=ALICE).status_code == 422
        assert client.post("/jobs", json=SMALL, headers=ALICE).status_code == 202
        assert client.post("/jobs", json=SMALL, headers=ALICE).status_code == 429


def test_one_client_cannot_fill_the_queue(tmp_path: Path) -> None:
    # A paced demo backend keeps the first job running while the others wait.
    with shared_client(tmp_path, max_queue=8, mock_step_seconds=1.0) as client:
        running = client.post("/jobs", json=SMALL, headers=ALICE).json()["job_id"]
        wait_until(
            lambda: client.get(f"/jobs/{running}", headers=ALICE).json()["status"] == "running",
            "the first job to start",
        )
        waiting = [client.post("/jobs", json=SMALL, headers=ALICE) for _ in range(2)]
        assert [answer.status_code for answer in waiting] == [202, 202]
        refused = client.post("/jobs", json=SMALL, headers=ALICE)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["type"] == "client_queue_full"
        assert int(refused.headers["retry-after"]) >= 1
        assert client.post("/jobs", json=SMALL, headers=BOB).status_code == 202
        for job_id in [running, *(answer.json()["job_id"] for answer in waiting)]:
            client.delete(f"/jobs/{job_id}", headers=ALICE)
