"""An OpenAI images call whose client leaves while its job waits: a bare 499, and the job
is dropped from the queue, as `POST /image` does."""

from __future__ import annotations

import threading
from pathlib import Path

from starlette.testclient import TestClient

from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.support.asgi_calls import post_and_leave_once_queued
from tests.support.fakes import FakeBackend
from tests.support.waiting import wait_until


def test_a_client_that_leaves_while_its_job_waits_gets_499_and_drops_it(
    tmp_path: Path,
) -> None:
    backend = FakeBackend(hold=threading.Event())
    app = create_app(make_settings(tmp_path), backend=backend)
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            ahead = client.post("/jobs", json={"prompt": "ahead", "width": 64, "height": 64})
            wait_until(lambda: backend.calls, "the job ahead to run")
            body = {"prompt": "a lighthouse", "size": "64x64"}
            assert post_and_leave_once_queued(client, "/v1/images/generations", body) == [499]
            jobs = client.get("/jobs").json()["jobs"]
            dropped = [job for job in jobs if job["job_id"] != ahead.json()["job_id"]]
            assert [job["status"] for job in dropped] == ["cancelled"]
    finally:
        assert backend.hold is not None
        backend.hold.set()
