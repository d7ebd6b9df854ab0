"""The `openai` Python package, unmodified, against a live server on the mock backend:
`OpenAI(base_url=".../v1", api_key=...)` as its users write it (issue 12 §4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import httpx
import openai
import pytest
from openai.types import ImagesResponse
from PIL import Image

from tests.compat.pictures import (
    decoded_png,
    differing_pixels,
    png_from_bytes,
    png_of,
    striped_picture,
)
from tests.compat.servers import ALICE_KEY
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.server

# Our own API's fields, which OpenAI's clients pass through as extra body (Open WebUI lets
# its admins add them): 2 steps keep the slow-stepped server quick.
FEW_STEPS = {"num_inference_steps": 2}


@pytest.fixture(scope="module")
def client(open_mock_server: LiveServer) -> Iterator[openai.OpenAI]:
    # The service without keys takes any key: clients insist on sending one.
    with openai.OpenAI(
        base_url=f"{open_mock_server.base_url}/v1", api_key="unused", max_retries=0
    ) as opened:
        yield opened


def test_generate_answers_base64_pngs_of_the_asked_size(client: openai.OpenAI) -> None:
    result = client.images.generate(
        model="dall-e-2", prompt="a red barn", n=2, size="128x96", response_format="b64_json"
    )
    assert result.created > 0
    assert result.data is not None and len(result.data) == 2
    for image in result.data:
        assert image.url is None and image.b64_json
        assert decoded_png(image.b64_json).size == (128, 96)
    assert result.data[0].b64_json != result.data[1].b64_json  # consecutive seeds


def test_generate_with_url_points_at_the_same_picture(client: openai.OpenAI) -> None:
    """A seed (an extra field our API knows) makes both calls the same picture: the URL
    serves what the base64 answer carries."""

    def generate(response_format: Literal["url", "b64_json"]) -> ImagesResponse:
        return client.images.generate(
            model="dall-e-3",
            prompt="a lighthouse",
            size="96x64",
            response_format=response_format,
            extra_body={**FEW_STEPS, "seed": 1234},
        )

    inline, linked = generate("b64_json"), generate("url")
    assert inline.data is not None and linked.data is not None
    url = linked.data[0].url
    assert url is not None and linked.data[0].b64_json is None
    # Absolute: Open WebUI fetches what starts with http:// and base64-decodes the rest.
    assert url.startswith(f"{client.base_url.scheme}://{client.base_url.host}")
    fetched = httpx.get(url, timeout=10)
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
    picture = png_from_bytes(fetched.content)
    assert picture.size == (96, 64)
    assert inline.data[0].b64_json is not None
    assert picture.tobytes() == decoded_png(inline.data[0].b64_json).tobytes()


def test_edit_without_a_mask_repaints_the_whole_picture(client: openai.OpenAI) -> None:
    source = striped_picture(96, 64)
    result = client.images.edit(
        image=("input.png", png_of(source), "image/png"),
        prompt="the same, at dusk",
        size="96x64",
        extra_body=FEW_STEPS,
    )
    assert result.data is not None and len(result.data) == 1
    assert result.data[0].b64_json is not None
    edited = decoded_png(result.data[0].b64_json).convert("RGB")
    assert edited.size == (96, 64)
    assert differing_pixels(edited, source, (0, 0, 96, 64)) > 96 * 64 // 2


def test_edit_with_a_mask_repaints_only_its_transparent_pixels(client: openai.OpenAI) -> None:
    """OpenAI's mask: transparent pixels mark the area to repaint, opaque ones are kept."""
    source = striped_picture(96, 64)
    mask = Image.new("RGBA", (96, 64), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 48, 64))  # the left half is to be repainted
    result = client.images.edit(
        image=("input.png", png_of(source), "image/png"),
        mask=("mask.png", png_of(mask), "image/png"),
        prompt="a window in the wall",
        size="96x64",
        response_format="b64_json",
        extra_body=FEW_STEPS,
    )
    assert result.data is not None and result.data[0].b64_json is not None
    edited = decoded_png(result.data[0].b64_json).convert("RGB")
    # Away from the border (which a mask blur softens): the kept half is the input's own.
    assert differing_pixels(edited, source, (64, 0, 96, 64)) == 0
    assert differing_pixels(edited, source, (0, 0, 32, 64)) > 32 * 64 // 2


def test_models_list_and_retrieve_name_the_served_model(client: openai.OpenAI) -> None:
    models = list(client.models.list())
    assert models, "no model listed"
    for model in models:
        assert model.object == "model" and model.id and model.owned_by
        assert isinstance(model.created, int)
    assert client.models.retrieve(models[0].id).id == models[0].id


def test_a_bad_request_raises_bad_request_error_naming_the_field(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.generate(prompt="a red barn", size="banana")
    error = raised.value
    assert error.status_code == 400
    assert error.message and "size" in error.message
    assert isinstance(error.body, dict) and error.body.get("param") == "size"


def test_an_unknown_model_id_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_with_keys_the_key_works_and_a_wrong_one_is_refused(
    keyed_mock_server: LiveServer,
) -> None:
    base_url = f"{keyed_mock_server.base_url}/v1"
    with openai.OpenAI(base_url=base_url, api_key=ALICE_KEY, max_retries=0) as keyed:
        result = keyed.images.generate(prompt="a red barn", size="64x64", extra_body=FEW_STEPS)
        assert result.data is not None and result.data[0].b64_json is not None
        assert [model.id for model in keyed.models.list()]
    with (
        openai.OpenAI(base_url=base_url, api_key="not-a-key", max_retries=0) as wrong,
        pytest.raises(openai.AuthenticationError) as raised,
    ):
        wrong.images.generate(prompt="a red barn", size="64x64")
    assert raised.value.status_code == 401
    assert raised.value.message
