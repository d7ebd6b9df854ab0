"""The ImageBackend contract, run on both real engines with the tiny model on CPU."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import openvino
import pytest
from PIL import Image

from adapters.openvino_backend import OpenVINOBackend
from adapters.openvino_loading import load_openvino_backend
from application.ports import PreviewSource
from domain.errors import GenerationCancelled
from tests.openvino.rendering import Recorder, render, skip_unless_installed

pytestmark = pytest.mark.openvino


@pytest.fixture(scope="module", params=["genai", "optimum"])
def backend(
    request: pytest.FixtureRequest, tiny_model_dir: Path, openvino_cache_dir: Path
) -> OpenVINOBackend:
    # Loaded once per engine for the module: loading costs seconds, a tiny image ~0.05 s.
    skip_unless_installed(request.param)
    return load_openvino_backend(tiny_model_dir, "CPU", openvino_cache_dir, engine=request.param)


def pixels(image_rgb: bytes) -> np.ndarray:
    return np.frombuffer(image_rgb, dtype=np.uint8)


def test_engine_and_device(backend: OpenVINOBackend) -> None:
    assert backend.provider == "openvino"
    assert backend.device == "CPU"
    assert backend.fallback_reason is None
    assert backend.is_mock is False


@pytest.mark.parametrize(("width", "height"), [(64, 64), (64, 96), (96, 64)])
def test_image_has_the_requested_size(backend: OpenVINOBackend, width: int, height: int) -> None:
    image = render(backend, width=width, height=height)

    assert (image.width, image.height, image.seed) == (width, height, 7)
    assert len(image.rgb) == width * height * 3
    assert len(set(image.rgb)) > 1  # not a blank frame


def test_same_seed_gives_identical_pixels(backend: OpenVINOBackend) -> None:
    assert render(backend, seed=1234).rgb == render(backend, seed=1234).rgb


def test_different_seed_gives_a_different_image(backend: OpenVINOBackend) -> None:
    assert render(backend, seed=1).rgb != render(backend, seed=2).rgb


def test_largest_seed_works(backend: OpenVINOBackend) -> None:
    assert render(backend, seed=2**32 - 1).seed == 2**32 - 1


def test_negative_prompt_and_guidance_reach_the_engine(backend: OpenVINOBackend) -> None:
    plain = render(backend, guidance_scale=7.5).rgb
    negative = render(backend, guidance_scale=7.5, negative_prompt="blurry, dark").rgb
    other_guidance = render(backend, guidance_scale=3.0).rgb

    assert negative != plain
    assert other_guidance != plain


@pytest.mark.parametrize("guidance", [0.0, 0.5, 1.0])
def test_guidance_at_most_one_works(backend: OpenVINOBackend, guidance: float) -> None:
    image = render(backend, guidance_scale=guidance, negative_prompt="ignored without CFG")

    assert (image.width, image.height) == (64, 64)


@pytest.mark.parametrize("steps", [1, 2, 5])
def test_progress_is_reported_once_per_requested_step(backend: OpenVINOBackend, steps: int) -> None:
    recorder = Recorder()
    render(backend, recorder=recorder, num_inference_steps=steps)

    assert recorder.progress == [(step, steps) for step in range(1, steps + 1)]
    assert recorder.cancel_polls >= steps


def test_every_step_offers_a_small_preview_of_the_latents(backend: OpenVINOBackend) -> None:
    recorder = Recorder()
    render(backend, recorder=recorder, num_inference_steps=3, width=64, height=96)

    assert all(preview is not None for preview in recorder.previews)
    # The service calls a preview inside on_progress; here it is past its callback, so
    # only its format is checked, on a fresh run below.
    jpegs: list[bytes] = []

    def keep_preview(step: int, total: int, preview: PreviewSource | None = None) -> None:
        assert preview is not None
        jpegs.append(preview())

    render(backend, on_progress=keep_preview, num_inference_steps=2, width=64, height=96)
    assert len(jpegs) == 2
    with Image.open(io.BytesIO(jpegs[-1])) as image:
        # latents 8x12, shown at the image's own size (at most 8x, at most 256 px)
        assert (image.format, image.size) == ("JPEG", (64, 96))


def test_provenance_names_engine_versions_and_default_scheduler(
    backend: OpenVINOBackend,
) -> None:
    provenance = backend.provenance

    assert provenance["engine"] in {"openvino-genai", "optimum-intel"}
    assert provenance["engine_version"][0].isdigit()
    # The runtime that made the image, whatever its version: the package's release number
    # ("2026.4.1") begins the runtime's own build string ("2026.4.1-22982-e213a14...").
    assert provenance["openvino"] not in {"", "unknown"}
    assert openvino.__version__.startswith(provenance["openvino"])
    assert provenance["pipeline"] == "StableDiffusionPipeline"
    assert provenance["scheduler"] == "pndm"


def test_cancel_stops_within_one_step(backend: OpenVINOBackend) -> None:
    recorder = Recorder(cancel_at=2)

    with pytest.raises(GenerationCancelled):
        render(backend, recorder=recorder, num_inference_steps=8)

    assert recorder.progress[-1] == (2, 8)
    assert recorder.progress_after_cancel <= 1


def test_cancelled_before_start_runs_nothing(backend: OpenVINOBackend) -> None:
    recorder = Recorder(cancel_at=0)
    recorder.cancelled = True

    with pytest.raises(GenerationCancelled):
        render(backend, recorder=recorder)

    assert recorder.progress == []


def test_a_cancelled_generation_leaves_the_engine_usable(backend: OpenVINOBackend) -> None:
    expected = render(backend, seed=99).rgb
    with pytest.raises(GenerationCancelled):
        render(backend, recorder=Recorder(cancel_at=1), num_inference_steps=4)

    assert render(backend, seed=99).rgb == expected


def test_an_error_in_on_progress_propagates_without_killing_the_process(
    backend: OpenVINOBackend,
) -> None:
    # Raised inside a genai callback this would abort the process (SIGABRT).
    def failing(step: int, total: int, preview: PreviewSource | None = None) -> None:
        raise ValueError("progress sink is gone")

    with pytest.raises(ValueError, match="progress sink is gone"):
        render(backend, on_progress=failing)

    assert render(backend).width == 64


def test_every_offered_scheduler_runs(backend: OpenVINOBackend) -> None:
    assert set(backend.schedulers) == {"pndm", "euler", "euler_a", "ddim", "lcm"}
    images = {}
    for name in backend.schedulers:
        recorder = Recorder()
        images[name] = render(backend, recorder=recorder, scheduler=name, num_inference_steps=3)
        assert recorder.progress == [(1, 3), (2, 3), (3, 3)], name

    assert len({image.rgb for image in images.values()}) == len(images)


def test_a_scheduler_choice_does_not_leak_into_the_next_request(
    backend: OpenVINOBackend,
) -> None:
    own = render(backend, seed=5, num_inference_steps=3).rgb
    euler = render(backend, seed=5, num_inference_steps=3, scheduler="euler_a").rgb

    assert render(backend, seed=5, num_inference_steps=3).rgb == own
    assert render(backend, seed=5, num_inference_steps=3, scheduler="pndm").rgb == own
    assert euler != own
