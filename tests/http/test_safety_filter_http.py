"""Nothing unfiltered leaves, through our own API: with a checker on, a flagged image is
covered before it is stored, answered, listed or streamed, the others are untouched,
previews are washed (or not sent), and a checker that cannot load keeps every job back.

In-process, on the mock backend, with a fake checker that flags chosen seeds."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient

from adapters.pillow_image_cover import PillowImageCover
from application.image_metadata import PROVENANCE_KEY
from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.support.fakes import FakeSafetyChecker
from tests.support.recording_previews import PreviewRecordingBackend
from tests.support.sse import ServerSentEvent, StreamOpenedSignal, stream_events
from tests.support.waiting import wait_until

BATCH = {"prompt": "a lighthouse", "width": 128, "height": 96, "seed": 100, "num_images": 4}
FLAGGED_SEED = 101
"""The second image of BATCH."""
PREVIEWED: dict[str, Any] = {
    "prompt": "a fox",
    "width": 64,
    "height": 64,
    "seed": 3,
    "num_inference_steps": 4,
}


def client_for(tmp_path: Path, **settings: Any) -> TestClient:
    checker = settings.pop("checker", None)
    backend = settings.pop("backend", None)
    app = create_app(
        make_settings(tmp_path, use_mocks=True, **settings),
        backend=backend,
        safety_checker=checker,
    )
    return TestClient(StreamOpenedSignal(app), base_url="http://127.0.0.1")


@pytest.fixture
def checker() -> FakeSafetyChecker:
    return FakeSafetyChecker(flag_seeds={FLAGGED_SEED})


@pytest.fixture
def filtered(tmp_path: Path, checker: FakeSafetyChecker) -> Iterator[TestClient]:
    with client_for(tmp_path / "filtered", checker=checker) as client:
        yield client


@pytest.fixture
def unfiltered(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(tmp_path / "unfiltered") as client:
        yield client


def pixels_of(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as picture:
        pixels: bytes = picture.convert("RGB").tobytes()
    return pixels


def provenance_of(png: bytes) -> dict[str, Any]:
    with Image.open(io.BytesIO(png)) as picture:
        text = picture.info[PROVENANCE_KEY]
    assert isinstance(text, str)
    record: dict[str, Any] = json.loads(text)
    return record


def generate(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/image", json=body)
    assert answer.status_code == 200, answer.text
    job: dict[str, Any] = answer.json()
    return job


def image_pixels(client: TestClient, job: dict[str, Any]) -> list[bytes]:
    return [pixels_of(client.get(image["url"]).content) for image in job["images"]]


def test_one_flagged_image_of_a_batch_is_covered_and_the_others_are_untouched(
    filtered: TestClient, unfiltered: TestClient, checker: FakeSafetyChecker
) -> None:
    plain = generate(unfiltered, BATCH)
    judged = generate(filtered, BATCH)

    assert [image["nsfw"] for image in plain["images"]] == [None] * 4
    assert [image["nsfw"] for image in judged["images"]] == [False, True, False, False]
    assert [image["seed"] for image in judged["images"]] == [100, 101, 102, 103]
    originals = image_pixels(unfiltered, plain)
    shown = image_pixels(filtered, judged)
    # The checker saw the original pixels, the whole batch at once.
    assert [[image.rgb for image in batch] for batch in checker.judged] == [originals]
    for index in (0, 2, 3):
        assert shown[index] == originals[index]
    flagged = checker.judged[0][1]
    assert shown[1] != originals[1]
    assert shown[1] == PillowImageCover("blur").cover(flagged).rgb


def test_nothing_unfiltered_is_stored_and_every_listing_says_which_was_flagged(
    tmp_path: Path, filtered: TestClient, checker: FakeSafetyChecker
) -> None:
    job = generate(filtered, BATCH)
    original = checker.judged[0][1].rgb

    generated = tmp_path / "filtered" / "generated"
    files = [path for path in generated.rglob("*") if path.is_file()]
    pngs = [path for path in files if path.suffix == ".png"]
    assert len(pngs) == 4
    for path in files:
        data = path.read_bytes()
        assert original not in data, path
        if path.suffix == ".png":
            assert pixels_of(data) != original, path

    flagged_url = job["images"][1]["url"]
    served = filtered.get(flagged_url)
    assert served.status_code == 200
    assert served.content == (generated / flagged_url.rsplit("/", 1)[1]).read_bytes()
    safety = provenance_of(served.content)["safety"]
    assert safety["checker"] == "sd_checker" and safety["version"] == "fake-1"
    assert safety["flagged"] is True and safety["action"] == "blur"
    assert len(safety["concept_scores"]) == 17 and len(safety["special_scores"]) == 3
    passed = provenance_of(filtered.get(job["images"][0]["url"]).content)["safety"]
    assert passed["flagged"] is False and passed["action"] is None

    gallery = filtered.get("/images").json()["images"]
    assert [image["nsfw"] for image in gallery[0]["images"]] == [False, True, False, False]
    record = filtered.get(f"/images/{job['job_id']}.json").json()
    assert [image["nsfw"] for image in record["images"]] == [False, True, False, False]
    listed = filtered.get("/jobs").json()["jobs"][0]
    assert [image["nsfw"] for image in listed["images"]] == [False, True, False, False]


def test_block_stores_the_placeholder(tmp_path: Path) -> None:
    checker = FakeSafetyChecker(flag_all=True)
    with client_for(tmp_path, checker=checker, safety_action="block") as client:
        job = generate(client, {**BATCH, "num_images": 2})
        shown = image_pixels(client, job)
        png = client.get(job["images"][0]["url"]).content

    assert [image["nsfw"] for image in job["images"]] == [True, True]
    # One placeholder whatever the image: plain grey with the notice.
    assert shown[0] == shown[1]
    grey = np.all(np.frombuffer(shown[0], np.uint8).reshape(96, 128, 3) == 128, axis=1)
    assert grey.mean() > 0.5
    assert provenance_of(png)["safety"]["action"] == "block"


def events_of_a_started_job(client: TestClient, start: threading.Event) -> list[ServerSentEvent]:
    """The events of a PREVIEWED job, its first step held until the stream is open."""
    answer = client.post("/jobs", json=PREVIEWED)
    assert answer.status_code == 202, answer.text
    url = f"/jobs/{answer.json()['job_id']}/events"
    app = client.app
    assert isinstance(app, StreamOpenedSignal)
    with ThreadPoolExecutor(1) as reader:
        events = reader.submit(lambda: list(stream_events(client, url)))
        assert app.opened.wait(10), "the event stream did not open"
        start.set()
        return events.result(timeout=60)


def preview_jpegs(events: list[ServerSentEvent]) -> list[tuple[int, bytes]]:
    prefix = "data:image/jpeg;base64,"
    previews = []
    for kind, data in events:
        if kind == "preview":
            assert data["image"].startswith(prefix)
            previews.append((data["step"], base64.b64decode(data["image"][len(prefix) :])))
    return previews


def test_with_a_checker_every_preview_is_washed(tmp_path: Path) -> None:
    start = threading.Event()
    backend = PreviewRecordingBackend(start)
    checker = FakeSafetyChecker()
    with client_for(tmp_path, checker=checker, backend=backend, preview_every=1) as client:
        events = events_of_a_started_job(client, start)

    shown = preview_jpegs(events)
    assert [step for step, _ in shown] == [1, 2, 3, 4]
    assert len(backend.raw_previews) == 4
    for (step, image), (raw_step, raw) in zip(shown, backend.raw_previews, strict=True):
        assert step == raw_step
        assert image != raw
        assert image == PillowImageCover().cover_preview(raw)
    assert events[-1].kind == "succeeded"


def test_without_a_checker_previews_are_the_engines(tmp_path: Path) -> None:
    start = threading.Event()
    backend = PreviewRecordingBackend(start)
    with client_for(tmp_path, backend=backend, preview_every=1) as client:
        events = events_of_a_started_job(client, start)

    assert preview_jpegs(events) == backend.raw_previews


def test_previews_off_sends_none_and_progress_still_flows(tmp_path: Path) -> None:
    start = threading.Event()
    backend = PreviewRecordingBackend(start)
    settings: dict[str, Any] = {"preview_every": 1, "safety_previews": "off"}
    with client_for(tmp_path, checker=FakeSafetyChecker(), backend=backend, **settings) as client:
        events = events_of_a_started_job(client, start)
        assert client.get("/health").json()["safety"]["previews"] == "off"

    kinds = [kind for kind, _ in events]
    assert "preview" not in kinds
    steps = [data["step"] for kind, data in events if kind == "progress"]
    assert steps[-4:] == [1, 2, 3, 4]  # after the snapshot's step 0 when it started first
    assert kinds[-1] == "succeeded"


def test_the_final_event_carries_the_images_and_their_verdicts(tmp_path: Path) -> None:
    start = threading.Event()
    backend = PreviewRecordingBackend(start)
    flagging = FakeSafetyChecker(flag_seeds={PREVIEWED["seed"]})
    with client_for(tmp_path, checker=flagging, backend=backend) as client:
        events = events_of_a_started_job(client, start)
        late = list(stream_events(client, events_url(client)))

    kind, data = events[-1]
    assert kind == "succeeded"
    assert [(image["seed"], image["nsfw"]) for image in data["images"]] == [(3, True)]
    assert data["images"][0]["url"].startswith("/images/")
    assert late == [events[-1]]  # a late subscriber gets the same final event


def events_url(client: TestClient) -> str:
    job_id = client.get("/jobs").json()["jobs"][0]["job_id"]
    return f"/jobs/{job_id}/events"


def test_without_a_checker_the_final_event_says_none_judged(mock_client: TestClient) -> None:
    job = mock_client.post("/jobs", json={**PREVIEWED, "num_inference_steps": 1}).json()
    wait_until(
        lambda: mock_client.get(f"/jobs/{job['job_id']}").json()["status"] == "succeeded",
        "the job to succeed",
    )
    events = list(stream_events(mock_client, f"/jobs/{job['job_id']}/events"))
    assert [(kind, [image["nsfw"] for image in data["images"]]) for kind, data in events] == [
        ("succeeded", [None])
    ]


CANNOT_LOAD = "download-safety-checker"
"""In the reason of a checker that is not there: the remedy's command (the first reason,
'Loading the safety checker.', has none)."""


def wait_for_the_load_to_fail(client: TestClient) -> dict[str, Any]:
    def failed() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get("/health").json()
        done = body["safety"]["loaded"] is False and CANNOT_LOAD in body.get("reason", "")
        return body if done else None

    return wait_until(failed, "the checker's failure to show in /health")


def test_a_checker_that_cannot_load_keeps_every_job_back(tmp_path: Path) -> None:
    settings = {"safety_checker": "sd_checker", "safety_checker_dir": tmp_path / "no-checker"}
    with client_for(tmp_path, **settings) as client:
        health = wait_for_the_load_to_fail(client)
        assert health["status"] == "degraded"
        assert health["safety"]["checker"] == "sd_checker"
        assert str(tmp_path / "no-checker") in health["reason"]
        assert client.get("/health/ready").status_code == 503

        for path in ("/image", "/jobs"):
            refused = client.post(path, json=PREVIEWED)
            assert refused.status_code == 503, refused.text
            error = refused.json()["error"]
            assert error["type"] == "service_unavailable"
            assert CANNOT_LOAD in error["message"]
        assert client.get("/jobs").json()["jobs"] == []

    assert not list((tmp_path / "generated").rglob("*.png"))
