"""Every field name our answers use is one the clients' own models declare, and none they
require is missing (issue 12 §4, "a schema check").

OpenAI: the `openai` package's pydantic models (ImagesResponse, Image, Model). They accept
extra fields silently, so parsing alone proves little: the names are compared too.

AUTOMATIC1111: the response models of its API, copied from AUTOMATIC1111/stable-diffusion-webui
modules/api/models.py at commit 008a8e7576387bc172f9ecd0384274dd19f9036b (TextToImageResponse,
ImageToImageResponse, ProgressResponse, SDModelItem, SamplerItem, SchedulerItem,
UpscalerItem, LatentUpscalerModeItem, SDVaeItem, ScriptsList), and the `info` JSON that
Processed.js() in modules/processing.py writes; plus what webuiapi 0.9.17's
`_to_api_result` reads (`images`, `info` through json.loads, `parameters`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openai.types import Image, ImagesResponse, Model
from pydantic import BaseModel

from tests.compat.pictures import b64_png_of, png_of, striped_picture
from tests.compat.servers import ALICE_KEY
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.server

# modules/api/models.py: field name -> required (no default there).
TEXT_TO_IMAGE_RESPONSE = {"images": False, "parameters": True, "info": True}
PROGRESS_RESPONSE = {
    "progress": True,
    "eta_relative": True,
    "state": True,
    "current_image": False,
    "textinfo": False,
}
SD_MODEL_ITEM = {
    "title": True,
    "model_name": True,
    "hash": True,
    "sha256": True,
    "filename": True,
    "config": True,
}
SAMPLER_ITEM = {"name": True, "aliases": True, "options": True}
SCHEDULER_ITEM = {
    "name": True,
    "label": True,
    "aliases": True,
    "default_rho": True,
    "need_inner_model": True,
}
UPSCALER_ITEM = {"name": True, "model_name": True, "model_path": True, "model_url": True}
UPSCALER_ITEM |= {"scale": True}
LATENT_UPSCALER_MODE_ITEM = {"name": True}
SD_VAE_ITEM = {"model_name": True, "filename": True}
SCRIPTS_LIST = {"txt2img": False, "img2img": False}
# The progress `state` (modules/shared_state.State.dict()).
PROGRESS_STATE = {"skipped", "interrupted", "job", "job_count", "job_timestamp", "job_no"}
PROGRESS_STATE |= {"sampling_step", "sampling_steps"}
# Processed.js() (modules/processing.py): every key AUTOMATIC1111 writes into `info`.
PROCESSED_INFO = {
    "prompt",
    "all_prompts",
    "negative_prompt",
    "all_negative_prompts",
    "seed",
    "all_seeds",
    "subseed",
    "all_subseeds",
    "subseed_strength",
    "width",
    "height",
    "sampler_name",
    "cfg_scale",
    "steps",
    "batch_size",
    "restore_faces",
    "face_restoration_model",
    "sd_model_name",
    "sd_model_hash",
    "sd_vae_name",
    "sd_vae_hash",
    "seed_resize_from_w",
    "seed_resize_from_h",
    "denoising_strength",
    "extra_generation_params",
    "index_of_first_image",
    "infotexts",
    "styles",
    "job_timestamp",
    "clip_skip",
    "is_using_inpainting_conditioning",
    "version",
}
# What the issue and the clients need of `info` (LibreChat and Open WebUI keep it whole).
NEEDED_INFO = {"prompt", "all_prompts", "negative_prompt", "seed", "all_seeds", "subseed"}
NEEDED_INFO |= {"width", "height", "sampler_name", "cfg_scale", "steps", "batch_size"}
NEEDED_INFO |= {"sd_model_name", "job_timestamp", "infotexts"}
# Ours, documented in entrypoints/automatic1111/answer.py: what was ignored or changed
# (issue 12 §1) and the jobs in our queue and gallery.
OUR_INFO_EXTRAS = {"warnings", "job_ids"}


@pytest.fixture(scope="module")
def http(keyed_mock_server: LiveServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {ALICE_KEY}"}
    with httpx.Client(base_url=keyed_mock_server.base_url, headers=headers, timeout=60) as client:
        yield client


def _fields(model: type[BaseModel]) -> dict[str, bool]:
    return {name: info.is_required() for name, info in model.model_fields.items()}


def _assert_shape(answer: dict[str, Any], declared: dict[str, bool], what: str) -> None:
    extra = set(answer) - set(declared)
    missing = {name for name, required in declared.items() if required} - set(answer)
    assert not extra, f"{what}: fields the client's model does not declare: {sorted(extra)}"
    assert not missing, f"{what}: required fields missing: {sorted(missing)}"


def _ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_openai_generation_and_edit_answers_are_images_responses(http: httpx.Client) -> None:
    generated = _ok(
        http.post(
            "/v1/images/generations",
            json={"prompt": "a red barn", "n": 2, "size": "64x64", "num_inference_steps": 2},
        )
    )
    linked = _ok(
        http.post(
            "/v1/images/generations",
            json={"prompt": "a red barn", "size": "64x64", "response_format": "url"},
        )
    )
    edited = _ok(
        http.post(
            "/v1/images/edits",
            data={"prompt": "at dusk", "size": "64x64"},
            files={"image": ("in.png", png_of(striped_picture(64, 64)), "image/png")},
        )
    )
    for name, answer in [("generation", generated), ("url", linked), ("edit", edited)]:
        _assert_shape(answer, _fields(ImagesResponse), f"{name} ImagesResponse")
        ImagesResponse.model_validate(answer, strict=False)
        for item in answer["data"]:
            _assert_shape(item, _fields(Image), f"{name} Image")
            assert ("b64_json" in item) != ("url" in item), item  # exactly one of them
            assert item.get("revised_prompt") is None


def test_openai_models_page_and_model(http: httpx.Client) -> None:
    page = _ok(http.get("/v1/models"))
    assert set(page) == {"object", "data"} and page["object"] == "list"
    for item in page["data"]:
        _assert_shape(item, _fields(Model), "Model")
        Model.model_validate(item)
    one = _ok(http.get(f"/v1/models/{page['data'][0]['id']}"))
    _assert_shape(one, _fields(Model), "Model (retrieve)")


def test_openai_error_shape(http: httpx.Client) -> None:
    answer = http.post("/v1/images/generations", json={"prompt": ""})
    assert answer.status_code == 400
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"] and body["error"]["param"] == "prompt"


def test_automatic1111_txt2img_and_img2img_answers(http: httpx.Client) -> None:
    body = {"prompt": "a red barn", "width": 64, "height": 64, "steps": 2, "batch_size": 2}
    txt2img = _ok(http.post("/sdapi/v1/txt2img", json=body))
    source = b64_png_of(striped_picture(64, 64))
    img2img = _ok(
        http.post(
            "/sdapi/v1/img2img",
            json={**body, "init_images": [source], "denoising_strength": 0.5},
        )
    )
    for name, answer in [("txt2img", txt2img), ("img2img", img2img)]:
        _assert_shape(answer, TEXT_TO_IMAGE_RESPONSE, f"{name} response")
        assert isinstance(answer["images"], list) and len(answer["images"]) == 2
        assert isinstance(answer["parameters"], dict)
        info = json.loads(answer["info"])  # webuiapi, LibreChat and Open WebUI parse it
        assert set(info) >= NEEDED_INFO, sorted(NEEDED_INFO - set(info))
        invented = set(info) - PROCESSED_INFO - OUR_INFO_EXTRAS
        assert not invented, f"{name} info: keys AUTOMATIC1111 does not write: {invented}"
        assert len(info["infotexts"]) == len(info["all_seeds"]) == 2


def test_automatic1111_progress(http: httpx.Client) -> None:
    progress = _ok(http.get("/sdapi/v1/progress", params={"skip_current_image": "true"}))
    _assert_shape(progress, PROGRESS_RESPONSE, "ProgressResponse")
    assert set(progress["state"]) >= PROGRESS_STATE
    assert progress["current_image"] is None


def test_automatic1111_catalogs(http: httpx.Client) -> None:
    catalogs = {
        "sd-models": SD_MODEL_ITEM,
        "samplers": SAMPLER_ITEM,
        "schedulers": SCHEDULER_ITEM,
        "upscalers": UPSCALER_ITEM,
        "latent-upscale-modes": LATENT_UPSCALER_MODE_ITEM,
        "sd-vae": SD_VAE_ITEM,
    }
    for path, declared in catalogs.items():
        items = _ok(http.get(f"/sdapi/v1/{path}"))
        assert isinstance(items, list), path
        for item in items:
            _assert_shape(item, declared, path)
    assert _ok(http.get("/sdapi/v1/sd-models")) and _ok(http.get("/sdapi/v1/samplers"))
    _assert_shape(_ok(http.get("/sdapi/v1/scripts")), SCRIPTS_LIST, "ScriptsList")


def test_automatic1111_error_shape(http: httpx.Client) -> None:
    answer = http.post("/sdapi/v1/txt2img", json={"prompt": "a red barn", "steps": "many"})
    assert answer.status_code == 422
    assert set(answer.json()) == {"error", "detail", "body", "errors"}
