"""Masks drawn on a transparent background, as GIMP, a canvas export or a hand-made API
mask sends them, over HTTP on the mock service: the upload keeps the alpha, and the
alpha, not the strokes' colour, says what is repainted; outside the strokes the result is
exactly the input."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient

SIZE = (96, 64)


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    stream = io.BytesIO()
    image.save(stream, fmt)
    return stream.getvalue()


def noise() -> np.ndarray:
    return np.random.default_rng(11).integers(0, 256, (SIZE[1], SIZE[0], 3), np.uint8)


def strokes(colour: tuple[int, int, int]) -> tuple[Image.Image, np.ndarray]:
    """A mask of ``colour`` strokes on a transparent background of the same hidden colour
    (so its luminance alone would be all one value), and where the strokes are."""
    mask = Image.new("RGBA", SIZE, (*colour, 0))
    mask.paste((*colour, 255), (24, 0, 40, SIZE[1]))
    mask.paste((*colour, 255), (0, 40, SIZE[0], 48))
    where = np.zeros((SIZE[1], SIZE[0]), bool)
    where[:, 24:40] = True
    where[40:48, :] = True
    return mask, where


def upload(client: TestClient, data: bytes, content_type: str = "image/png") -> str:
    answer = client.post("/uploads", content=data, headers={"content-type": content_type})
    assert answer.status_code == 201, answer.text
    upload_id: str = answer.json()["id"]
    return upload_id


def stored(client: TestClient, upload_id: str) -> Image.Image:
    answer = client.get(f"/uploads/{upload_id}.png")
    assert answer.status_code == 200, answer.text
    image = Image.open(io.BytesIO(answer.content))
    image.load()
    return image


def inpaint(client: TestClient, init_id: str, mask_id: str, **fields: Any) -> np.ndarray:
    answer = client.post(
        "/image",
        json={
            "prompt": "a red door",
            "num_inference_steps": 10,
            "seed": 3,
            "init_image": {"upload_id": init_id},
            "mask_image": {"upload_id": mask_id},
            "strength": 0.9,
            "mask_blur": 0,
            **fields,
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "succeeded" and body["mode"] == "inpainting"
    picture = Image.open(io.BytesIO(client.get(body["image_url"]).content))
    assert picture.size == SIZE
    return np.asarray(picture.convert("RGB"))


@pytest.mark.parametrize("colour", [(255, 255, 255), (0, 0, 0)], ids=["white", "black"])
def test_only_the_opaque_strokes_are_repainted(
    mock_client: TestClient, colour: tuple[int, int, int]
) -> None:
    original = noise()
    init_id = upload(mock_client, encoded(Image.fromarray(original)))
    mask, where = strokes(colour)
    mask_id = upload(mock_client, encoded(mask))
    assert stored(mock_client, mask_id).mode == "RGBA"

    result = inpaint(mock_client, init_id, mask_id)

    assert np.array_equal(result[~where], original[~where]), "kept: the input's own bytes"
    changed = np.any(result != original, axis=-1)
    assert changed[where].mean() > 0.9

    inverted = inpaint(mock_client, init_id, mask_id, invert_mask=True)
    assert np.array_equal(inverted[where], original[where])
    assert np.any(inverted != original, axis=-1)[~where].mean() > 0.9


def test_a_transparent_init_image_is_used_on_white_and_a_jpeg_stays_rgb(
    mock_client: TestClient,
) -> None:
    picture = Image.new("RGBA", SIZE, (255, 0, 0, 0))  # red, fully transparent
    picture.paste((0, 0, 255, 255), (0, 0, 48, SIZE[1]))
    init_id = upload(mock_client, encoded(picture))
    assert stored(mock_client, init_id).mode == "RGBA"
    jpeg_id = upload(mock_client, encoded(Image.new("RGB", SIZE, "green"), "JPEG"), "image/jpeg")
    assert stored(mock_client, jpeg_id).mode == "RGB"

    # Strength 0: the result is the input as the engine is given it.
    answer = mock_client.post(
        "/image",
        json={"prompt": "a sea", "init_image": {"upload_id": init_id}, "strength": 0},
    )
    assert answer.status_code == 200, answer.text
    result = Image.open(io.BytesIO(mock_client.get(answer.json()["image_url"]).content))
    assert result.convert("RGB").getpixel((8, 8)) == (0, 0, 255)
    assert result.convert("RGB").getpixel((80, 8)) == (255, 255, 255)
