"""Long prompts from the tools that speak foreign APIs are cut where the encoder stops
reading, not refused; our own API keeps refusing them."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from domain.generation_request import PROMPT_MAX_CHARS
from entrypoints.long_prompts import within_prompt_limit

LONG = "a detailed painting of a castle on a hill, " * 40  # 1,720 characters


def test_a_prompt_within_the_limit_is_kept_and_a_longer_one_cut_there() -> None:
    assert within_prompt_limit("a cat") == ("a cat", False)
    kept, cut = within_prompt_limit(LONG)
    assert cut and kept == LONG[:PROMPT_MAX_CHARS]


def test_a1111_cuts_a_long_prompt_and_says_so(mock_client: TestClient) -> None:
    response = mock_client.post(
        "/sdapi/v1/txt2img",
        json={"prompt": LONG, "negative_prompt": LONG, "steps": 2, "width": 64, "height": 64},
    )
    assert response.status_code == 200, response.text
    info = json.loads(response.json()["info"])
    assert info["all_prompts"][0] == LONG[:PROMPT_MAX_CHARS].strip()
    assert [w.split(" cut ")[0] for w in info["warnings"] if " cut " in w] == [
        "prompt",
        "negative_prompt",
    ]


def test_openai_cuts_a_long_prompt(mock_client: TestClient) -> None:
    response = mock_client.post(
        "/v1/images/generations", json={"prompt": LONG, "size": "64x64", "num_inference_steps": 2}
    )
    assert response.status_code == 200, response.text
    job = mock_client.get("/jobs").json()["jobs"][0]
    assert job["params"]["prompt"] == LONG[:PROMPT_MAX_CHARS].strip()


def test_our_own_api_still_refuses_a_prompt_over_the_limit(mock_client: TestClient) -> None:
    assert mock_client.post("/image", json={"prompt": LONG}).status_code == 422


def test_a1111_echoes_the_fields_it_knows_and_nothing_else(mock_client: TestClient) -> None:
    body = {"prompt": "a fox", "steps": 2, "width": 64, "height": 64, "junk": [0] * 1000}
    response = mock_client.post("/sdapi/v1/txt2img", json=body)
    assert response.status_code == 200, response.text
    parameters = response.json()["parameters"]
    assert "junk" not in parameters
    assert parameters["prompt"] == "a fox" and parameters["steps"] == 2
    assert parameters["sampler_index"] == "Euler"  # A1111's default for a field left out
