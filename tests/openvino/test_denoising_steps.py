"""Every engine runs the UNet for exactly the steps an edit promises, int(steps * strength),
whatever the model and scheduler: counted by the engine's own UNet timings, not progress.

PNDM evaluates the UNet once more than its step count (its PLMS warm-up repeats one
timestep: diffusers' and genai's both list N + 1 timesteps for N steps), so a PNDM run
is expected to make ``runs + 1`` calls; every other scheduler exactly ``runs``.
LCM scheduling is the case this guards: given a strength, genai's LCM scheduler and
diffusers' LCM image-to-image pipeline run every step they are given (over a shorter
schedule), so the engines hand them int(steps * strength) steps.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.openvino_backend import OpenVINOBackend
from adapters.openvino_loading import load_openvino_backend
from tests.openvino.rendering import Recorder, edit_fields, render, skip_unless_installed

pytestmark = pytest.mark.openvino

STRENGTH = 0.5


@pytest.fixture(
    scope="module",
    params=[("genai", "sd15"), ("genai", "lcm"), ("optimum", "sd15"), ("optimum", "lcm")],
    ids=lambda param: "-".join(param),
)
def backend(
    request: pytest.FixtureRequest,
    tiny_model_dir: Path,
    tiny_lcm_model_dir: Path,
    openvino_cache_dir: Path,
) -> OpenVINOBackend:
    engine, model = request.param
    skip_unless_installed(engine)
    model_dir = tiny_model_dir if model == "sd15" else tiny_lcm_model_dir
    return load_openvino_backend(model_dir, "CPU", openvino_cache_dir, engine=engine)


@pytest.mark.parametrize("mode", ["image_to_image", "inpainting"])
# 7 steps at 0.5: int() gives 3 where rounding would give 4, and the full count 7.
@pytest.mark.parametrize("steps", [7])
@pytest.mark.parametrize("scheduler", [None, "pndm", "euler", "lcm"])
def test_an_edit_runs_int_steps_times_strength_unet_steps(
    backend: OpenVINOBackend, mode: str, steps: int, scheduler: str | None
) -> None:
    if scheduler is not None and scheduler not in backend.schedulers:
        # optimum's LCM pipelines run LCMScheduler alone: refused up front (next test).
        pytest.skip(f"{backend.engine} does not offer {scheduler!r} on this model")
    fields, edit = edit_fields(mode, strength=STRENGTH)
    recorder = Recorder()

    image = render(
        backend,
        recorder=recorder,
        edit=edit,
        num_inference_steps=steps,
        scheduler=scheduler,
        **fields,
    )

    runs = int(steps * STRENGTH)
    pndm = (scheduler or backend.provenance["scheduler"]) == "pndm"
    assert image.timings_ms["unet_calls"] == runs + (1 if pndm else 0)
    assert recorder.progress == [(step, runs) for step in range(1, runs + 1)]


def test_optimum_offers_an_lcm_model_its_own_scheduler_alone(
    tiny_lcm_model_dir: Path, openvino_cache_dir: Path
) -> None:
    skip_unless_installed("optimum")
    backend = load_openvino_backend(tiny_lcm_model_dir, "CPU", openvino_cache_dir, "optimum")

    assert backend.schedulers == ("lcm",)
