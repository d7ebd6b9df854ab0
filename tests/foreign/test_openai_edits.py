"""`POST /v1/images/edits` on the mock backend: OpenAI's multipart edit as our
image-to-image, or inpainting where its mask is transparent.

The mock blends its pattern into the input where it repaints and leaves every other pixel
the input's own, so which pixels changed shows which way round the mask was read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from openai.types import ImagesResponse
from PIL import Image
from pydantic import SecretStr
from starlette.testclient import TestClient

from entrypoints.app import create_app
from entrypoints.openai_images.edit_form import MAX_TEXT_FIELD_BYTES
from entrypoints.openai_images.edit_routes import EDIT_MAX_PARTS
from tests.conftest import make_settings
from tests.foreign.openai_support import VALID_STATUSES, answer_pngs, image_of, jobs_of, png_of

EDITS = "/v1/images/edits"
GREEN = (10, 200, 30)
WIDTH, HEIGHT = 256, 128
Files = list[tuple[str, tuple[str, bytes, str]]]


def picture(size: tuple[int, int] = (WIDTH, HEIGHT), colour: tuple[int, int, int] = GREEN) -> bytes:
    return png_of(Image.new("RGB", size, colour))


def left_half_transparent() -> bytes:
    """OpenAI's mask: transparent where to repaint (the left half), opaque elsewhere."""
    mask = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, WIDTH // 2, HEIGHT))
    return png_of(mask)


def image_file(data: bytes, field: str = "image") -> tuple[str, tuple[str, bytes, str]]:
    return (field, ("picture.png", data, "image/png"))


def edit(client: TestClient, files: Files, **fields: Any) -> dict[str, Any]:
    data = {"prompt": "a red barn", "num_inference_steps": "4", **fields}
    response = client.post(EDITS, files=files, data=data)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def changed(png: bytes) -> np.ndarray:
    """Which pixels of the answer differ from the green input."""
    pixels = np.asarray(image_of(png).convert("RGB"), dtype=np.int32)
    differs: np.ndarray = np.abs(pixels - np.array(GREEN)).sum(axis=2) > 0
    return differs


def test_without_a_mask_the_whole_image_is_reworked(mock_client: TestClient) -> None:
    answer = edit(mock_client, [image_file(picture())])
    [png] = answer_pngs(answer)
    assert image_of(png).size == (WIDTH, HEIGHT)  # size left out: the input's
    assert changed(png).all()
    ImagesResponse.model_validate(answer)
    [job] = jobs_of(mock_client)
    assert job["mode"] == "image_to_image"
    assert job["params"]["strength"] == 0.75
    assert mock_client.get(job["images"][0]["url"]).content == png


