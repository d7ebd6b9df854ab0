"""The PNG text chunks: AUTOMATIC1111's ``parameters`` line and our provenance JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from application.image_metadata import (
    A1111_SAMPLERS,
    a1111_sampler,
    image_text_chunks,
    parameters_text,
)
from application.ports import ModelStatus
from domain.generation_request import SCHEDULERS, GenerationRequest
from domain.input_image import InputImage

MODEL = ModelStatus(
    repo_id="OpenVINO/stable-diffusion-v1-5-int8-ov",
    directory=Path("/models/sd"),
    cached=True,
    revision="0123abcd",
)


INIT = InputImage("u" * 32, "a" * 64, 64, 64, origin="gallery", origin_id="9f.png")
MASK = InputImage("m" * 32, "b" * 64, 64, 64, origin="inline")


def request(**values: Any) -> GenerationRequest:
    return GenerationRequest(**{"prompt": "a heron", "width": 64, "height": 64, **values})


def chunks(req: GenerationRequest, engine: dict[str, str]) -> dict[str, str]:
    return image_text_chunks(req, 77, MODEL, engine, "CPU", {"generation": 12.5})


@pytest.mark.parametrize(
    ("scheduler", "label"),
    [
        ("euler_a", "Euler a"),
        ("euler", "Euler"),
        ("pndm", "PNDM"),
        ("ddim", "DDIM"),
        ("lcm", "LCM"),
    ],
)
def test_each_scheduler_gets_the_label_automatic1111_uses(scheduler: str, label: str) -> None:
    assert a1111_sampler(scheduler) == label


def test_every_scheduler_a_request_can_name_has_a_label() -> None:
    assert set(A1111_SAMPLERS) == set(SCHEDULERS)


@pytest.mark.parametrize("scheduler", [None, "", "none", "unknown", "default", "FooScheduler"])
def test_a_scheduler_automatic1111_cannot_name_gets_no_label(scheduler: str | None) -> None:
    assert a1111_sampler(scheduler) == ""


def test_the_full_text_in_automatic1111s_format() -> None:
    text = parameters_text(
        request(negative_prompt="blur, fog", num_inference_steps=12, guidance_scale=6.5),
        77,
        "Euler a",
        "OpenVINO/stable-diffusion-v1-5-int8-ov",
    )
    assert text == (
        "a heron\n"
        "Negative prompt: blur, fog\n"
        "Steps: 12, Sampler: Euler a, CFG scale: 6.5, Seed: 77, Size: 64x64, "
        "Model: OpenVINO/stable-diffusion-v1-5-int8-ov"
    )


def test_without_negative_prompt_sampler_or_model_those_parts_are_left_out() -> None:
    assert parameters_text(request(guidance_scale=7), 5) == (
        "a heron\nSteps: 20, CFG scale: 7, Seed: 5, Size: 64x64"
    )


def test_the_requested_scheduler_is_written_with_its_label() -> None:
    written = chunks(
        request(scheduler="euler_a"), {"engine": "openvino-genai", "scheduler": "pndm"}
    )
    assert written["parameters"] == (
        "a heron\nSteps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 77, Size: 64x64, "
        "Model: OpenVINO/stable-diffusion-v1-5-int8-ov"
    )
    assert json.loads(written["provenance"])["scheduler"] == "euler_a"


def test_the_models_own_scheduler_is_written_when_the_engine_reports_it() -> None:
    written = chunks(request(), {"engine": "openvino-genai", "scheduler": "pndm"})
    assert ", Sampler: PNDM, " in written["parameters"]
    assert json.loads(written["provenance"])["scheduler"] == "pndm"


@pytest.mark.parametrize(
    "engine",
    [
        {"engine": "mock", "scheduler": "none"},
        {"engine": "openvino-genai", "scheduler": "unknown"},
        {"engine": "openvino-genai", "scheduler": "DPMSolverMultistepScheduler"},
        {"engine": "fake"},
    ],
)
def test_an_unnamed_default_scheduler_leaves_the_sampler_field_out(
    engine: dict[str, str],
) -> None:
    written = chunks(request(negative_prompt="blur"), engine)
    assert written["parameters"] == (
        "a heron\nNegative prompt: blur\nSteps: 20, CFG scale: 7.5, Seed: 77, Size: 64x64, "
        "Model: OpenVINO/stable-diffusion-v1-5-int8-ov"
    )
    assert json.loads(written["provenance"])["scheduler"] == engine.get("scheduler")


def test_the_provenance_json_carries_request_model_engine_device_and_timings() -> None:
    engine = {"engine": "openvino-genai", "engine_version": "2025.1", "scheduler": "pndm"}
    provenance = json.loads(chunks(request(seed=77), engine)["provenance"])
    assert provenance == {
        "request": request(seed=77).to_dict(),
        "mode": "text_to_image",
        "seed": 77,
        "scheduler": "pndm",
        "model": {"repo_id": MODEL.repo_id, "revision": "0123abcd"},
        "engine": engine,
        "device": "CPU",
        "timings_ms": {"generation": 12.5},
    }


def test_an_image_to_image_result_adds_denoising_strength_after_the_model() -> None:
    written = chunks(request(init_image=INIT, strength=0.6, mask_blur=9), {"engine": "fake"})
    assert written["parameters"] == (
        "a heron\nSteps: 20, CFG scale: 7.5, Seed: 77, Size: 64x64, "
        "Model: OpenVINO/stable-diffusion-v1-5-int8-ov, Denoising strength: 0.6"
    )


def test_an_inpainted_result_adds_mask_blur_after_denoising_strength() -> None:
    edit = request(init_image=INIT, mask_image=MASK, strength=0.75, mask_blur=4)
    written = chunks(edit, {"engine": "fake"})
    assert written["parameters"].endswith(
        "Model: OpenVINO/stable-diffusion-v1-5-int8-ov, Denoising strength: 0.75, Mask blur: 4"
    )


def test_an_inverted_mask_is_written_as_a1111s_mask_mode() -> None:
    edit = request(init_image=INIT, mask_image=MASK, strength=1, invert_mask=True)
    written = chunks(edit, {"engine": "fake"})
    assert written["parameters"].endswith(
        "Denoising strength: 1.0, Mask blur: 4, Mask mode: Inpaint not masked"
    )


def test_the_provenance_of_an_edit_traces_it_to_its_inputs() -> None:
    edit = request(init_image=INIT, mask_image=MASK, strength=0.5)
    provenance = json.loads(chunks(edit, {"engine": "fake"})["provenance"])
    assert provenance["mode"] == "inpainting"
    assert provenance["strength"] == 0.5
    assert provenance["inputs"] == {
        "init_image": {
            "sha256": "a" * 64,
            "upload_id": "u" * 32,
            "origin": "gallery",
            "origin_id": "9f.png",
        },
        "mask_image": {
            "sha256": "b" * 64,
            "upload_id": "m" * 32,
            "origin": "inline",
            "origin_id": None,
        },
    }
    assert provenance["request"]["init_image"]["sha256"] == "a" * 64


def test_a_text_to_image_result_has_no_edit_fields() -> None:
    written = chunks(request(strength=0.3), {"engine": "fake"})
    assert "Denoising strength" not in written["parameters"]
    provenance = json.loads(written["provenance"])
    assert provenance["mode"] == "text_to_image"
    assert "inputs" not in provenance and "strength" not in provenance
