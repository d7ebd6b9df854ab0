"""The `webuiapi` package (AUTOMATIC1111's Python client), unmodified, against a live server
on the mock backend (issue 12 §4).

What it does, from its source (webuiapi 0.9.17, webuiapi/webuiapi.py): the constructor
GETs `scripts` and ignores any failure; txt2img/img2img send both `sampler_name` and
`sampler_index` ("Euler a" by default), `scheduler` "automatic", dozens of fields we ignore,
images and masks as `data:image/png;base64,...`; `_to_api_result` raises RuntimeError on any
status but 200, base64-decodes `images[]` and `json.loads` the `info` string.
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import webuiapi  # type: ignore[import-untyped]
from PIL import Image

from tests.compat.pictures import differing_pixels, striped_picture
from tests.compat.servers import ALICE_KEY
from tests.support.live_server import LiveServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server


def _port(server: LiveServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def api(open_mock_server: LiveServer) -> Iterator[Any]:
    client = webuiapi.WebUIApi(host="127.0.0.1", port=_port(open_mock_server), steps=2)
    yield client
    client.session.close()


def test_txt2img_answers_the_picture_and_its_info(api: Any) -> None:
    result = api.txt2img(prompt="a red barn <lora:film:0.8>", width=96, height=64, seed=7)
    assert len(result.images) == 1
    image: Image.Image = result.image
    assert image.size == (96, 64) and image.format == "PNG"
    info = result.info
    assert isinstance(info, dict), info  # json.loads succeeded
    assert info["seed"] == 7 and info["all_seeds"] == [7]
    assert (info["width"], info["height"], info["steps"]) == (96, 64, 2)
    assert info["sampler_name"] == "Euler a"
    assert len(info["infotexts"]) == 1 and "Seed: 7" in info["infotexts"][0]
    assert "lora" not in info["all_prompts"][0]  # the extra-network tag was removed
    assert result.parameters["prompt"].startswith("a red barn")


def test_txt2img_batches_give_consecutive_seeds(api: Any) -> None:
    result = api.txt2img(prompt="a red barn", width=64, height=64, seed=100, batch_size=2)
    assert [image.size for image in result.images] == [(64, 64), (64, 64)]
    assert result.info["all_seeds"] == [100, 101]


def test_img2img_with_a_mask_repaints_only_the_white_area(api: Any) -> None:
    """AUTOMATIC1111's mask: white repaints, black keeps."""
    source = striped_picture(96, 64)
    mask = Image.new("L", (96, 64), 0)
    mask.paste(255, (0, 0, 48, 64))
    result = api.img2img(
        images=[source],
        mask_image=mask,
        prompt="a window in the wall",
        width=96,
        height=64,
        denoising_strength=0.75,
        seed=11,
    )
    edited = result.image.convert("RGB")
    assert edited.size == (96, 64)
    # Away from the border, which mask_blur (4 by default here) softens.
    assert differing_pixels(edited, source, (64, 0, 96, 64)) == 0
    assert differing_pixels(edited, source, (0, 0, 32, 64)) > 32 * 64 // 2
    assert result.info["seed"] == 11


def test_progress_is_idle_between_jobs(api: Any) -> None:
    """SillyTavern waits for `progress == 0 and job_count == 0` after setting a model."""
    progress = api.get_progress()
    assert progress["progress"] == 0 and progress["state"]["job_count"] == 0
    assert set(progress) >= {"progress", "eta_relative", "state", "current_image", "textinfo"}


def test_progress_follows_a_running_job_and_interrupt_ends_it(
    api: Any, open_mock_server: LiveServer
) -> None:
    outcome: dict[str, Any] = {}

    def generate() -> None:
        try:
            outcome["result"] = api.txt2img(prompt="a slow barn", width=64, height=64, steps=100)
        except RuntimeError as error:  # webuiapi's way of saying "not 200"
            outcome["error"] = error

    worker = threading.Thread(target=generate)
    worker.start()
    try:
        running = wait_until(
            lambda: (p := api.get_progress())["state"]["sampling_step"] > 0 and p,
            "a sampling step of the running job in /sdapi/v1/progress",
            context=open_mock_server.log,
        )
        state = running["state"]
        assert state["sampling_steps"] == 100 and state["job_count"] >= 1
        assert 0 < running["progress"] < 1 and running["eta_relative"] >= 0
        assert state["interrupted"] is False and state["skipped"] is False
        assert running["current_image"], "no preview though PREVIEW_EVERY=1"
        assert _decoded_image(running["current_image"]).size[0] > 0
        api.interrupt()
    finally:
        worker.join(timeout=60)
    assert not worker.is_alive()
    # AUTOMATIC1111 answers an interrupted call with what was made (200), not an error.
    assert "error" not in outcome, outcome.get("error")
    after = api.get_progress()
    assert after["state"]["job_count"] == 0
    jobs = httpx.get(f"{open_mock_server.base_url}/jobs", timeout=10).json()["jobs"]
    slow = [job for job in jobs if job["params"]["prompt"] == "a slow barn"]
    assert slow and slow[0]["status"] == "cancelled", slow


def test_sd_models_options_and_samplers(api: Any) -> None:
    models = api.get_sd_models()
    assert models and set(models[0]) >= {
        "title",
        "model_name",
        "hash",
        "sha256",
        "filename",
        "config",
    }
    options = api.get_options()
    assert set(options) >= {"sd_model_checkpoint", "samples_format", "CLIP_stop_at_last_layers"}
    assert options["sd_model_checkpoint"] in [model["title"] for model in models]
    # The whole object echoed back, as Open WebUI does: accepted, nothing changes.
    answer = api.set_options(options)
    assert not (isinstance(answer, dict) and "error" in answer), answer
    assert api.get_options()["sd_model_checkpoint"] == options["sd_model_checkpoint"]
    refused = api.set_options({"sd_model_checkpoint": "no-such-model.safetensors"})
    assert isinstance(refused, dict) and refused.get("detail"), refused
    samplers = api.get_samplers()
    assert all(set(sampler) >= {"name", "aliases", "options"} for sampler in samplers)
    assert {"Euler", "Euler a", "DDIM"} <= {sampler["name"] for sampler in samplers}


def test_with_keys_set_auth_sends_basic_credentials(keyed_mock_server: LiveServer) -> None:
    port = _port(keyed_mock_server)
    anonymous = webuiapi.WebUIApi(host="127.0.0.1", port=port, steps=2)
    keyed = webuiapi.WebUIApi(host="127.0.0.1", port=port, steps=2)
    try:
        with pytest.raises(RuntimeError) as raised:
            anonymous.txt2img(prompt="a red barn", width=64, height=64)
        assert raised.value.args[0] == 401
        keyed.set_auth("alice", ALICE_KEY)
        result = keyed.txt2img(prompt="a red barn", width=64, height=64)
        assert result.image.size == (64, 64)
        assert keyed.get_options()["sd_model_checkpoint"]
    finally:
        anonymous.session.close()
        keyed.session.close()


def _decoded_image(b64: str) -> Image.Image:
    """A preview as base64 without a data: prefix, in any format Pillow reads."""
    image = Image.open(io.BytesIO(base64.b64decode(b64, validate=True)))
    image.load()
    return image
