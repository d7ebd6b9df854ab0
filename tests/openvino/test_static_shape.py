"""Static shapes: the default request runs on a pipeline compiled for its exact shape.

Another size, or no guidance, swaps in a dynamic pipeline for that request; the next
default request swaps the static one back. Every answer is the right image either way.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from adapters.openvino_backend import OpenVINOBackend
from adapters.openvino_loading import load_openvino_backend
from tests.openvino.rendering import Recorder, edit_fields, render

pytestmark = pytest.mark.openvino

DEFAULT: dict[str, Any] = {"width": 512, "height": 512, "guidance_scale": 7.5}


def compiled(logs: list[MutableMapping[str, Any]]) -> list[tuple[str, Any]]:
    return [(e["shape"], e["guided"]) for e in logs if e["event"] == "pipeline_compiled"]


@pytest.fixture(scope="module")
def static_backend(tiny_model_dir: Path, openvino_cache_dir: Path) -> OpenVINOBackend:
    return load_openvino_backend(tiny_model_dir, "CPU", openvino_cache_dir, static_shape=True)


def test_loads_static_for_the_default_request(
    tiny_model_dir: Path, openvino_cache_dir: Path
) -> None:
    with capture_logs() as logs:
        backend = load_openvino_backend(
            tiny_model_dir, "CPU", openvino_cache_dir, static_shape=True
        )
        image = render(backend, **DEFAULT)

    assert compiled(logs) == [("512x512", True)]  # and nothing compiled for the request
    assert (image.width, image.height) == (512, 512)
    assert image.timings_ms["unet_calls"] == 2 * 1 + 1  # PNDM: N + 1 calls
    assert {"text_encoder", "unet_per_call", "vae_decode"} <= set(image.timings_ms)


def test_other_shapes_swap_in_a_dynamic_pipeline_and_back(static_backend: OpenVINOBackend) -> None:
    render(static_backend, **DEFAULT)
    recorder = Recorder()
    with capture_logs() as logs:
        small = render(static_backend, recorder=recorder)  # 64x64
        unguided = render(static_backend, guidance_scale=1.0)
        other_guidance = render(static_backend, **{**DEFAULT, "guidance_scale": 4.0})

    assert compiled(logs) == [("dynamic", None), ("512x512", True)]
    assert (small.width, small.height) == (64, 64)
    assert recorder.progress == [(1, 2), (2, 2)]
    assert (unguided.width, other_guidance.width) == (64, 512)


def test_a_swap_keeps_the_requested_scheduler(static_backend: OpenVINOBackend) -> None:
    euler_static = render(static_backend, **DEFAULT, scheduler="euler")
    render(static_backend)  # swaps to dynamic
    again = render(static_backend, **DEFAULT, scheduler="euler")
    model_own = render(static_backend, **DEFAULT)

    assert again.rgb == euler_static.rgb
    assert model_own.rgb != euler_static.rgb


def test_every_mode_runs_on_the_one_static_compile(static_backend: OpenVINOBackend) -> None:
    render(static_backend, **DEFAULT)  # the static set in place, whatever ran before
    modes = ["image_to_image", "inpainting", "text_to_image", "inpainting", "image_to_image"]
    with capture_logs() as logs:
        for mode in modes:
            fields, edit = edit_fields(mode, 512, 512, strength=0.5)
            image = render(static_backend, edit=edit, **{**DEFAULT, **fields})
            assert (image.width, image.height) == (512, 512)

    assert compiled(logs) == []
    derived = [entry["mode"] for entry in logs if entry["event"] == "pipeline_derived"]
    assert len(derived) == len(set(derived))  # each mode's pipeline built at most once


def test_a_swap_serves_every_mode_and_compiles_once_each_way(
    static_backend: OpenVINOBackend,
) -> None:
    render(static_backend, **DEFAULT)
    with capture_logs() as logs:
        for mode in ("inpainting", "image_to_image", "text_to_image"):
            fields, edit = edit_fields(mode)  # 64x64: the dynamic set
            assert render(static_backend, edit=edit, **fields).width == 64
        for mode in ("image_to_image", "text_to_image", "inpainting"):
            fields, edit = edit_fields(mode, 512, 512)
            assert render(static_backend, edit=edit, **{**DEFAULT, **fields}).width == 512

    assert compiled(logs) == [("dynamic", None), ("512x512", True)]


def test_an_lcm_is_static_without_guidance(
    tiny_lcm_model_dir: Path, openvino_cache_dir: Path
) -> None:
    with capture_logs() as logs:
        backend = load_openvino_backend(
            tiny_lcm_model_dir, "CPU", openvino_cache_dir, static_shape=True
        )
        image = render(backend, **{**DEFAULT, "guidance_scale": 8.0}, num_inference_steps=4)

    assert compiled(logs) == [("512x512", False)]
    assert image.width == 512
