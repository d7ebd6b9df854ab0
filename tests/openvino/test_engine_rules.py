"""The rules both engines share, and each engine's scheduler mapping, checked without a model."""

from __future__ import annotations

from typing import Any

import openvino_genai
import pytest

from adapters.openvino_engine import (
    LCM_PIPELINES,
    guided,
    negative_prompt_argument,
    pipeline_takes_negative_prompt,
)
from adapters.openvino_schedulers import DIFFUSERS_CLASSES, GENAI_TYPES, offered
from domain.generation_request import SCHEDULERS, GenerationRequest
from tests.openvino.fakes import FakeEngine
from tests.openvino.rendering import request, skip_unless_installed

pytestmark = pytest.mark.openvino


def engine(takes_negative_prompt: bool) -> FakeEngine:
    fake = FakeEngine("CPU")
    fake.takes_negative_prompt = takes_negative_prompt
    return fake


def asked(**fields: Any) -> GenerationRequest:
    return request(negative_prompt="blurry", **fields)


def test_a_negative_prompt_is_passed_only_with_guidance_above_one() -> None:
    assert negative_prompt_argument(asked(guidance_scale=7.5), engine(True)) == {
        "negative_prompt": "blurry"
    }
    for guidance in (0.0, 0.5, 1.0):
        assert negative_prompt_argument(asked(guidance_scale=guidance), engine(True)) == {}


def test_a_pipeline_without_guidance_never_gets_a_negative_prompt() -> None:
    assert negative_prompt_argument(asked(guidance_scale=8.0), engine(False)) == {}
    assert not guided(8.0, takes_negative_prompt=False)


def test_an_empty_negative_prompt_is_not_passed() -> None:
    assert negative_prompt_argument(request(guidance_scale=7.5), engine(True)) == {}


def test_lcm_pipelines_take_no_negative_prompt() -> None:
    assert [pipeline_takes_negative_prompt(name) for name in LCM_PIPELINES] == [False, False]
    assert pipeline_takes_negative_prompt("StableDiffusionPipeline")
    assert pipeline_takes_negative_prompt(None)  # no model_index.json: an ordinary pipeline


@pytest.mark.parametrize("mapping", [GENAI_TYPES, DIFFUSERS_CLASSES])
def test_each_engine_maps_every_request_scheduler_in_the_domains_order(
    mapping: dict[str, str],
) -> None:
    assert offered(mapping) == SCHEDULERS
    assert set(mapping) == set(SCHEDULERS)


def test_genai_knows_every_mapped_scheduler_type() -> None:
    for name in GENAI_TYPES.values():
        assert isinstance(
            getattr(openvino_genai.Scheduler.Type, name), openvino_genai.Scheduler.Type
        )


def test_diffusers_knows_every_mapped_scheduler_class() -> None:
    skip_unless_installed("optimum")
    import diffusers

    for name in DIFFUSERS_CLASSES.values():
        assert hasattr(getattr(diffusers, name), "from_config"), name
