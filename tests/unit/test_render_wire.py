"""What travels through the cluster's queue for one image: lossless, complete, versioned."""

from __future__ import annotations

import json

import pytest

from adapters.render_wire import decode_image, decode_render, encode_image, encode_render
from application.ports import EditImages, RenderedImage
from domain.generation_request import GenerationRequest
from domain.input_image import InputImage
from entrypoints.queue_address import redacted


def test_a_text_render_comes_back_as_the_same_request_and_seed() -> None:
    request = GenerationRequest(
        prompt="a lighthouse", negative_prompt="fog", num_inference_steps=7, seed=5,
        scheduler="euler", num_images=2, width=256, height=384,
    )  # fmt: skip
    wire = json.loads(json.dumps(encode_render(request, 6, None)))  # SAQ stores JSON

    assert decode_render(wire) == (request, 6, None)


def test_an_edit_carries_its_pixels_so_a_worker_needs_no_disk() -> None:
    init = InputImage(upload_id="a" * 32, sha256="b" * 64, width=64, height=72)
    request = GenerationRequest(
        prompt="p", init_image=init, mask_image=init, width=64, height=72, strength=0.5
    )
    edit = EditImages(64, 72, bytes(range(256)) * 54, mask=bytes([0, 255]) * 2304)

    decoded = decode_render(json.loads(json.dumps(encode_render(request, 1, edit))))

    assert decoded == (request, 1, edit)


def test_pixels_come_back_exactly_with_their_timings() -> None:
    image = RenderedImage(3, 2, bytes(range(18)), 9, {"unet_per_call": 12.5})

    assert decode_image(json.loads(json.dumps(encode_image(image)))) == image


def test_a_damaged_or_foreign_render_is_refused() -> None:
    wire = encode_render(GenerationRequest(prompt="p"), 1, None)
    with pytest.raises(ValueError, match="wire version"):
        decode_render({**wire, "wire": 99})
    image = encode_image(RenderedImage(2, 2, bytes(12), 1))
    with pytest.raises(ValueError, match="bytes of pixels"):
        decode_image({**image, "width": 3})


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:s3cret@host:6379/0", "redis://***@host:6379/0"),
        ("rediss://teacher:s3cret@host:6380/0", "rediss://teacher:***@host:6380/0"),
        ("redis://a:b@c@host/0", "redis://a:***@host/0"),
    ],
)
def test_the_queue_address_is_shown_without_its_password(url: str, shown: str) -> None:
    assert redacted(url) == shown
    assert "s3cret" not in redacted(url)
