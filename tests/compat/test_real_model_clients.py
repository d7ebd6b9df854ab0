"""Both real clients against one live server on the tiny real OpenVINO model: what the mock
backend cannot show, that the translated requests run the engines (text, image-to-image and
inpainting) and come back as the clients expect. Tiny sizes and few steps keep it quick."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import openai
import pytest
import webuiapi  # type: ignore[import-untyped]
from PIL import Image

from tests.compat.pictures import decoded_png, png_of, striped_picture
from tests.support.live_server import LiveServer

pytestmark = [pytest.mark.openvino, pytest.mark.server]

SIZE = 64
FEW_STEPS = {"num_inference_steps": 3}


@pytest.fixture(scope="module")
def real_server(tiny_model_server: LiveServer) -> LiveServer:
    """The session's server on the tiny model (shared with tests/e2e: one start)."""
    assert tiny_model_server.health()["mock"] is False
    return tiny_model_server


@pytest.fixture(scope="module")
def openai_client(real_server: LiveServer) -> Iterator[openai.OpenAI]:
    base_url = f"{real_server.base_url}/v1"
    with openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def webui(real_server: LiveServer) -> Iterator[Any]:
    port = int(real_server.base_url.rsplit(":", 1)[1])
    client = webuiapi.WebUIApi(host="127.0.0.1", port=port, steps=3)
    yield client
    client.session.close()


def test_openai_generate(openai_client: openai.OpenAI) -> None:
    result = openai_client.images.generate(
        model="dall-e-2", prompt="a red barn", size=f"{SIZE}x{SIZE}", extra_body=FEW_STEPS
    )
    assert result.data is not None and result.data[0].b64_json is not None
    _assert_a_picture(decoded_png(result.data[0].b64_json), (SIZE, SIZE))


def test_openai_edit_with_a_mask(openai_client: openai.OpenAI) -> None:
    mask = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, SIZE // 2, SIZE))
    result = openai_client.images.edit(
        image=("input.png", png_of(striped_picture(SIZE, SIZE)), "image/png"),
        mask=("mask.png", png_of(mask), "image/png"),
        prompt="a window in the wall",
        size=f"{SIZE}x{SIZE}",
        extra_body=FEW_STEPS,
    )
    assert result.data is not None and result.data[0].b64_json is not None
    _assert_a_picture(decoded_png(result.data[0].b64_json), (SIZE, SIZE))


def test_webuiapi_txt2img_and_img2img_with_a_mask(webui: Any) -> None:
    made = webui.txt2img(prompt="a lighthouse", width=SIZE, height=SIZE, seed=5)
    _assert_a_picture(made.image, (SIZE, SIZE))
    assert made.info["all_seeds"] == [5] and made.info["steps"] == 3
    mask = Image.new("L", (SIZE, SIZE), 0)
    mask.paste(255, (0, 0, SIZE // 2, SIZE))
    edited = webui.img2img(
        images=[made.image],
        mask_image=mask,
        prompt="a lighthouse at night",
        width=SIZE,
        height=SIZE,
        denoising_strength=0.75,
        seed=6,
    )
    _assert_a_picture(edited.image, (SIZE, SIZE))
    assert edited.info["seed"] == 6 and edited.info["denoising_strength"] == 0.75


def _assert_a_picture(image: Image.Image, size: tuple[int, int]) -> None:
    assert image.size == size
    pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 16  # not a flat colour
