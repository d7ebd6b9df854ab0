"""A few-step (LCM) model on both engines: 4 steps, guidance ~1, no negative prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.openvino_backend import OpenVINOBackend
from adapters.openvino_loading import load_openvino_backend
from tests.openvino.rendering import Recorder, edit_fields, render, skip_unless_installed

pytestmark = pytest.mark.openvino


@pytest.fixture(scope="module", params=["genai", "optimum"])
def lcm_backend(
    request: pytest.FixtureRequest, tiny_lcm_model_dir: Path, openvino_cache_dir: Path
) -> OpenVINOBackend:
    skip_unless_installed(request.param)
    return load_openvino_backend(tiny_lcm_model_dir, "CPU", openvino_cache_dir, request.param)


@pytest.mark.parametrize("guidance", [1.0, 8.0])
def test_four_steps_with_progress(lcm_backend: OpenVINOBackend, guidance: float) -> None:
    recorder = Recorder()

    image = render(lcm_backend, recorder=recorder, num_inference_steps=4, guidance_scale=guidance)

    assert (image.width, image.height) == (64, 64)
    assert recorder.progress == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_a_negative_prompt_is_ignored_not_an_error(lcm_backend: OpenVINOBackend) -> None:
    # LCM has no CFG pass: diffusers' pipeline takes no negative prompt, genai rejects one.
    with_negative = render(lcm_backend, guidance_scale=8.0, negative_prompt="blurry")
    without = render(lcm_backend, guidance_scale=8.0)

    assert with_negative.rgb == without.rgb


def test_same_seed_same_pixels(lcm_backend: OpenVINOBackend) -> None:
    assert render(lcm_backend, seed=11).rgb == render(lcm_backend, seed=11).rgb


@pytest.mark.parametrize("mode", ["image_to_image", "inpainting"])
def test_edits_run_with_progress_counting_the_steps_that_run(
    lcm_backend: OpenVINOBackend, mode: str
) -> None:
    # LCM scheduling given a strength runs every step it is given (genai, diffusers' LCM
    # image-to-image): the engines give it int(steps * strength), and that many run.
    fields, edit = edit_fields(mode, strength=0.5)
    recorder = Recorder()

    first = render(lcm_backend, recorder=recorder, edit=edit, num_inference_steps=4, **fields)

    assert (first.width, first.height) == (64, 64)
    assert recorder.progress == [(1, 2), (2, 2)]
    assert first.timings_ms["unet_calls"] == 2
    again = render(lcm_backend, edit=edit, num_inference_steps=4, **fields)
    assert again.rgb == first.rgb
