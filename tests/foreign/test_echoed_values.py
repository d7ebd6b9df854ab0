"""A client's value echoed in a warning or an error is shown short (about 100 characters),
whatever its size: a 60 KB model name makes no 360 KB error, a 40 MB `script_name` no
100 MB answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from domain.errors import InvalidRequest
from domain.generation_request import SCHEDULERS
from entrypoints.automatic1111.options import check_options
from entrypoints.automatic1111.request_models import Img2ImgBody, Txt2ImgBody
from entrypoints.automatic1111.request_translation import EngineChoices, translate
from entrypoints.automatic1111.served_model import ServedModel
from entrypoints.echoed_values import SHOWN_CHARS, clipped, shown
from entrypoints.request_validation import validated

SERVED = ServedModel("OpenVINO/sd-model", "sd-model", "ab" * 32, "sd-model")
MODEL = EngineChoices(SCHEDULERS, SERVED.is_named_by)
HUGE = "é" * 30_000  # 60 KB of JSON, within the options body's 64 KiB
SHORT_MESSAGE = 400  # characters: the message's own words and one shown value


def test_a_value_is_shown_as_its_repr_up_to_the_limit() -> None:
    assert shown("sd_xl") == "'sd_xl'"
    assert shown(0.5) == "0.5" and shown(None) == "None"
    assert shown([1, 2]) == "[1, 2]"
    assert clipped("<lora:a:1>") == "<lora:a:1>"


@pytest.mark.parametrize(
    "value", [HUGE, [HUGE] * 3, list(range(20_000)), {str(k): HUGE for k in range(100)}, 10**4000]
)
def test_a_huge_value_is_shown_short(value: object) -> None:
    text = shown(value)
    assert len(text) <= SHOWN_CHARS + 3
    assert len(clipped(HUGE)) == SHOWN_CHARS + 3


@pytest.mark.parametrize(
    ("field", "sampler"),
    [
        ("script_name", None),
        ("refiner_checkpoint", None),
        ("eta", "Euler a"),
        ("s_churn", "Euler"),
        ("sampler_name", None),
        ("scheduler", None),
    ],
)
def test_a1111_warnings_show_a_huge_field_short(field: str, sampler: str | None) -> None:
    body = {"prompt": "a lighthouse", "sampler_name": sampler, field: HUGE}
    made = translate(validated(Txt2ImgBody, body), MODEL)
    [warning] = [w for w in made.warnings if "é" in w]
    assert len(warning) < SHORT_MESSAGE, warning


@pytest.mark.parametrize("setting", ["sd_model_checkpoint", "sd_vae", "CLIP_stop_at_last_layers"])
def test_override_settings_warnings_show_a_huge_value_short(setting: str) -> None:
    body = {"prompt": "a lighthouse", "override_settings": {setting: HUGE}}
    [warning] = translate(validated(Txt2ImgBody, body), MODEL).warnings
    assert setting in warning and len(warning) < SHORT_MESSAGE, warning


def test_img2img_warnings_show_a_huge_value_short() -> None:
    body: dict[str, Any] = {
        "prompt": "a lighthouse",
        "init_images": ["aGVsbG8="],
        "mask": "aGVsbG8=",
        "inpainting_fill": HUGE,
        "mask_blur_x": [HUGE] * 1000,
    }
    warnings = translate(validated(Img2ImgBody, body), MODEL).warnings
    assert len(warnings) == 2 and all(len(w) < SHORT_MESSAGE for w in warnings), warnings


def test_a_huge_model_name_to_switch_to_is_refused_short() -> None:
    for asked in (HUGE, [HUGE] * 100):
        with pytest.raises(InvalidRequest) as refused:
            check_options({"sd_model_checkpoint": asked}, SERVED)
        [detail] = refused.value.details
        assert len(detail.message) < SHORT_MESSAGE, detail.message


def test_options_answer_a_huge_model_name_with_a_small_a1111_error(
    mock_client: TestClient,
) -> None:
    answer = mock_client.post("/sdapi/v1/options", json={"sd_model_checkpoint": HUGE})
    assert answer.status_code == 422
    assert len(answer.content) < 4 * SHORT_MESSAGE and set(answer.json()) >= {"error", "detail"}


def test_a_huge_model_id_is_openais_small_not_found(mock_client: TestClient) -> None:
    answer = mock_client.get("/v1/models/" + "'" * 30_000 + "%22")
    assert answer.status_code == 404
    assert len(answer.content) < 2 * SHORT_MESSAGE
    error = answer.json()["error"]
    assert (error["code"], error["param"]) == ("model_not_found", "model")


def test_a_huge_value_in_a_call_makes_a_small_info(mock_client: TestClient) -> None:
    body = {"prompt": "a fox", "steps": 1, "width": 64, "height": 64, "script_name": HUGE}
    answer = mock_client.post("/sdapi/v1/txt2img", json=body)
    assert answer.status_code == 200, answer.text
    [warning] = json.loads(answer.json()["info"])["warnings"]
    assert warning.startswith("ignored: script_name 'ééé") and len(warning) < SHORT_MESSAGE
