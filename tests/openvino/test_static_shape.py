"""Static shapes: the default request runs on a pipeline compiled for its exact shape.

Another size, or no guidance, swaps in a dynamic pipeline for that request; the next
default request swaps the static one back. Every answer is the right image either way.

At 512x512 one UNet call of even the tiny model takes seconds on a CPU, so the module loads
the static backend once, and the renders whose step count no claim depends on run one step
(from an image at strength 1.0: one step too).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from adapters.openvino_backend import OpenVINOBackend
from adapters.openvino_loading import load_openvino_backend
from application.ports import EditImages, RenderedImage
from tests.openvino.rendering import Recorder, edit_fields, render

pytestmark = pytest.mark.openvino

DEFAULT: dict[str, Any] = {"width": 512, "height": 512, "guidance_scale": 7.5}
# The default shape at one UNet call: the shape is what the static pipeline is compiled for.
ONE_STEP: dict[str, Any] = {**DEFAULT, "num_inference_steps": 1}


def compiled(logs: list[MutableMapping[str, Any]]) -> list[tuple[str, Any]]:
    return [(e["shape"], e["guided"]) for e in logs if e["event"] == "pipeline_compiled"]


def edit_at_default(mode: str) -> tuple[dict[str, Any], EditImages | None]:
    """A default-shape run in ``mode`` of one UNet call (from an image: strength 1.0)."""
    fields, edit = edit_fields(mode, 512, 512, strength=1.0)
    return {**ONE_STEP, **fields}, edit


@dataclass
class StaticLoad:
    """The module's one static backend, with the logs of its load and first default render."""

    backend: OpenVINOBackend
    logs: list[MutableMapping[str, Any]]
    first_image: RenderedImage


@pytest.fixture(scope="module")
def static_load(tiny_model_dir: Path, openvino_cache_dir: Path) -> StaticLoad:
    with capture_logs() as logs:
        backend = load_openvino_backend(
            tiny_model_dir, "CPU", openvino_cache_dir, static_shape=True
        )
        image = render(backend, **DEFAULT)
    return StaticLoad(backend, logs, image)


@pytest.fixture
def static_backend(static_load: StaticLoad) -> OpenVINOBackend:
    return static_load.backend


def test_loads_static_for_the_default_request(static_load: StaticLoad) -> None:
    image = static_load.first_image

    # Compiled at load, and nothing compiled for the request.
    assert compiled(static_load.logs) == [("512x512", True)]
    assert (image.width, image.height) == (512, 512)
    assert image.timings_ms["unet_calls"] == 2 * 1 + 1  # PNDM: N + 1 calls
    assert {"text_encoder", "unet_per_call", "vae_decode"} <= set(image.timings_ms)


def test_other_shapes_swap_in_a_dynamic_pipeline_and_back(static_backend: OpenVINOBackend) -> None:
    render(static_backend, **ONE_STEP)  # the static set in place, whatever ran before
    recorder = Recorder()
    with capture_logs() as logs:
        small = render(static_backend, recorder=recorder)  # 64x64
        unguided = render(static_backend, guidance_scale=1.0)
        other_guidance = render(static_backend, **{**ONE_STEP, "guidance_scale": 4.0})

    assert compiled(logs) == [("dynamic", None), ("512x512", True)]
    assert (small.width, small.height) == (64, 64)
    assert recorder.progress == [(1, 2), (2, 2)]
    assert (unguided.width, other_guidance.width) == (64, 512)


def test_a_swap_keeps_the_requested_scheduler(static_backend: OpenVINOBackend) -> None:
    euler_static = render(static_backend, **ONE_STEP, scheduler="euler")
    render(static_backend)  # swaps to dynamic
    again = render(static_backend, **ONE_STEP, scheduler="euler")
    model_own = render(static_backend, **ONE_STEP)

    assert again.rgb == euler_static.rgb
    assert model_own.rgb != euler_static.rgb


def test_every_mode_runs_on_the_one_static_compile(static_backend: OpenVINOBackend) -> None:
    render(static_backend, **ONE_STEP)  # the static set in place, whatever ran before
    modes = ["image_to_image", "inpainting", "text_to_image", "inpainting", "image_to_image"]
    with capture_logs() as logs:
        for mode in modes:
            fields, edit = edit_at_default(mode)
            image = render(static_backend, edit=edit, **fields)
            assert (image.width, image.height) == (512, 512)

    assert compiled(logs) == []
    derived = [entry["mode"] for entry in logs if entry["event"] == "pipeline_derived"]
    assert len(derived) == len(set(derived))  # each mode's pipeline built at most once


def test_a_swap_serves_every_mode_and_compiles_once_each_way(
    static_backend: OpenVINOBackend,
) -> None:
    render(static_backend, **ONE_STEP)
    with capture_logs() as logs:
        for mode in ("inpainting", "image_to_image", "text_to_image"):
            fields, edit = edit_fields(mode)  # 64x64: the dynamic set
            assert render(static_backend, edit=edit, **fields).width == 64
        for mode in ("image_to_image", "text_to_image", "inpainting"):
            fields, edit = edit_at_default(mode)
            assert render(static_backend, edit=edit, **fields).width == 512

    assert compiled(logs) == [("dynamic", None), ("512x512", True)]


def test_an_lcm_is_static_without_guidance(
    tiny_lcm_model_dir: Path, openvino_cache_dir: Path
) -> None:
    with capture_logs() as logs:
        backend = load_openvino_backend(
            tiny_lcm_model_dir, "CPU", openvino_cache_dir, static_shape=True
        )
        image = render(backend, **{**ONE_STEP, "guidance_scale": 8.0})

    assert compiled(logs) == [("512x512", False)]
    assert image.width == 512
