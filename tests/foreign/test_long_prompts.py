"""Long prompts from the tools that speak foreign APIs are cut where the encoder stops
reading, not refused, after the whitespace around them is removed; A1111's extra-network
tags are searched for only in a prompt's start, and ten of them named. Our own API keeps
refusing long prompts."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from domain.generation_request import PROMPT_MAX_CHARS
from entrypoints.automatic1111.prompt_syntax import without_split_tag
from entrypoints.long_prompts import READ_CHARS, prompt_start, within_prompt_limit

LONG = "a detailed painting of a castle on a hill, " * 40  # 1,720 characters


def test_a_prompt_within_the_limit_is_kept_and_a_longer_one_cut_there() -> None:
    assert within_prompt_limit("a cat") == ("a cat", False)
    kept, cut = within_prompt_limit(LONG)
    assert cut and kept == LONG[:PROMPT_MAX_CHARS].rstrip()


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


def test_whitespace_around_a_prompt_is_removed_before_the_cut() -> None:
    assert within_prompt_limit(" " * 1000 + "a cat\n") == ("a cat", False)
    assert within_prompt_limit("\n" * 1500 + LONG) == (LONG[:PROMPT_MAX_CHARS].rstrip(), True)


@pytest.mark.parametrize("blank", [" " * 1000, "\n" * 1500, " " * (READ_CHARS + 10)])
def test_a_prompt_after_a_page_of_blanks_is_kept_by_both_apis(
    mock_client: TestClient, blank: str
) -> None:
    a1111 = mock_client.post(
        "/sdapi/v1/txt2img",
        json={"prompt": blank + "a cat", "steps": 1, "width": 64, "height": 64},
    )
    assert a1111.status_code == 200, a1111.text
    assert json.loads(a1111.json()["info"])["all_prompts"] == ["a cat"]
    openai = mock_client.post(
        "/v1/images/generations",
        json={"prompt": blank + "a cat", "size": "64x64", "num_inference_steps": 1},
    )
    assert openai.status_code == 200, openai.text


def test_only_the_start_of_a_prompt_is_searched_for_tags() -> None:
    start, more = prompt_start("  " + "<a:b>" * 10_000_000)  # 50 MB of tags
    assert (len(start), more) == (READ_CHARS, True)
    assert prompt_start(" a cat ") == ("a cat ", False)
    assert prompt_start("x" * READ_CHARS + "   ") == ("x" * READ_CHARS, False)


def test_a_prompt_of_millions_of_tags_names_ten_and_counts_the_rest(
    mock_client: TestClient,
) -> None:
    prompt = "a cat " + "<lora:x:1>" * 90_000  # 900 KB, within a txt2img body
    body = {"prompt": prompt, "steps": 1, "width": 64, "height": 64}
    answer = mock_client.post("/sdapi/v1/txt2img", json=body)
    assert answer.status_code == 200, answer.text
    info = json.loads(answer.json()["info"])
    assert info["all_prompts"] == ["a cat"]
    tags_read = (READ_CHARS - len("a cat ")) // len("<lora:x:1>")
    assert info["warnings"] == [
        *["ignored: <lora:x:1>"] * 10,
        f"ignored: {tags_read - 10} more extra-network tags",
        "prompt cut to its first 5 characters: the text encoder reads its first 77 tokens only",
    ]


def test_a_prompt_of_tags_past_what_is_read_is_refused_as_empty(
    mock_client: TestClient,
) -> None:
    prompt = "<lora:x:1>" * (READ_CHARS // 10) + " a cat"
    answer = mock_client.post("/sdapi/v1/txt2img", json={"prompt": prompt, "steps": 1})
    assert answer.status_code == 422
    assert f"from its first {READ_CHARS} characters" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("start", "kept"),
    [
        ("a cat <lor", "a cat "),
        ("a cat <", "a cat "),
        ("a cat <lora:x:0.", "a cat "),
        ("a <b c <lora:x", "a <b c "),
        ("a <lora:x:1> cat", "a <lora:x:1> cat"),
        ("a <b c", "a <b c"),  # not a tag's start: the prompt's own text
        ("a <b: " + "c" * 300, "a <b: " + "c" * 300),  # too long ago to be a split tag
    ],
)
def test_a_tag_split_by_the_cut_is_dropped(start: str, kept: str) -> None:
    assert without_split_tag(start) == kept