def test_a_transparent_mask_area_is_what_is_repainted(mock_client: TestClient) -> None:
    files = [image_file(picture()), image_file(left_half_transparent(), "mask")]
    [png] = answer_pngs(edit(mock_client, files, mask_blur="0"))
    repainted = changed(png)
    assert repainted[:, : WIDTH // 2].all()
    assert not repainted[:, WIDTH // 2 :].any()
    [job] = jobs_of(mock_client)
    assert job["mode"] == "inpainting"
    assert job["params"]["invert_mask"] is True


def test_the_first_of_several_images_is_edited(mock_client: TestClient) -> None:
    files = [
        image_file(picture(), "image[]"),
        image_file(picture((128, 256), (200, 0, 0)), "image[]"),
    ]
    pngs = answer_pngs(edit(mock_client, files, n="2", strength="0.25"))
    assert [image_of(png).size for png in pngs] == [(WIDTH, HEIGHT)] * 2
    [job] = jobs_of(mock_client)
    assert job["params"]["num_images"] == 2
    assert job["params"]["strength"] == 0.25


def test_a_size_given_is_fitted_and_the_image_fills_it(mock_client: TestClient) -> None:
    answer = edit(mock_client, [image_file(picture())], size="1792x1024", response_format="url")
    [item] = answer["data"]
    assert image_of(mock_client.get(item["url"]).content).size == (1024, 584)


def test_our_extra_fields_are_honoured(mock_client: TestClient) -> None:
    fields = {"seed": "77", "guidance_scale": "4.5", "negative_prompt": "fog", "scheduler": "ddim"}
    edit(mock_client, [image_file(picture())], **fields)
    params = jobs_of(mock_client)[0]["params"]
    assert (params["seed"], params["guidance_scale"]) == (77, 4.5)
    assert (params["negative_prompt"], params["scheduler"]) == ("fog", "ddim")


def uploads(client: TestClient) -> list[Any]:
    listed: list[Any] = client.get("/uploads").json()["uploads"]
    return listed


@pytest.mark.parametrize(
    ("files", "fields", "field"),
    [
        ([], {}, "image"),
        ([image_file(b"")], {}, "image"),
        ([image_file(b"not a picture")], {}, "image"),
        (
            [image_file(picture()), image_file(png_of(Image.new("RGBA", (8, 8))), "mask")],
            {},
            "mask",
        ),
        ([image_file(picture())], {"size": "wide"}, "size"),
        ([image_file(picture())], {"n": "11"}, "n"),
        ([image_file(picture())], {"n": "two"}, "n"),
        ([image_file(picture())], {"strength": "much"}, "strength"),
        ([image_file(picture())], {"seed": "1.5"}, "seed"),
        ([image_file(picture())], {"response_format": "jpeg"}, "response_format"),
        ([image_file(picture())], {"stream": "true"}, "stream"),
        ([image_file(picture())], {"prompt": ""}, "prompt"),
    ],
)
def test_a_bad_field_is_refused_by_its_openai_name_and_leaves_nothing(
    mock_client: TestClient, files: Files, fields: dict[str, str], field: str
) -> None:
    data = {"prompt": "a red barn", **fields}
    # A form without files is still sent as multipart, as the clients send it.
    files = files or [("unrelated", ("x.txt", b"x", "text/plain"))]
    response = mock_client.post(EDITS, files=files, data=data)
    assert response.status_code in VALID_STATUSES, response.text
    assert field in response.text
    assert jobs_of(mock_client) == []
    assert uploads(mock_client) == []


def test_a_body_that_is_not_a_form_is_415(mock_client: TestClient) -> None:
    response = mock_client.post(EDITS, json={"prompt": "a red barn", "image": "abc"})
    assert response.status_code == 415
    assert "multipart/form-data" in response.text


def test_a_text_field_over_its_bound_or_not_utf8_is_refused(mock_client: TestClient) -> None:
    big = {"prompt": "a" * (MAX_TEXT_FIELD_BYTES + 1)}
    response = mock_client.post(EDITS, files=[image_file(picture())], data=big)
    assert response.status_code in VALID_STATUSES
    assert "prompt" in response.text
    boundary = "xyz"
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + picture() + b"\r\n"
        b'--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n\xff\xfe\r\n--xyz--\r\n'
    )
    response = mock_client.post(
        EDITS, content=body, headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code in VALID_STATUSES
    assert "UTF-8" in response.text


def test_a_form_of_too_many_parts_is_400(mock_client: TestClient) -> None:
    fields = {f"field{index}": "x" for index in range(EDIT_MAX_PARTS)}
    response = mock_client.post(EDITS, files=[image_file(picture())], data=fields)
    assert response.status_code == 400
    assert f"at most {EDIT_MAX_PARTS}" in response.text


@pytest.fixture
def small_upload_client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path, use_mocks=True, max_upload_mb=1))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def test_a_form_over_two_uploads_is_413(small_upload_client: TestClient) -> None:
    files = [image_file(b"\0" * 2**20, "image[]") for _ in range(3)]
    response = small_upload_client.post(EDITS, files=files, data={"prompt": "a red barn"})
    assert response.status_code == 413
    assert jobs_of(small_upload_client) == []


def test_an_api_key_is_taken_as_a_bearer_token(tmp_path: Path) -> None:
    keys = SecretStr("alice:alice-key-0123456789")
    app = create_app(make_settings(tmp_path, use_mocks=True, api_keys=keys))
    bearer = {"authorization": "Bearer alice-key-0123456789"}
    files, data = [image_file(picture())], {"prompt": "a red barn", "num_inference_steps": "2"}
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.post(EDITS, files=files, data=data).status_code == 401
        response = client.post(EDITS, files=files, data=data, headers=bearer)
        assert response.status_code == 200, response.text
        assert len(jobs_of(client, bearer)) == 1
