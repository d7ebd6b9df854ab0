"""The real `openai` and `webuiapi` clients, unmodified, against live servers with the
model's own safety checker on (the tiny converted checker, served by openvino alone in a
process that cannot import torch, diffusers or transformers), on the mock backend.

With the checker that flags everything, both clients parse the answers, each image is the
covered one and carries its flag (`nsfw` on OpenAI's items, `info["nsfw"]` for A1111's);
with the one that flags nothing, the images are exactly the unfiltered ones and say so.
The unfiltered pixels come from the session's open mock server (same seed, same pixels).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import openai
import pytest
import webuiapi  # type: ignore[import-untyped]
from openai.types import Image as OpenAIImage
from openai.types import ImagesResponse
from PIL import Image

from adapters.pillow_image_cover import PillowImageCover
from application.ports import RenderedImage
from tests.compat.pictures import b64_png_of, striped_picture
from tests.compat.servers import mock_environment
from tests.support.live_server import LiveServer, live_server

pytestmark = [pytest.mark.server, pytest.mark.openvino]

TORCH_AND_CO = ("torch", "diffusers", "transformers")
OUR_IMAGE_EXTRAS = {"nsfw"}
"""The one field our OpenAI image items add to OpenAI's, and only with a checker on
(documented in entrypoints/openai_images/images_answer.py)."""
# Our own API's fields, which OpenAI's clients pass as extra body: a seed makes the picture
# comparable with the unfiltered server's, two steps keep it quick.
OURS = {"seed": 4242, "num_inference_steps": 2}
PROMPT = "a red barn"


def checked_server(directory: Path, checker_dir: Path) -> Iterator[LiveServer]:
    env = mock_environment(directory, SAFETY_CHECKER="sd_checker")
    env["SAFETY_CHECKER_DIR"] = str(checker_dir)
    with live_server(env, directory / "server.log", blocked_modules=TORCH_AND_CO) as server:
        server.wait_until_ready()
        yield server


@pytest.fixture(scope="module")
def flag_all_server(
    tmp_path_factory: pytest.TempPathFactory, tiny_safety_checker_flag_all_dir: Path
) -> Iterator[LiveServer]:
    yield from checked_server(
        tmp_path_factory.mktemp("compat-flag-all"), tiny_safety_checker_flag_all_dir
    )


@pytest.fixture(scope="module")
def flag_none_server(
    tmp_path_factory: pytest.TempPathFactory, tiny_safety_checker_flag_none_dir: Path
) -> Iterator[LiveServer]:
    yield from checked_server(
        tmp_path_factory.mktemp("compat-flag-none"), tiny_safety_checker_flag_none_dir
    )


def openai_client(server: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)


def webui_client(server: LiveServer) -> Any:
    return webuiapi.WebUIApi(host="127.0.0.1", port=int(server.base_url.rsplit(":", 1)[1]), steps=2)


def rgb_of(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as picture:
        pixels: bytes = picture.convert("RGB").tobytes()
    return pixels


def covered(png: bytes) -> bytes:
    """What the checker's cover makes of the unfiltered ``png``."""
    with Image.open(io.BytesIO(png)) as picture:
        image = RenderedImage(picture.width, picture.height, picture.convert("RGB").tobytes(), 0)
    return PillowImageCover("blur").cover(image).rgb


def unfiltered_openai(server: LiveServer, n: int, size: str) -> list[bytes]:
    """The PNGs our own API's twin request makes without a checker (same seeds)."""
    width, height = (int(side) for side in size.split("x"))
    body = {"prompt": PROMPT, "width": width, "height": height, "num_images": n, **OURS}
    job = httpx.post(f"{server.base_url}/image", json=body, timeout=60).json()
    return [
        httpx.get(f"{server.base_url}{image['url']}", timeout=10).content for image in job["images"]
    ]


def generate(
    client: openai.OpenAI, response_format: Literal["url", "b64_json"], n: int = 1
) -> ImagesResponse:
    return client.images.generate(
        model="dall-e-2",
        prompt=PROMPT,
        n=n,
        size="256x256",
        response_format=response_format,
        extra_body=OURS,
    )


