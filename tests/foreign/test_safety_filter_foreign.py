"""Nothing unfiltered leaves through the foreign APIs either: AUTOMATIC1111's txt2img and
img2img send the covered PNGs with `info.nsfw`, OpenAI's generations and edits the covered
image (`b64_json` or `url`) with `nsfw` per item, `/sdapi/v1/progress` a washed preview;
without a checker the answers are exactly as before; a checker that cannot load is a 503
in each API's own shape.

In-process, on the mock backend, with a fake checker that flags chosen seeds."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from openai.types import ImagesResponse
from PIL import Image
from starlette.testclient import TestClient

from adapters.pillow_image_cover import PillowImageCover
from application.ports import RenderedImage
from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.foreign.openai_support import answer_pngs, png_of
from tests.foreign.test_error_dialects import assert_a1111, assert_openai
from tests.support.fakes import FakeSafetyChecker
from tests.support.recording_previews import PreviewRecordingBackend
from tests.support.waiting import wait_until

A1111_BATCH = {"prompt": "a lighthouse", "width": 96, "height": 64, "steps": 2}
A1111_BATCH |= {"seed": 100, "batch_size": 4}
FLAGGED_SEED = 101
OPENAI_BODY = {"prompt": "a red barn", "size": "256x256", "num_inference_steps": 2}


def client_for(tmp_path: Path, **settings: Any) -> TestClient:
    checker = settings.pop("checker", None)
    backend = settings.pop("backend", None)
    app = create_app(
        make_settings(tmp_path, use_mocks=True, **settings),
        backend=backend,
        safety_checker=checker,
    )
    return TestClient(app, base_url="http://127.0.0.1")


@pytest.fixture
def checker() -> FakeSafetyChecker:
    return FakeSafetyChecker(flag_seeds={FLAGGED_SEED})


@pytest.fixture
def filtered(tmp_path: Path, checker: FakeSafetyChecker) -> Iterator[TestClient]:
    with client_for(tmp_path / "filtered", checker=checker) as client:
        yield client


@pytest.fixture
def flagging_all(tmp_path: Path) -> Iterator[tuple[TestClient, FakeSafetyChecker]]:
    checker = FakeSafetyChecker(flag_all=True)
    with client_for(tmp_path / "flag-all", checker=checker) as client:
        yield client, checker


def pixels_of(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as picture:
        pixels: bytes = picture.convert("RGB").tobytes()
    return pixels


def covered(image: RenderedImage, action: str = "blur") -> bytes:
    return PillowImageCover(action).cover(image).rgb


def judged_images(checker: FakeSafetyChecker) -> list[RenderedImage]:
    return [image for batch in checker.judged for image in batch]


def a1111_call(client: TestClient, path: str, body: dict[str, Any]) -> tuple[list[bytes], Any]:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    return [base64.b64decode(image) for image in answer["images"]], json.loads(answer["info"])


def test_a1111_txt2img_sends_the_covered_image_and_the_flags_in_info(
    filtered: TestClient, mock_client: TestClient, checker: FakeSafetyChecker
) -> None:
    pngs, info = a1111_call(filtered, "/sdapi/v1/txt2img", A1111_BATCH)
    plain_pngs, plain_info = a1111_call(mock_client, "/sdapi/v1/txt2img", A1111_BATCH)

    assert info["nsfw"] == [False, True, False, False]
    assert "nsfw" not in plain_info  # no checker: A1111's info as it was
    assert info["all_seeds"] == plain_info["all_seeds"] == [100, 101, 102, 103]
    originals = [pixels_of(png) for png in plain_pngs]
    assert [image.rgb for image in judged_images(checker)] == originals
    shown = [pixels_of(png) for png in pngs]
    assert [shown[i] == originals[i] for i in range(4)] == [True, False, True, True]
    assert shown[1] == covered(judged_images(checker)[1])
    # The very files of the gallery: nothing else was made.
    for job_id in info["job_ids"]:
        job = filtered.get(f"/jobs/{job_id}").json()
        assert [filtered.get(image["url"]).content for image in job["images"]] == pngs
        assert [image["nsfw"] for image in job["images"]] == info["nsfw"]


def init_image() -> str:
    picture = Image.new("RGB", (64, 64), (10, 200, 30))
    picture.paste((200, 20, 20), (0, 0, 32, 64))
    return base64.b64encode(png_of(picture)).decode("ascii")


def test_a1111_img2img_sends_the_covered_image(
    flagging_all: tuple[TestClient, FakeSafetyChecker],
) -> None:
    client, checker = flagging_all
    body = {"prompt": "at dusk", "init_images": [init_image()], "steps": 4, "seed": 5}
    pngs, info = a1111_call(client, "/sdapi/v1/img2img", {**body, "denoising_strength": 0.5})

    assert info["nsfw"] == [True]
    [judged] = judged_images(checker)
    assert pixels_of(pngs[0]) == covered(judged)


def test_a1111_block_sends_the_placeholder(tmp_path: Path) -> None:
    checker = FakeSafetyChecker(flag_all=True)
    with client_for(tmp_path, checker=checker, safety_action="block") as client:
        pngs, info = a1111_call(client, "/sdapi/v1/txt2img", {**A1111_BATCH, "batch_size": 2})

    assert info["nsfw"] == [True, True]
    assert pixels_of(pngs[0]) == pixels_of(pngs[1]) == covered(judged_images(checker)[0], "block")


def test_a1111_send_images_false_still_says_which_were_flagged(filtered: TestClient) -> None:
    response = filtered.post("/sdapi/v1/txt2img", json={**A1111_BATCH, "send_images": False})
    answer = response.json()
    assert answer["images"] == []
    assert json.loads(answer["info"])["nsfw"] == [False, True, False, False]


def test_openai_generations_send_the_covered_image_as_b64_and_as_url(
    flagging_all: tuple[TestClient, FakeSafetyChecker],
) -> None:
    client, checker = flagging_all
    inline = client.post("/v1/images/generations", json={**OPENAI_BODY, "n": 2})
    assert inline.status_code == 200, inline.text
    body = inline.json()

    assert [item["nsfw"] for item in body["data"]] == [True, True]
    shown = [pixels_of(png) for png in answer_pngs(body)]
    assert shown == [covered(image) for image in judged_images(checker)]
    parsed = ImagesResponse.model_validate(body)
    assert parsed.data is not None
    assert [item.model_extra for item in parsed.data] == [{"nsfw": True}] * 2

    linked = client.post("/v1/images/generations", json={**OPENAI_BODY, "response_format": "url"})
    [item] = linked.json()["data"]
    assert item["nsfw"] is True
    png = client.get(item["url"]).content
    assert pixels_of(png) == covered(judged_images(checker)[-1])


def test_openai_items_say_false_for_what_passed_and_nothing_without_a_checker(
    tmp_path: Path, mock_client: TestClient
) -> None:
    with client_for(tmp_path / "checked", checker=FakeSafetyChecker()) as client:
        passed = client.post("/v1/images/generations", json=OPENAI_BODY).json()
    assert [item["nsfw"] for item in passed["data"]] == [False]

    for response_format in ("b64_json", "url"):
        plain = mock_client.post(
            "/v1/images/generations", json={**OPENAI_BODY, "response_format": response_format}
        ).json()
        assert [set(item) for item in plain["data"]] == [{response_format, "revised_prompt"}]


def test_openai_edits_send_the_covered_image(
    flagging_all: tuple[TestClient, FakeSafetyChecker],
) -> None:
    client, checker = flagging_all
    picture = png_of(Image.new("RGB", (64, 64), (10, 200, 30)))
    response = client.post(
        "/v1/images/edits",
        data={"prompt": "at dusk", "num_inference_steps": "4"},
        files=[("image", ("in.png", picture, "image/png"))],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["nsfw"] for item in body["data"]] == [True]
    [judged] = judged_images(checker)
    assert [pixels_of(png) for png in answer_pngs(body)] == [covered(judged)]


LONG = {"prompt": "a fox", "width": 64, "height": 64, "num_inference_steps": 4, "seed": 3}


def test_a1111_progress_shows_the_washed_preview(tmp_path: Path) -> None:
    backend = PreviewRecordingBackend(pause_after_step=2)
    with client_for(
        tmp_path, checker=FakeSafetyChecker(), backend=backend, preview_every=1
    ) as client:
        job = client.post("/jobs", json=LONG).json()
        assert backend.paused.wait(30), "the job never reached its second step"
        progress = client.get("/sdapi/v1/progress").json()
        backend.resume.set()
        wait_until(
            lambda: client.get(f"/jobs/{job['job_id']}").json()["status"] == "succeeded",
            "the job to finish",
        )

    assert progress["state"]["sampling_step"] == 2
    step, raw = backend.raw_previews[1]  # what the engine made at the step shown
    assert step == 2
    shown = base64.b64decode(progress["current_image"])
    assert shown != raw
    assert shown == PillowImageCover().cover_preview(raw)


def test_a1111_progress_without_a_checker_shows_the_engines_preview(tmp_path: Path) -> None:
    backend = PreviewRecordingBackend(pause_after_step=2)
    with client_for(tmp_path, backend=backend, preview_every=1) as client:
        client.post("/jobs", json=LONG)
        assert backend.paused.wait(30), "the job never reached its second step"
        progress = client.get("/sdapi/v1/progress").json()
        backend.resume.set()

    assert base64.b64decode(progress["current_image"]) == backend.raw_previews[1][1]


def test_previews_off_leaves_progress_without_an_image(tmp_path: Path) -> None:
    backend = PreviewRecordingBackend(pause_after_step=2)
    settings: dict[str, Any] = {"preview_every": 1, "safety_previews": "off"}
    with client_for(tmp_path, checker=FakeSafetyChecker(), backend=backend, **settings) as client:
        client.post("/jobs", json=LONG)
        assert backend.paused.wait(30), "the job never reached its second step"
        progress = client.get("/sdapi/v1/progress").json()
        backend.resume.set()

    assert progress["state"]["sampling_step"] == 2 and progress["current_image"] is None


def test_a_checker_that_cannot_load_is_a_503_in_each_apis_shape(tmp_path: Path) -> None:
    settings = {"safety_checker": "sd_checker", "safety_checker_dir": tmp_path / "no-checker"}
    with client_for(tmp_path, **settings) as client:
        wait_until(
            lambda: "download-safety-checker" in client.get("/health").json().get("reason", ""),
            "the checker's failure to show in /health",
        )
        for path, body in [
            ("/sdapi/v1/txt2img", A1111_BATCH),
            ("/sdapi/v1/img2img", {"prompt": "x", "init_images": [init_image()]}),
        ]:
            refused = assert_a1111(client.post(path, json=body), 503, "service_unavailable")
            assert "download-safety-checker" in refused["detail"]
        refused = assert_openai(client.post("/v1/images/generations", json=OPENAI_BODY), 503)
        assert "download-safety-checker" in refused["error"]["message"]
        picture = png_of(Image.new("RGB", (64, 64), (10, 200, 30)))
        edit = client.post(
            "/v1/images/edits",
            data={"prompt": "at dusk"},
            files=[("image", ("in.png", picture, "image/png"))],
        )
        assert_openai(edit, 503)
        assert client.get("/jobs").json()["jobs"] == []

    assert not list((tmp_path / "generated").rglob("*.png"))


def test_the_placeholder_is_mostly_plain_grey() -> None:
    image = RenderedImage(96, 64, np.zeros((64, 96, 3), np.uint8).tobytes(), 1)
    pixels = np.frombuffer(covered(image, "block"), np.uint8).reshape(64, 96, 3)
    assert np.all(pixels == 128, axis=2).mean() > 0.5
