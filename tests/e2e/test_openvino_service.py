"""Jobs on the real engine through HTTP: steps, cancel, batches, provenance, timeout, offline."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.testclient import TestClient

from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.e2e.conftest import wait_until_ready
from tests.openvino.rendering import skip_unless_installed
from tests.support.network_guard import forbid_network
from tests.support.sse import stream_events
from tests.support.waiting import wait_until

pytestmark = pytest.mark.openvino

SMALL = {"width": 64, "height": 64}
# For jobs that must still run when the test acts on them: 100 steps at this size take
# seconds on the tiny model, not the half second they take at SMALL.
SLOWER = {"width": 256, "height": 256}


def job_state(client: TestClient, job_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
    return body


def test_health_shows_the_gpu_fallback_and_openvino(openvino_client: TestClient) -> None:
    body = openvino_client.get("/health").json()
    assert body["status"] == "ok" and body["mock"] is False
    assert body["device"]["target"] == "GPU"
    assert body["device"]["active"] == "CPU"
    assert body["device"]["fallback_reason"].startswith("GPU unavailable")


def test_progress_events_count_the_engine_steps_and_carry_previews(
    openvino_client: TestClient,
) -> None:
    preview_every = cast(Starlette, openvino_client.app).state.services.settings.preview_every
    assert 1 <= preview_every <= 6, "the fixture must turn previews on for this test"
    # The one worker runs jobs in order: while a blocker holds it, the job under test
    # stays queued, so its stream is open before its first step. The blocker asks for
    # 100 steps (seconds on the tiny model) and is cancelled once that stream is open.
    blocker = openvino_client.post(
        "/jobs", json={"prompt": "blocker", "num_inference_steps": 100, **SLOWER}
    ).json()
    job = openvino_client.post(
        "/jobs", json={"prompt": "a fox", "num_inference_steps": 6, "seed": 5, **SMALL}
    ).json()
    assert job["status"] == "queued"
    stream = stream_events(openvino_client, f"/jobs/{job['job_id']}/events")
    assert next(stream)[0] == "queued", "the job started before its stream was open"
    assert openvino_client.delete(f"/jobs/{blocker['job_id']}").json()["status"] == "cancelled"
    events = list(stream)

    kinds = [kind for kind, _ in events]
    assert kinds.count("started") == 1
    assert kinds.index("started") < kinds.index("progress")
    assert kinds[-1] == "succeeded"
    assert sum(kind in ("succeeded", "failed", "cancelled") for kind in kinds) == 1
    progress = [data for kind, data in events if kind == "progress"]
    assert [data["step"] for data in progress] == [1, 2, 3, 4, 5, 6]
    assert all(data["total"] == 6 for data in progress)
    previews = [data for kind, data in events if kind == "preview"]
    assert [data["step"] for data in previews] == list(range(preview_every, 7, preview_every))
    assert all(data["image"].startswith("data:image/jpeg;base64,") for data in previews)
    done = openvino_client.get(f"/jobs/{job['job_id']}").json()
    assert done["progress"] == {"step": 6, "total": 6}
    assert (done["provider"], done["device"], done["mock"]) == ("openvino", "CPU", False)


def test_cancel_stops_within_one_step_and_writes_nothing(
    openvino_client: TestClient, tmp_path: Path
) -> None:
    long = openvino_client.post(
        "/jobs", json={"prompt": "long", "num_inference_steps": 100, **SLOWER}
    ).json()["job_id"]
    wait_until(
        lambda: job_state(openvino_client, long)["progress"]["step"] >= 3,
        "the long job's third step",
        timeout=60,
        interval=0.01,
    )
    cancelled = openvino_client.delete(f"/jobs/{long}").json()
    assert cancelled["status"] == "cancelled"
    # Steps on the tiny model take milliseconds, so HTTP cannot time "within one step"
    # (the engine contract suite counts that); here: stopped early, and nothing after.
    assert 3 <= cancelled["progress"]["step"] < 100
    # The one worker runs one job at a time: once the next has finished, the engine has
    # left the cancelled one, and whatever it did on the way out is visible.
    after = {"prompt": "after", "num_inference_steps": 1, **SMALL}
    assert openvino_client.post("/image", json=after).status_code == 200
    assert job_state(openvino_client, long)["progress"] == cancelled["progress"]
    assert cancelled["images"] == []
    generated = Path(openvino_client.get("/health").json()["cache_dirs"]["generated"])
    assert not list(generated.glob(f"{long}*.png"))


def test_batch_of_two_gives_two_images_with_consecutive_seeds(
    openvino_client: TestClient,
) -> None:
    body = openvino_client.post(
        "/image",
        json={"prompt": "two", "num_images": 2, "seed": 41, "num_inference_steps": 3, **SMALL},
    ).json()
    assert [image["seed"] for image in body["images"]] == [41, 42]
    first, second = (openvino_client.get(image["url"]).content for image in body["images"])
    pixels = [np.asarray(Image.open(io.BytesIO(png))) for png in (first, second)]
    assert not np.array_equal(pixels[0], pixels[1])
    single = openvino_client.post(
        "/image", json={"prompt": "two", "seed": 42, "num_inference_steps": 3, **SMALL}
    ).json()
    again = np.asarray(Image.open(io.BytesIO(openvino_client.get(single["image_url"]).content)))
    assert np.array_equal(again, pixels[1])  # image n of a batch is seed + n on its own


def test_png_chunks_parse_back_to_the_request(openvino_client: TestClient) -> None:
    request = {
        "prompt": "a lighthouse",
        "negative_prompt": "fog",
        "num_inference_steps": 4,
        "guidance_scale": 6.5,
        "seed": 99,
        "scheduler": "euler",
        **SMALL,
    }
    body = openvino_client.post("/image", json=request).json()
    info = Image.open(io.BytesIO(openvino_client.get(body["image_url"]).content)).info
    assert info["parameters"].splitlines() == [
        "a lighthouse",
        "Negative prompt: fog",
        "Steps: 4, Sampler: Euler, CFG scale: 6.5, Seed: 99, Size: 64x64, "
        "Model: OpenVINO/stable-diffusion-v1-5-int8-ov",
    ]
    provenance = json.loads(info["provenance"])
    assert provenance["request"] == {**body["params"]}
    assert provenance["engine"]["engine"] == "openvino-genai"
    assert provenance["engine"]["openvino"]
    assert provenance["device"] == "CPU"
    assert provenance["timings_ms"]["generation"] > 0


def test_same_seed_over_http_gives_the_same_image(openvino_client: TestClient) -> None:
    request = {"prompt": "same", "seed": 1234, "num_inference_steps": 3, **SMALL}
    images = []
    for _ in range(2):
        body = openvino_client.post("/image", json=request).json()
        png = Image.open(io.BytesIO(openvino_client.get(body["image_url"]).content))
        images.append((png.tobytes(), png.info["parameters"]))
    assert images[0] == images[1]
    assert len(set(images[0][0])) > 1


def test_timeout_on_the_real_engine_answers_504_and_frees_the_worker(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, model_dir=tiny_model_dir, openvino_device="CPU", inference_timeout_seconds=0.5
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        wait_until_ready(client)
        response = client.post(
            "/image", json={"prompt": "slow", "num_inference_steps": 100, "width": 96, "height": 96}
        )
        assert response.status_code == 504, response.text
        message = response.json()["error"]["message"]
        # The time spent is measured (a first step that compiles runs past the limit),
        # so only the limit itself is exact.
        stopped = re.search(r"stopped after [0-9.]+ s at step (\d+) of 100 on CPU", message)
        assert stopped and int(stopped.group(1)) < 100, message  # it did not run them all
        assert "the time limit is 0.5 s" in message
        assert "fewer steps" in message
        quick = client.post("/image", json={"prompt": "quick", "num_inference_steps": 1, **SMALL})
        assert quick.status_code == 200
        assert not list(Path(settings.generated_dir).glob(".partial-*"))


@pytest.mark.parametrize("engine", ["genai", "optimum"])
def test_service_with_a_staged_model_opens_no_connection(
    engine: str, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # optimum, diffusers and transformers know the hub too; their loaders must stay local.
    skip_unless_installed(engine)
    attempts = forbid_network(monkeypatch)
    settings = make_settings(
        tmp_path, model_dir=tiny_model_dir, auto_download_models=True, openvino_engine=engine
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        wait_until_ready(client)
        response = client.post(
            "/image", json={"prompt": "offline", "num_inference_steps": 2, **SMALL}
        )
        assert response.status_code == 200
    assert attempts == []


def test_health_answers_while_the_engine_works(openvino_client: TestClient) -> None:
    busy = openvino_client.post(
        "/jobs", json={"prompt": "busy", "num_inference_steps": 60, "width": 96, "height": 96}
    ).json()["job_id"]
    wait_until(
        lambda: job_state(openvino_client, busy)["status"] == "running",
        "the busy job to run",
        timeout=60,
        interval=0.01,
    )
    answered_while_running = 0
    for _ in range(5):
        assert openvino_client.get("/health").status_code == 200
        answered_while_running += job_state(openvino_client, busy)["status"] == "running"
    assert answered_while_running >= 1
    openvino_client.delete(f"/jobs/{busy}")


def test_a_few_step_model_changes_the_defaults(tiny_lcm_model_dir: Path, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, model_dir=tiny_lcm_model_dir, openvino_device="CPU")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        wait_until_ready(client)
        defaults = client.get("/health").json()["defaults"]
        assert defaults == {
            "num_inference_steps": 4,
            "guidance_scale": 1.0,
            "width": 512,
            "height": 512,
            "num_images": 1,
        }
        body = client.post("/image", json={"prompt": "fast", **SMALL}).json()
    assert (body["params"]["num_inference_steps"], body["params"]["guidance_scale"]) == (4, 1.0)
    assert body["progress"] == {"step": 4, "total": 4}
