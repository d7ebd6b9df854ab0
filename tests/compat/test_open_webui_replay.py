"""Open WebUI's image engines, replayed request for request against a live server.

Read from open-webui/open-webui, backend/open_webui/routers/images.py at commit
02530d501461ce58ab06231d7c2ef2024a141ddf (its `get_automatic1111_api_auth`, `verify_url`,
`get_models`, `get_image_model`, `set_image_model`, `image_generations` and `image_edits`),
and backend/open_webui/config.py for the defaults (AUTOMATIC1111_API_AUTH "", IMAGE_SIZE
"512x512"). It talks with aiohttp: `json=` bodies carry `Content-Type: application/json`;
`authorization` is always sent, `Basic ` + base64 of the admin's `user:password` setting,
which is `Basic ` alone by default (no keys).
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest

from tests.compat.pictures import b64_png_of, decoded_png, striped_picture
from tests.compat.servers import ALICE_KEY, basic_authorization
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.server


def _automatic1111_engine(
    base_url: str, api_auth: str, admin_params: dict[str, Any]
) -> list[dict[str, Any]]:
    """The AUTOMATIC1111 engine as an admin sets it up and a user then asks for a picture:
    the requests in order, each answer checked as far as Open WebUI reads it. Returns the
    images as Open WebUI decodes them (`get_image_data`: base64 unless it has a comma)."""
    headers = {"authorization": basic_authorization(api_auth)}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:
        # verify_url: GET options, raise_for_status.
        http.get("/sdapi/v1/options").raise_for_status()
        # get_models: GET sd-models, map each to {id: title, name: model_name}.
        models = http.get("/sdapi/v1/sd-models").json()
        listed = [{"id": model["title"], "name": model["model_name"]} for model in models]
        assert listed and all(isinstance(item["id"], str) for item in listed)
        # set_image_model (an admin picks the first listed model): GET options, then POST
        # the whole object back with sd_model_checkpoint set, raise_for_status. Open WebUI
        # skips the POST when nothing changes; it is sent here to prove the echo is taken.
        options = http.get("/sdapi/v1/options").json()
        options["sd_model_checkpoint"] = listed[0]["id"]
        http.post("/sdapi/v1/options", json=options).raise_for_status()
        # image_generations: get_image_model reads sd_model_checkpoint, then txt2img.
        model = http.get("/sdapi/v1/options").json()["sd_model_checkpoint"]
        assert model == listed[0]["id"]
        body = {"prompt": "a red barn", "batch_size": 2, "width": 128, "height": 96}
        body |= {"steps": 2, "negative_prompt": "blurry"}  # IMAGE_STEPS, the form's
        answer = http.post("/sdapi/v1/txt2img", json={**body, **admin_params})
    assert answer.status_code == 200, answer.text
    res = answer.json()
    info = json.loads(res["info"])  # stored with each image as metadata
    assert info["all_seeds"] and info["width"] == 128 and info["height"] == 96
    return [{"image": decoded_png(image), "info": info} for image in res["images"]]


def test_automatic1111_engine_without_keys(open_mock_server: LiveServer) -> None:
    """The default setup: no api_auth, so `authorization: Basic ` with nothing after it."""
    made = _automatic1111_engine(open_mock_server.base_url, "", {"cfg_scale": 5})
    assert [item["image"].size for item in made] == [(128, 96), (128, 96)]
    assert made[0]["info"]["cfg_scale"] == 5


def test_automatic1111_engine_with_a_key_and_admin_params(
    keyed_mock_server: LiveServer,
) -> None:
    """api_auth "alice:<key>"; AUTOMATIC1111_PARAMS merged over the body by an admin."""
    params = {"cfg_scale": 4.5, "sampler_name": "DDIM", "seed": 42, "enable_hr": False}
    made = _automatic1111_engine(keyed_mock_server.base_url, f"alice:{ALICE_KEY}", params)
    info = made[0]["info"]
    assert info["seed"] == 42 and info["all_seeds"] == [42, 43]
    assert info["sampler_name"] == "DDIM" and info["cfg_scale"] == 4.5


def test_automatic1111_engine_with_a_wrong_key_is_refused(
    keyed_mock_server: LiveServer,
) -> None:
    """verify_url fails on raise_for_status: Open WebUI then says the URL is invalid."""
    headers = {"authorization": basic_authorization("alice:not-the-key")}
    answer = httpx.get(f"{keyed_mock_server.base_url}/sdapi/v1/options", headers=headers)
    assert answer.status_code == 401


def test_switching_to_a_model_we_do_not_serve_is_a_clear_422(
    open_mock_server: LiveServer,
) -> None:
    headers = {"authorization": basic_authorization("")}
    with httpx.Client(base_url=open_mock_server.base_url, headers=headers) as http:
        options = http.get("/sdapi/v1/options").json()
        served = options["sd_model_checkpoint"]
        options["sd_model_checkpoint"] = "sdxl_base_1.0.safetensors"
        refused = http.post("/sdapi/v1/options", json=options)
        assert refused.status_code == 422
        assert set(refused.json()) == {"error", "detail", "body", "errors"}
        assert "sdxl_base_1.0.safetensors" in refused.json()["detail"]
        assert http.get("/sdapi/v1/options").json()["sd_model_checkpoint"] == served


def test_openai_engine_generation(keyed_mock_server: LiveServer) -> None:
    """IMAGE_GENERATION_ENGINE "openai", base URL .../v1, model left empty (so "dall-e-2"),
    IMAGE_SIZE "512x512", b64_json (dall-e-2 is not a URL-answering model), and
    IMAGES_OPENAI_API_PARAMS merged in last by an admin."""
    admin_params = {"num_inference_steps": 2, "negative_prompt": "blurry", "seed": 9}
    data = {"model": "dall-e-2", "prompt": "a lighthouse", "n": 1, "size": "512x512"}
    data |= {"response_format": "b64_json", **admin_params}
    headers = {"Authorization": f"Bearer {ALICE_KEY}", "Content-Type": "application/json"}
    answer = httpx.post(
        f"{keyed_mock_server.base_url}/v1/images/generations",
        content=json.dumps(data),
        headers=headers,
        timeout=60,
    )
    answer.raise_for_status()
    res = answer.json()
    assert len(res["data"]) == 1
    image = res["data"][0]
    assert image.get("url") is None  # else Open WebUI would fetch it
    assert decoded_png(image["b64_json"]).size == (512, 512)


def test_openai_engine_edit(keyed_mock_server: LiveServer) -> None:
    """image_edits: multipart with every field as a string (`str(value)`), the image as
    `image` named <uuid4>.png from its data: URL, no mask; b64_json."""
    data = {"model": "dall-e-2", "prompt": "the same, at dusk", "n": "1", "size": "96x64"}
    data["response_format"] = "b64_json"
    picture = base64.b64decode(b64_png_of(striped_picture(96, 64)))
    files = {"image": (f"{uuid.uuid4()}.png", picture, "image/png")}
    answer = httpx.post(
        f"{keyed_mock_server.base_url}/v1/images/edits",
        data=data,
        files=files,
        headers={"Authorization": f"Bearer {ALICE_KEY}"},
        timeout=60,
    )
    answer.raise_for_status()
    assert decoded_png(answer.json()["data"][0]["b64_json"]).size == (96, 64)
