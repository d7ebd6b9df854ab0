from __future__ import annotations

import math
from typing import Any

import pytest

from domain.errors import InvalidRequest
from domain.generation_request import GenerationRequest


def problems(body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidRequest) as caught:
        GenerationRequest.from_mapping(body)
    return {detail.field: detail.message for detail in caught.value.details}


def test_defaults_fill_missing_fields() -> None:
    request = GenerationRequest.from_mapping({"prompt": "  a red fox  "})
    assert request == GenerationRequest(prompt="a red fox")
    assert (request.num_inference_steps, request.guidance_scale) == (20, 7.5)
    assert (request.width, request.height, request.seed, request.negative_prompt) == (
        512,
        512,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("num_inference_steps", [1, 100], [0, 101]),
        ("guidance_scale", [0, 0.0, 20, 20.0, 1], [-0.01, 20.01]),
        ("width", [64, 1024, 520], [56, 1032, 100]),
        ("height", [64, 1024, 72], [63, 1025, 4097]),
        ("seed", [0, 4294967295, None], [-1, 4294967296]),
        ("num_images", [1, 4], [0, 5]),
    ],
)
def test_numeric_bounds_on_both_sides(field: str, good: list[Any], bad: list[Any]) -> None:
    for value in good:
        GenerationRequest.from_mapping({"prompt": "x", field: value})
    for value in bad:
        assert field in problems({"prompt": "x", field: value})


def test_prompt_length_counts_after_trimming() -> None:
    GenerationRequest.from_mapping({"prompt": " " * 50 + "p" * 1000 + " " * 50})
    assert "prompt" in problems({"prompt": "p" * 1001})
    assert problems({"prompt": "   "}) == {"prompt": "Must not be empty."}
    assert problems({}) == {"prompt": "Field required."}


def test_negative_prompt_bounds_and_blank_becomes_none() -> None:
    blank = GenerationRequest.from_mapping({"prompt": "x", "negative_prompt": "  "})
    assert blank.negative_prompt is None
    GenerationRequest.from_mapping({"prompt": "x", "negative_prompt": "n" * 1000})
    assert "negative_prompt" in problems({"prompt": "x", "negative_prompt": "n" * 1001})
    assert "negative_prompt" in problems({"prompt": "x", "negative_prompt": 5})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("prompt", 12),
        ("prompt", None),
        ("num_inference_steps", True),
        ("num_inference_steps", 20.0),
        ("num_inference_steps", "20"),
        ("guidance_scale", False),
        ("guidance_scale", "7.5"),
        ("guidance_scale", math.nan),
        ("guidance_scale", math.inf),
        ("width", 512.0),
        ("seed", True),
        ("seed", 1.5),
        ("scheduler", "dpm++"),
    ],
)
def test_wrong_types_are_rejected(field: str, value: Any) -> None:
    assert field in problems({"prompt": "x", field: value})


def test_unknown_fields_are_rejected_with_every_other_problem() -> None:
    found = problems({"prompt": "", "steps": 20, "width": 100})
    assert set(found) == {"prompt", "steps", "width"}
    assert found["steps"] == "Unknown field."


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(InvalidRequest):
        GenerationRequest(prompt="x", width=4097)


def test_integer_guidance_becomes_float_and_scheduler_is_kept() -> None:
    request = GenerationRequest.from_mapping(
        {"prompt": "x", "guidance_scale": 7, "scheduler": "euler_a"}
    )
    assert isinstance(request.guidance_scale, float)
    assert request.scheduler == "euler_a"


def test_model_defaults_fill_only_what_the_request_leaves_out() -> None:
    few_steps = {"num_inference_steps": 4, "guidance_scale": 1.0}
    request = GenerationRequest.from_mapping({"prompt": "x"}, few_steps)
    assert (request.num_inference_steps, request.guidance_scale) == (4, 1.0)
    chosen = GenerationRequest.from_mapping({"prompt": "x", "num_inference_steps": 8}, few_steps)
    assert (chosen.num_inference_steps, chosen.guidance_scale) == (8, 1.0)


def test_batch_seeds_follow_on_and_wrap_past_the_largest_seed() -> None:
    assert GenerationRequest(prompt="x", num_images=3).image_seeds(7) == [7, 8, 9]
    last = GenerationRequest(prompt="x", num_images=2).image_seeds(4294967295)
    assert last == [4294967295, 0]
