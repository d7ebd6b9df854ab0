"""Image-to-image and inpainting on both real engines, with the tiny model on CPU.

What the engines owe an edit: the requested size, the same pixels for the same inputs and
seed, progress once per step that really runs (``int(steps * strength)``), cancel within a
step, and a loaded set that goes on serving every mode afterwards.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from adapters.openvino_backend import OpenVINOBackend
from adapters.openvino_loading import load_openvino_backend
from application.readiness import Readiness
from domain.errors import GenerationCancelled, UnsupportedOption
from domain.input_image import EditMode
from tests.openvino.rendering import (
    Recorder,
    edit_fields,
    render,
    request,
    skip_unless_installed,
)

pytestmark = pytest.mark.openvino

EDITS = ["image_to_image", "inpainting"]
MODES = ["text_to_image", *EDITS]


@pytest.fixture(scope="module", params=["genai", "optimum"])
def backend(
    request: pytest.FixtureRequest, tiny_model_dir: Path, openvino_cache_dir: Path
) -> OpenVINOBackend:
    skip_unless_installed(request.param)
    return load_openvino_backend(tiny_model_dir, "CPU", openvino_cache_dir, engine=request.param)


def run_mode(
    backend: OpenVINOBackend,
    mode: str,
    width: int = 64,
    height: int = 64,
    strength: float = 0.75,
    **options: Any,
) -> bytes:
    fields, edit = edit_fields(mode, width, height, strength)
    return render(backend, edit=edit, **fields, **options).rgb


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("width", "height"), [(64, 64), (96, 64)])
def test_every_mode_returns_the_requested_size(
    backend: OpenVINOBackend, mode: str, width: int, height: int
) -> None:
    fields, edit = edit_fields(mode, width, height)

    image = render(backend, edit=edit, **fields)

    assert (image.width, image.height) == (width, height)
    assert len(image.rgb) == width * height * 3
    assert len(set(image.rgb)) > 1


@pytest.mark.parametrize("mode", EDITS)
def test_same_inputs_and_seed_give_identical_pixels(backend: OpenVINOBackend, mode: str) -> None:
    first = run_mode(backend, mode, seed=1234, num_inference_steps=4)

    assert run_mode(backend, mode, seed=1234, num_inference_steps=4) == first
    assert run_mode(backend, mode, seed=1235, num_inference_steps=4) != first


@pytest.mark.parametrize("mode", EDITS)
@pytest.mark.parametrize(("steps", "strength"), [(10, 0.5), (7, 0.3), (10, 0.7), (4, 1.0)])
@pytest.mark.parametrize("scheduler", [None, "euler"])
def test_progress_is_reported_once_per_step_that_runs(
    backend: OpenVINOBackend, mode: str, steps: int, strength: float, scheduler: str | None
) -> None:
    fields, edit = edit_fields(mode, strength=strength)
    recorder = Recorder()

    image = render(
        backend,
        recorder=recorder,
        edit=edit,
        num_inference_steps=steps,
        scheduler=scheduler,
        **fields,
    )

    runs = int(steps * strength)
    assert recorder.progress == [(step, runs) for step in range(1, runs + 1)]
    assert all(preview is not None for preview in recorder.previews)
    # The UNet really ran that many steps (PNDM: one evaluation more), no more.
    assert image.timings_ms["unet_calls"] == (runs + 1 if scheduler is None else runs)
    assert image.timings_ms["vae_encode"] >= 0  # may round to 0 ms at 64x64


def test_text_to_image_reports_no_vae_encode(backend: OpenVINOBackend) -> None:
    image = render(backend)

    assert "vae_encode" not in image.timings_ms
    assert {"text_encoder", "unet_per_call", "vae_decode"} <= set(image.timings_ms)


@pytest.mark.parametrize("mode", EDITS)
def test_strength_changes_the_image(backend: OpenVINOBackend, mode: str) -> None:
    strong = run_mode(backend, mode, strength=1.0, num_inference_steps=10)
    light = run_mode(backend, mode, strength=0.3, num_inference_steps=10)

    assert strong != light


def test_inpainting_is_not_image_to_image(backend: OpenVINOBackend) -> None:
    options = {"seed": 3, "num_inference_steps": 4}

    assert run_mode(backend, "inpainting", **options) != run_mode(
        backend, "image_to_image", **options
    )


@pytest.mark.parametrize("mode", EDITS)
def test_cancel_stops_an_edit_within_one_step(backend: OpenVINOBackend, mode: str) -> None:
    fields, edit = edit_fields(mode, strength=1.0)
    recorder = Recorder(cancel_at=2)

    with pytest.raises(GenerationCancelled):
        render(backend, recorder=recorder, edit=edit, num_inference_steps=8, **fields)

    assert recorder.progress[-1] == (2, 8)
    assert recorder.progress_after_cancel <= 1


@pytest.mark.parametrize("mode", EDITS)
def test_a_cancelled_edit_leaves_every_mode_usable(backend: OpenVINOBackend, mode: str) -> None:
    before = {name: run_mode(backend, name, seed=99) for name in MODES}
    fields, edit = edit_fields(mode, strength=1.0)
    with pytest.raises(GenerationCancelled):
        render(backend, recorder=Recorder(cancel_at=1), edit=edit, num_inference_steps=4, **fields)

    assert {name: run_mode(backend, name, seed=99) for name in MODES} == before


def test_modes_and_schedulers_do_not_leak_into_one_another(backend: OpenVINOBackend) -> None:
    own = {name: run_mode(backend, name, seed=5, num_inference_steps=3) for name in MODES}
    for name in MODES:  # each mode once with another scheduler, in turn
        assert (
            run_mode(backend, name, seed=5, num_inference_steps=3, scheduler="euler_a") != own[name]
        )

    again = {name: run_mode(backend, name, seed=5, num_inference_steps=3) for name in MODES}
    assert again == own


def test_a_model_without_a_vae_encoder_serves_text_and_refuses_edits(
    backend: OpenVINOBackend, tiny_model_dir: Path, tmp_path: Path, openvino_cache_dir: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model, ignore=shutil.ignore_patterns("vae_encoder"))
    text_only = load_openvino_backend(model, "CPU", openvino_cache_dir, engine=backend.engine)

    assert backend.modes == frozenset(EditMode)
    assert text_only.modes == {EditMode.TEXT_TO_IMAGE}
    assert render(text_only).width == 64
    fields, edit = edit_fields("image_to_image")
    # Refused before a job is queued (what POST /jobs answers 422 with) ...
    readiness = Readiness()
    readiness.attach(text_only)
    with pytest.raises(UnsupportedOption, match="no VAE encoder, so it cannot start from"):
        readiness.check(request(**fields))
    # ... and by the engine too, should a job reach it.
    with pytest.raises(UnsupportedOption, match="no VAE encoder") as refused:
        render(text_only, edit=edit, **fields)
    assert refused.value.details[0].field == "init_image"


def test_switching_modes_compiles_nothing_on_genai(
    tiny_model_dir: Path, openvino_cache_dir: Path
) -> None:
    backend = load_openvino_backend(tiny_model_dir, "CPU", openvino_cache_dir, engine="genai")
    with capture_logs() as logs:
        for name in [*MODES, *reversed(MODES), *MODES]:
            run_mode(backend, name, num_inference_steps=2)

    events = [(entry["event"], entry.get("mode")) for entry in logs]
    assert ("pipeline_compiled", None) not in events
    # Each mode's pipeline is built once, from the loaded one (inpainting is the root).
    assert [mode for event, mode in events if event == "pipeline_derived"] == [
        "text_to_image",
        "image_to_image",
    ]
