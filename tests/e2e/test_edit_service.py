"""Image-to-image and inpainting through HTTP, on the real engines and the tiny model.

Upload, then generate: the output's size follows the input, inpainting keeps the pixels
outside the mask (pasted back, as AUTOMATIC1111 does), strength 0 gives the input back and
strength 1 does not, and the PNG says where it came from. Both engines.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image
from starlette.testclient import TestClient

from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.e2e.conftest import wait_until_ready
from tests.openvino.rendering import skip_unless_installed

pytestmark = pytest.mark.openvino

STEPS = 4
WIDTH, HEIGHT = 128, 96
# The repainted rectangle, and how far from it the blurred mask's edge may reach:
# PIL's Gaussian blur of radius 4 is 0 in 8 bits well before 16 px.
HOLE = (48, 32, 80, 64)  # left, top, right, bottom
EDGE = 16

Pixels = npt.NDArray[np.int16]


def pattern(width: int, height: int) -> Image.Image:
    """Gradients and stripes: every pixel differs from its neighbours somewhere."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // (width - 1), y * 255 // (height - 1), (x // 8 + y // 8) % 2 * 200])
    return Image.fromarray(rgb.transpose(1, 2, 0).astype(np.uint8), "RGB")


def hole_mask() -> Image.Image:
    mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    left, top, right, bottom = HOLE
    mask[top:bottom, left:right] = 255
    return Image.fromarray(mask, "L")


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pixels(image: Image.Image) -> Pixels:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def upload(client: TestClient, image: Image.Image) -> dict[str, Any]:
    response = client.post(
        "/uploads", content=png_bytes(image), headers={"content-type": "image/png"}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def generate(client: TestClient, **fields: Any) -> tuple[dict[str, Any], Image.Image]:
    request = {"prompt": "a red door", "num_inference_steps": STEPS, "seed": 7, **fields}
    response = client.post("/image", json=request)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    image = Image.open(io.BytesIO(client.get(body["image_url"]).content))
    image.load()
    return body, image


@pytest.fixture(scope="module", params=["genai", "optimum"])
def edit_client(
    request: pytest.FixtureRequest,
    tiny_model_dir: Path,
    openvino_cache_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TestClient]:
    engine: str = request.param
    skip_unless_installed(engine)
    settings = make_settings(
        tmp_path_factory.mktemp(f"edit-{engine}"),
        model_dir=tiny_model_dir,
        ov_cache_dir=openvino_cache_dir,  # the session's: no test here is about a cold compile
        openvino_device="CPU",
        openvino_engine=engine,
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        wait_until_ready(client)
        yield client


def test_image_to_image_takes_its_size_from_the_input(edit_client: TestClient) -> None:
    source = pattern(96, 64)
    stored = upload(edit_client, source)
    assert (stored["width"], stored["height"]) == (96, 64)
    assert stored["sha256"] == hashlib.sha256(edit_client.get(stored["url"]).content).hexdigest()

    body, image = generate(edit_client, init_image={"upload_id": stored["id"]}, strength=0.5)

    assert image.size == (96, 64)
    assert body["mode"] == "image_to_image"
    assert (body["params"]["width"], body["params"]["height"]) == (96, 64)
    init = body["params"]["init_image"]
    assert (init["upload_id"], init["sha256"], init["origin"]) == (
        stored["id"],
        stored["sha256"],
        "upload",
    )
    assert body["params"]["mask_image"] is None
    # int(4 * 0.5) steps run, and progress counts those, not the request's 4.
    assert body["progress"] == {"step": 2, "total": 2}


def test_inpainting_keeps_the_pixels_outside_the_mask(edit_client: TestClient) -> None:
    source = pattern(WIDTH, HEIGHT)
    init, mask = upload(edit_client, source), upload(edit_client, hole_mask())

    body, image = generate(
        edit_client,
        init_image={"upload_id": init["id"]},
        mask_image={"upload_id": mask["id"]},
        strength=1.0,
    )

    assert image.size == (WIDTH, HEIGHT)
    assert body["mode"] == "inpainting"
    assert body["params"]["mask_image"]["sha256"] == mask["sha256"]
    before, after = pixels(source), pixels(image)
    left, top, right, bottom = HOLE
    far = np.ones((HEIGHT, WIDTH), dtype=bool)
    far[top - EDGE : bottom + EDGE, left - EDGE : right + EDGE] = False
    # Pasted back: the input's own pixels, not a VAE round trip of them (with random
    # weights that round trip is noise). 1 allows for rounding in the composite.
    assert np.abs(after - before)[far].max() <= 1
    hole = np.s_[top:bottom, left:right]
    assert np.abs(after[hole] - before[hole]).mean() > 10  # the masked area was repainted


def test_strength_zero_returns_the_input_and_one_does_not(edit_client: TestClient) -> None:
    source = pattern(96, 64)
    stored = upload(edit_client, source)

    body, same = generate(edit_client, init_image={"upload_id": stored["id"]}, strength=0)
    assert body["progress"]["total"] == 0
    assert np.array_equal(pixels(same), pixels(source))

    # "fill": scaled to cover 64x64 (here by 1), the overflow cropped evenly on each side.
    _, cropped = generate(
        edit_client, init_image={"upload_id": stored["id"]}, strength=0, width=64, height=64
    )
    assert cropped.size == (64, 64)
    assert np.abs(pixels(cropped) - pixels(source)[:, 16:80]).max() <= 1

    _, changed = generate(edit_client, init_image={"upload_id": stored["id"]}, strength=1.0)
    assert changed.size == (96, 64)
    assert np.abs(pixels(changed) - pixels(source)).mean() > 10


def test_an_inline_image_and_a_gallery_image_serve_as_inputs(edit_client: TestClient) -> None:
    source = pattern(96, 64)
    inline = "data:image/png;base64," + base64.b64encode(png_bytes(source)).decode("ascii")
    first, first_image = generate(edit_client, init_image=inline, strength=0.5)
    assert first["params"]["init_image"]["origin"] == "inline"
    assert first_image.size == (96, 64)

    again, again_image = generate(edit_client, init_image={"data": inline}, strength=0.5)
    assert again["params"]["init_image"]["sha256"] == first["params"]["init_image"]["sha256"]
    assert np.array_equal(pixels(again_image), pixels(first_image))  # same inputs and seed

    gallery_id = first["image_url"].rsplit("/", 1)[-1]
    body, image = generate(edit_client, init_image={"image_id": gallery_id}, strength=0.5)
    init = body["params"]["init_image"]
    assert (init["origin"], init["origin_id"]) == ("gallery", gallery_id)
    assert image.size == (96, 64)


def test_the_png_says_which_inputs_and_settings_made_it(edit_client: TestClient) -> None:
    init = upload(edit_client, pattern(WIDTH, HEIGHT))
    mask = upload(edit_client, hole_mask())
    body, image = generate(
        edit_client,
        init_image={"upload_id": init["id"]},
        mask_image={"upload_id": mask["id"]},
        strength=0.6,
        mask_blur=4,
    )
    settings_line = image.info["parameters"].splitlines()[-1]
    assert "Denoising strength: 0.6" in settings_line
    assert "Mask blur: 4" in settings_line
    assert f"Size: {WIDTH}x{HEIGHT}" in settings_line
    provenance = json.loads(image.info["provenance"])
    assert provenance["request"] == body["params"]
    recorded = json.dumps(provenance)
    for fact in ("inpainting", init["sha256"], mask["sha256"], init["id"], mask["id"]):
        assert fact in recorded, fact