def assert_our_image_item(item: OpenAIImage, nsfw: bool) -> None:
    assert item.model_extra == {"nsfw": nsfw}
    extra = set(item.model_dump(exclude_unset=True)) - set(OpenAIImage.model_fields)
    assert extra == OUR_IMAGE_EXTRAS


def test_openai_client_gets_covered_images_flagged(
    flag_all_server: LiveServer, open_mock_server: LiveServer
) -> None:
    originals = unfiltered_openai(open_mock_server, 2, "256x256")
    with openai_client(flag_all_server) as client:
        inline = generate(client, "b64_json", n=2)
        linked = generate(client, "url")

    assert inline.data is not None and len(inline.data) == 2
    for item, original in zip(inline.data, originals, strict=True):
        assert_our_image_item(item, nsfw=True)
        assert item.b64_json is not None
        assert rgb_of(base64.b64decode(item.b64_json)) == covered(original)
    assert linked.data is not None
    [item] = linked.data
    assert_our_image_item(item, nsfw=True)
    assert item.url is not None
    assert rgb_of(httpx.get(item.url, timeout=10).content) == covered(originals[0])


def test_openai_client_gets_passing_images_untouched(
    flag_none_server: LiveServer, open_mock_server: LiveServer
) -> None:
    [original] = unfiltered_openai(open_mock_server, 1, "256x256")
    with openai_client(flag_none_server) as client:
        answer = generate(client, "b64_json")

    assert answer.data is not None
    [item] = answer.data
    assert_our_image_item(item, nsfw=False)
    assert item.b64_json is not None
    assert rgb_of(base64.b64decode(item.b64_json)) == rgb_of(original)


def unfiltered_a1111(server: LiveServer, body: dict[str, Any]) -> list[bytes]:
    answer = httpx.post(f"{server.base_url}/sdapi/v1/txt2img", json=body, timeout=60).json()
    return [base64.b64decode(image) for image in answer["images"]]


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def img2img(api: Any) -> Any:
    return api.img2img(
        images=[striped_picture(64, 64)],
        prompt="at dusk",
        seed=8,
        width=64,
        height=64,
        denoising_strength=0.5,
    )


def test_webuiapi_gets_covered_images_and_the_flags_in_info(
    flag_all_server: LiveServer, open_mock_server: LiveServer
) -> None:
    body = {"prompt": PROMPT, "width": 96, "height": 64, "steps": 2, "seed": 7, "batch_size": 2}
    originals = unfiltered_a1111(open_mock_server, body)
    plain_api, api = webui_client(open_mock_server), webui_client(flag_all_server)
    try:
        result = api.txt2img(**body)
        edited = img2img(api)
        plain_edit = img2img(plain_api)
    finally:
        api.session.close()
        plain_api.session.close()

    assert result.info["nsfw"] == [True, True]
    assert [rgb_of(png_bytes(image)) for image in result.images] == [
        covered(original) for original in originals
    ]
    assert edited.info["nsfw"] == [True] and "nsfw" not in plain_edit.info
    assert rgb_of(png_bytes(edited.image)) == covered(png_bytes(plain_edit.image))


def test_webuiapi_gets_passing_images_untouched(
    flag_none_server: LiveServer, open_mock_server: LiveServer
) -> None:
    body = {"prompt": PROMPT, "width": 64, "height": 64, "steps": 2, "seed": 9}
    [original] = unfiltered_a1111(open_mock_server, body)
    api = webui_client(flag_none_server)
    try:
        result = api.txt2img(**body)
    finally:
        api.session.close()

    assert result.info["nsfw"] == [False]
    assert rgb_of(png_bytes(result.image)) == rgb_of(original)


def test_health_names_the_checker_that_judged(flag_all_server: LiveServer) -> None:
    safety = httpx.get(f"{flag_all_server.base_url}/health", timeout=10).json()["safety"]
    assert safety["checker"] == "sd_checker" and safety["loaded"] is True
    assert safety["action"] == "blur" and safety["previews"] == "blur"
    assert safety["version"] and safety["device"] == "CPU"
    sent = b64_png_of(striped_picture(64, 64))
    answer = httpx.post(
        f"{flag_all_server.base_url}/sdapi/v1/img2img",
        json={"prompt": "x", "init_images": [sent], "steps": 2},
        timeout=60,
    )
    assert json.loads(answer.json()["info"])["nsfw"] == [True]
