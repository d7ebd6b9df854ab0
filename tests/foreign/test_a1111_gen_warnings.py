"""AUTOMATIC1111 fields that would change A1111's image but not ours are named in the
warnings, and only when set to something other than what A1111 does anyway."""

from __future__ import annotations

from typing import Any

import pytest

from domain.generation_request import SCHEDULERS
from entrypoints.automatic1111.request_models import Img2ImgBody, Txt2ImgBody
from entrypoints.automatic1111.request_translation import EngineChoices, translate
from entrypoints.automatic1111.served_model import ServedModel
from entrypoints.request_validation import validated

SERVED = ServedModel("OpenVINO/sd-model", "sd-model", "ab" * 32, "sd-model")
MODEL = EngineChoices(SCHEDULERS, SERVED.is_named_by)
# What webuiapi sends on every call: A1111's own defaults.
WEBUIAPI_KNOBS = {
    "eta": 1.0,
    "s_churn": 0,
    "s_tmax": 0,
    "s_tmin": 0,
    "s_noise": 1,
    "seed_resize_from_w": 0,
    "seed_resize_from_h": 0,
}


def txt2img_warnings(**body: Any) -> list[str]:
    parsed = validated(Txt2ImgBody, {"prompt": "a lighthouse", **body})
    return translate(parsed, MODEL).warnings


def img2img_warnings(**body: Any) -> list[str]:
    full = {"prompt": "a lighthouse", "init_images": ["aGVsbG8="], "mask": "aGVsbG8=", **body}
    return translate(validated(Img2ImgBody, full), MODEL).warnings


@pytest.mark.parametrize("sampler", [None, "Euler", "Euler a", "PNDM", "LCM"])
def test_webuiapis_defaults_are_no_warning(sampler: str | None) -> None:
    assert txt2img_warnings(sampler_name=sampler, **WEBUIAPI_KNOBS) == []


@pytest.mark.parametrize(
    ("sampler", "knobs", "named"),
    [
        ("Euler a", {"eta": 0.5}, ["eta"]),
        ("Euler a", {"s_noise": 0.9}, ["s_noise"]),
        ("DDIM", {"eta": 1.0}, ["eta"]),
        ("Euler", {"s_churn": 0.3, "s_tmin": 0.1, "s_tmax": 5}, ["s_churn"]),
        (None, {"s_churn": "0.3", "s_noise": 0.9, "eta": 0.2}, ["s_churn", "s_noise"]),
    ],
)
def test_sampler_knobs_that_move_that_sampler_are_named(
    sampler: str | None, knobs: dict[str, Any], named: list[str]
) -> None:
    warnings = txt2img_warnings(sampler_name=sampler, **knobs)
    assert [warning.split()[1] for warning in warnings] == named
    assert all("the sampler ran with" in warning for warning in warnings)


@pytest.mark.parametrize(
    ("sampler", "knobs"),
    [
        ("DDIM", {"s_churn": 0.5, "s_noise": 0.5}),  # DDIM reads neither
        ("Euler", {"eta": 0.3, "s_tmin": 0.2}),  # nor Euler these, without churn
        ("PNDM", {"eta": 0.3, "s_churn": 0.3}),
        ("Euler a", {"eta": "1", "s_noise": None}),
    ],
)
def test_knobs_that_sampler_does_not_read_are_no_warning(
    sampler: str, knobs: dict[str, Any]
) -> None:
    assert txt2img_warnings(sampler_name=sampler, **knobs) == []


def test_a_refiner_is_named_unless_it_is_the_served_model() -> None:
    assert txt2img_warnings(refiner_checkpoint="sdxl-refiner [7440042bbd]") == [
        "ignored: refiner_checkpoint 'sdxl-refiner [7440042bbd]' (no refiner here)"
    ]
    for quiet in ("", None, "sd-model", "sd-model [0000000000]"):
        assert txt2img_warnings(refiner_checkpoint=quiet) == []


def test_seed_resizing_is_named_only_when_it_would_resize() -> None:
    assert txt2img_warnings(seed_resize_from_w=768, seed_resize_from_h=512) == [
        "ignored: seed_resize_from_w/h 768x512 (no seed resizing here)"
    ]
    for w, h in ((-1, -1), (0, 0), (768, 0), (-1, 512), (512, 512), ("x", 5)):
        assert txt2img_warnings(seed_resize_from_w=w, seed_resize_from_h=h) == []


def test_an_eta_noise_seed_delta_is_named() -> None:
    assert txt2img_warnings(override_settings={"eta_noise_seed_delta": 31337}) == [
        "ignored: override_settings.eta_noise_seed_delta 31337"
    ]
    assert txt2img_warnings(override_settings={"eta_noise_seed_delta": 0}) == []


def test_an_override_naming_the_model_by_an_older_title_is_no_warning() -> None:
    assert (
        txt2img_warnings(override_settings={"sd_model_checkpoint": "sd-model [0000000000]"}) == []
    )


def test_mask_blur_axes_are_named_when_they_differ_from_the_blur_that_ran() -> None:
    assert img2img_warnings(mask_blur_x=8, mask_blur_y=4) == [
        "ignored: mask_blur_x 8 (both axes were blurred by 4)"
    ]
    assert img2img_warnings(mask_blur_x=4, mask_blur_y=4) == []
    # A1111 sets both axes from mask_blur when a body gives it.
    assert img2img_warnings(mask_blur=6, mask_blur_x=8, mask_blur_y=2) == []
    # Without a mask nothing is blurred.
    body = {"prompt": "a lighthouse", "init_images": ["aGVsbG8="], "mask_blur_x": 9}
    assert translate(validated(Img2ImgBody, body), MODEL).warnings == []
