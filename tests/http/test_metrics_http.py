"""`GET /metrics` through the app, read back with prometheus-client's own parser."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from application.ports import (
    CancelCheck,
    DownloadProgress,
    EditImages,
    ModelStatus,
    ProgressCallback,
    RenderedImage,
)
from domain.generation_request import GenerationRequest
from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.support.fakes import FakeBackend, FakeModelStore
from tests.support.waiting import wait_until

SMALL = {"prompt": "x", "width": 64, "height": 64, "num_inference_steps": 2}
ENGINE_TIMINGS = {
    "text_encoder": 20.0,
    "unet_per_call": 300.0,
    "unet_calls": 3.0,
    "vae_decode": 90.0,
}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class TimedBackend(FakeBackend):
    """A fake that reports stage times, as the OpenVINO engines do."""

    def generate(
        self,
        request: GenerationRequest,
        seed: int,
        on_progress: ProgressCallback,
        should_cancel: CancelCheck,
        edit: EditImages | None = None,
    ) -> RenderedImage:
        image = super().generate(request, seed, on_progress, should_cancel, edit)
        return replace(image, timings_ms=ENGINE_TIMINGS)


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def wait_for_status(client: TestClient, job_id: str, status: str) -> None:
    wait_until(
        lambda: client.get(f"/jobs/{job_id}").json()["status"] == status,
        f"job {job_id} to be {status}",
        context=lambda: client.get(f"/jobs/{job_id}").json(),
    )


@pytest.fixture
def backend() -> TimedBackend:
    return TimedBackend()


@pytest.fixture
def client(tmp_path: Path, backend: TimedBackend) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path), backend=backend)
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client
    if backend.hold is not None:
        backend.hold.set()


def submit(client: TestClient) -> str:
    response = client.post("/jobs", json=SMALL)
    assert response.status_code == 202
    job_id: str = response.json()["job_id"]
    return job_id


def test_a_success_a_failure_and_a_cancel_show_in_the_metrics(
    client: TestClient, backend: TimedBackend
) -> None:
    wait_for_status(client, submit(client), "succeeded")
    backend.error = RuntimeError("the device fell over")
    wait_for_status(client, submit(client), "failed")
    backend.error, backend.hold = None, threading.Event()
    held = submit(client)
    wait_for_status(client, held, "running")
    waiting = submit(client)
    during = scrape(client)
    assert sample(during, "local_sd_queue_depth") == 1
    assert sample(during, "local_sd_running_jobs") == 1
    assert client.delete(f"/jobs/{waiting}").status_code == 200
    assert client.delete(f"/jobs/{held}").status_code == 200
    wait_for_status(client, held, "cancelled")

    after = scrape(client)
    assert sample(after, "local_sd_jobs_total", status="succeeded") == 1
    assert sample(after, "local_sd_jobs_total", status="failed") == 1
    assert sample(after, "local_sd_jobs_total", status="cancelled") == 2
    assert sample(after, "local_sd_job_failures_total", type="generation_failed") == 1
    assert sample(after, "local_sd_job_failures_total", type="timeout") == 0
    for status in ("succeeded", "failed"):
        assert sample(after, "local_sd_job_duration_seconds_count", status=status) == 1
    # The waiting job never started: a cancelled job is timed only when it ran.
    assert sample(after, "local_sd_job_duration_seconds_count", status="cancelled") == 1
    # Only the job that succeeded saved an image.
    for stage, seconds in (("text_encoder", 0.02), ("unet_step", 0.3), ("vae_decode", 0.09)):
        assert sample(after, "local_sd_stage_duration_seconds_count", stage=stage) == 1
        assert sample(after, "local_sd_stage_duration_seconds_sum", stage=stage) == seconds
    assert sample(after, "local_sd_stage_duration_seconds_count", stage="png_write") == 1
    assert sample(after, "local_sd_queue_depth") == 0
    assert sample(after, "local_sd_running_jobs") == 0
    assert sample(after, "local_sd_ready") == 1
    # A backend given ready-made is neither downloaded nor loaded.
    assert sample(after, "local_sd_model_load_seconds_count") == 0
    assert sample(after, "local_sd_model_download_bytes_total") == 0
    requests = "local_sd_http_requests_total"
    assert sample(after, requests, route="/jobs", method="POST", status="202") == 4
    assert sample(after, requests, route="/jobs/{job_id}", method="DELETE", status="200") == 2
    assert sample(after, requests, route="/metrics", method="GET", status="200") == 1


def test_requests_are_labelled_by_route_template_never_by_raw_path(client: TestClient) -> None:
    for path in ("/no/such/page", "/another-random-path", "/jobs/nope/extra"):
        assert client.get(path).status_code == 404
    assert client.get("/jobs/nope").status_code == 404
    assert client.get("/jobs/also-nope").status_code == 404
    assert client.put("/jobs").status_code == 405
    assert client.request("BREW", "/jobs").status_code == 405
    samples = scrape(client)
    requests = "local_sd_http_requests_total"
    assert sample(samples, requests, route="unmatched", method="GET", status="404") == 3
    assert sample(samples, requests, route="/jobs/{job_id}", method="GET", status="404") == 2
    assert sample(samples, requests, route="/jobs", method="PUT", status="405") == 1
    assert sample(samples, requests, route="/jobs", method="other", status="405") == 1
    routes = {dict(labels)["route"] for name, labels in samples if name == requests}
    assert routes == {"unmatched", "/jobs/{job_id}", "/jobs"}


def test_a_request_refused_before_routing_counts_under_the_route_it_was_for(
    client: TestClient,
) -> None:
    # The host guard answers before the router runs.
    assert client.get("/jobs/abc", headers={"host": "evil.example"}).status_code == 403
    samples = scrape(client)
    refused = {"route": "/jobs/{job_id}", "method": "GET", "status": "403"}
    assert sample(samples, "local_sd_http_requests_total", **refused) == 1


def test_each_app_has_its_own_registry(tmp_path: Path, client: TestClient) -> None:
    wait_for_status(client, submit(client), "succeeded")
    other = create_app(make_settings(tmp_path / "other"), backend=FakeBackend())
    with TestClient(other, base_url="http://127.0.0.1") as other_client:
        samples = scrape(other_client)
    assert sample(samples, "local_sd_jobs_total", status="succeeded") == 0


def test_a_scraper_asking_for_openmetrics_gets_it(client: TestClient) -> None:
    response = client.get("/metrics", headers={"accept": "application/openmetrics-text"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


class DownloadingModelStore(FakeModelStore):
    """Missing at first; its download reports 3 MB in running totals."""

    def download(
        self, force: bool = False, on_progress: DownloadProgress | None = None
    ) -> ModelStatus:
        assert on_progress is not None
        for done in (1_000_000, 2_000_000, 3_000_000):
            on_progress(done, 3_000_000)
        return super().download(force)


def test_a_download_and_load_at_start_show_in_the_metrics(tmp_path: Path) -> None:
    backend = FakeBackend()
    app = create_app(
        make_settings(tmp_path, auto_download_models=True),
        model_store=DownloadingModelStore(cached=False),
        load_backend=lambda: backend,
    )
    with TestClient(app, base_url="http://127.0.0.1") as client:
        wait_until(lambda: client.get("/health/ready").status_code == 200, "the model to load")
        samples = scrape(client)
    assert sample(samples, "local_sd_model_download_bytes_total") == 3_000_000
    assert sample(samples, "local_sd_model_load_seconds_count") == 1
    assert sample(samples, "local_sd_ready") == 1


def test_metrics_need_a_key_when_keys_are_set(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, api_keys="scraper:s3cret-key"), backend=FakeBackend())
    with TestClient(app, base_url="http://127.0.0.1") as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["error"]["type"] == "unauthorized"
        assert "local_sd" not in refused.text
        client.headers["authorization"] = "Bearer s3cret-key"
        samples = scrape(client)
    refused_labels = {"route": "/metrics", "method": "GET", "status": "401"}
    assert sample(samples, "local_sd_http_requests_total", **refused_labels) == 1
