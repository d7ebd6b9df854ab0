"""The backend's part in edits, on the fake engine: the edit reaches the engine (on the
CPU retry too), progress counts the steps that really run, misfits are refused early."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.openvino_backend import OpenVINOBackend
from adapters.openvino_engine import engine_strength, step_arguments
from domain.generation_request import GenerationRequest
from tests.openvino.fakes import FakeEngine, FakeLoader
from tests.openvino.rendering import Recorder, edit_fields, render, request

pytestmark = pytest.mark.openvino


def cpu_backend() -> tuple[OpenVINOBackend, FakeEngine]:
    engine = FakeEngine("CPU")
    return OpenVINOBackend(engine, reload=lambda device: pytest.fail("no reload")), engine


@pytest.mark.parametrize("mode", ["image_to_image", "inpainting"])
def test_the_edit_reaches_the_engine_and_progress_counts_the_denoising_steps(mode: str) -> None:
    backend, engine = cpu_backend()
    fields, edit = edit_fields(mode, strength=0.5)
    recorder = Recorder()

    render(backend, recorder=recorder, edit=edit, num_inference_steps=10, **fields)

    assert engine.edits == [edit]
    assert recorder.progress == [(step, 5) for step in range(1, 6)]


def test_a_device_error_retries_the_edit_on_cpu() -> None:
    loader = FakeLoader(failing_run={"GPU"})

    def reload(device: str) -> FakeEngine:
        return loader(Path("model"), device, Path("cache"))

    backend = OpenVINOBackend(reload("GPU"), reload)
    fields, edit = edit_fields("inpainting", strength=0.6)
    recorder = Recorder()

    render(backend, recorder=recorder, edit=edit, num_inference_steps=5, **fields)

    assert loader.loads == ["GPU", "CPU"]
    assert [engine.edits for engine in loader.engines] == [[edit], [edit]]
    assert recorder.progress == [(1, 3), (2, 3), (3, 3)]


def test_an_edit_with_no_step_to_run_is_refused_before_the_engine() -> None:
    backend, engine = cpu_backend()
    fields, edit = edit_fields("image_to_image", strength=0.05)

    with pytest.raises(ValueError, match="leaves no step"):
        render(backend, edit=edit, num_inference_steps=10, **fields)

    assert engine.runs == 0


@pytest.mark.parametrize(
    ("mode", "edit_from", "message"),
    [
        ("text_to_image", "image_to_image", "was given an input image"),
        ("image_to_image", "text_to_image", "needs its input image"),
        ("inpainting", "image_to_image", "needs its mask"),
    ],
)
def test_an_edit_that_does_not_fit_the_mode_is_refused(
    mode: str, edit_from: str, message: str
) -> None:
    backend, engine = cpu_backend()
    fields, _ = edit_fields(mode)
    _, edit = edit_fields(edit_from)

    with pytest.raises(ValueError, match=message):
        render(backend, edit=edit, **fields)

    assert engine.runs == 0


def test_an_edit_of_another_size_is_refused() -> None:
    backend, _ = cpu_backend()
    fields, _ = edit_fields("image_to_image", width=64, height=64)
    _, edit = edit_fields("image_to_image", width=64, height=96)

    with pytest.raises(ValueError, match="must come resized"):
        render(backend, edit=edit, **fields)


@pytest.mark.parametrize("steps", [1, 3, 7, 10, 20, 50])
@pytest.mark.parametrize("strength", [0.1, 0.3, 0.5, 0.6, 0.7, 0.75, 0.9, 0.99, 1.0])
def test_the_engine_strength_keeps_the_step_count_in_float32_too(
    steps: int, strength: float
) -> None:
    import numpy as np

    fields, _ = edit_fields("image_to_image", strength=strength)
    edit_request: GenerationRequest = request(num_inference_steps=steps, **fields)
    given = engine_strength(edit_request)

    expected = edit_request.denoising_steps
    assert min(int(steps * given), steps) == expected  # diffusers, in float64
    assert min(int(np.float32(steps) * np.float32(given)), steps) == expected  # genai
    assert (given == 1.0) == (strength == 1.0)


@pytest.mark.parametrize("mode", ["image_to_image", "inpainting"])
def test_an_lcm_schedule_is_given_the_steps_that_run_and_the_strength_as_asked(
    mode: str,
) -> None:
    fields, _ = edit_fields(mode, strength=0.7)
    edit_request = request(num_inference_steps=10, **fields)

    assert step_arguments(edit_request, lcm_schedule=True) == {
        "num_inference_steps": 7,
        "strength": 0.7,
    }
    assert step_arguments(edit_request, lcm_schedule=False) == {
        "num_inference_steps": 10,
        "strength": engine_strength(edit_request),
    }


@pytest.mark.parametrize("lcm_schedule", [True, False])
def test_text_to_image_is_given_its_steps_alone(lcm_schedule: bool) -> None:
    assert step_arguments(request(num_inference_steps=4), lcm_schedule) == {
        "num_inference_steps": 4
    }
