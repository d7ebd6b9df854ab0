"""`POST /v1/images/generations` on the mock backend: OpenAI's call runs as our jobs, in
our queue, and answers in OpenAI's shape with the gallery's own PNGs."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai.types import Image as OpenAIImage
from openai.types import ImagesResponse
from pydantic import SecretStr
from starlette.testclient import TestClient

from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.foreign.openai_support import VALID_STATUSES, answer_pngs, image_of, jobs_of
from tests.support.waiting import wait_until

GENERATIONS = "/v1/images/generations"
FAST = {"num_inference_steps": 2}


def generate(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post(GENERATIONS, json={"prompt": "a lighthouse", **FAST, **body})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_the_answer_is_the_gallery_png_in_base64(mock_client: TestClient) -> None:
    answer = generate(mock_client, model="dall-e-2", size="512x512", response_format="b64_json")
    [png] = answer_pngs(answer)
    [job] = jobs_of(mock_client)
    gallery = mock_client.get(job["images"][0]["url"])
    assert png == gallery.content  # the very file, provenance and all
    assert image_of(png).size == (512, 512)
    assert answer["data"][0]["revised_prompt"] is None
    assert isinstance(answer["created"], int)


def test_a_url_answer_points_at_the_gallery_file(mock_client: TestClient) -> None:
    answer = generate(mock_client, response_format="url")
    [item] = answer["data"]
    [job] = jobs_of(mock_client)
    assert item["url"] == "http://127.0.0.1" + job["images"][0]["url"]
    assert set(item) == {"url", "revised_prompt"}
    fetched = mock_client.get(item["url"])
    assert fetched.status_code == 200
    assert fetched.content == mock_client.get(job["images"][0]["url"]).content


@pytest.mark.parametrize("response_format", ["b64_json", "url"])
def test_the_openai_package_reads_every_field_of_the_answer(
    mock_client: TestClient, response_format: str
) -> None:
    answer = generate(mock_client, n=2, response_format=response_format)
    parsed = ImagesResponse.model_validate(answer)
    # Its models allow extra fields: that ours are all its own is checked by name.
    assert set(answer) <= set(ImagesResponse.model_fields)
    for item in answer["data"]:
        assert set(item) <= set(OpenAIImage.model_fields)
    assert parsed.data is not None and len(parsed.data) == 2
    assert parsed.output_format == "png"
    assert parsed.size == "512x512"


def test_six_images_run_as_two_jobs_with_consecutive_seeds(mock_client: TestClient) -> None:
    answer = generate(mock_client, n=6, seed=100)
    assert len(answer["data"]) == 6
    jobs = jobs_of(mock_client)
    assert [job["params"]["num_images"] for job in jobs] == [4, 2]
    seeds = [image["seed"] for job in jobs for image in job["images"]]
    assert seeds == list(range(100, 106))
    gallery = [mock_client.get(image["url"]).content for job in jobs for image in job["images"]]
    assert answer_pngs(answer) == gallery  # in order


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("1792x1024", (1024, 584)),
        ("1024x1792", (584, 1024)),
        ("1536x1024", (1024, 680)),
        ("256x256", (256, 256)),
        ("1024x1024", (1024, 1024)),
        ("100x20", (320, 64)),  # a side below 64 is scaled up, keeping the shape
        ("auto", (512, 512)),
    ],
)
def test_a_size_is_fitted_to_our_bounds_keeping_its_shape(
    mock_client: TestClient, size: str, expected: tuple[int, int]
) -> None:
    answer = generate(mock_client, size=size, num_inference_steps=1)
    [png] = answer_pngs(answer)
    assert image_of(png).size == expected
    assert answer["size"] == f"{expected[0]}x{expected[1]}"


def test_our_extra_fields_are_honoured(mock_client: TestClient) -> None:
    extras = {
        "seed": 1234,
        "num_inference_steps": 3,
        "guidance_scale": 5.5,
        "negative_prompt": "fog",
        "scheduler": "euler",
    }
    first = answer_pngs(generate(mock_client, **extras))
    again = answer_pngs(generate(mock_client, **extras))
    assert image_of(first[0]).tobytes() == image_of(again[0]).tobytes()
    params = jobs_of(mock_client)[0]["params"]
    assert {name: params[name] for name in extras} == extras


def test_openai_fields_without_a_counterpart_are_accepted_and_ignored(
    mock_client: TestClient,
) -> None:
    answer = generate(
        mock_client,
        model="gpt-image-1",
        quality="hd",
        style="vivid",
        user="someone",
        background="transparent",
        output_format="jpeg",  # still PNG, which carries the provenance
        output_compression=80,
        moderation="low",
        partial_images=0,
        stream=False,
        something_new={"nested": True},
    )
    [png] = answer_pngs(answer)
    assert image_of(png).format == "PNG"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"size": "huge"}, "size"),
        ({"size": "0x512"}, "size"),
        ({"size": "512x512x3"}, "size"),
        ({"size": 512}, "size"),
        ({"n": 0}, "n"),
        ({"n": 11}, "n"),
        ({"n": "2"}, "n"),
        ({"n": True}, "n"),
        ({"response_format": "png"}, "response_format"),
        ({"stream": True}, "stream"),
        ({"model": 3}, "model"),
        ({"prompt": None}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"seed": "7"}, "seed"),
        ({"scheduler": "Euler a"}, "scheduler"),
        ({"num_inference_steps": 0}, "num_inference_steps"),
    ],
)
def test_a_bad_field_is_refused_by_its_openai_name_and_queues_nothing(
    mock_client: TestClient, body: dict[str, Any], field: str
) -> None:
    response = mock_client.post(GENERATIONS, json={"prompt": "a lighthouse", **body})
    assert response.status_code in VALID_STATUSES, response.text
    assert field in response.text
    assert jobs_of(mock_client) == []


def test_a_body_that_is_not_json_is_refused(mock_client: TestClient) -> None:
    response = mock_client.post(GENERATIONS, content=b"prompt=x")
    assert response.status_code == 415
    response = mock_client.post(
        GENERATIONS, content=b"{", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


@pytest.fixture
def slow_client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path, use_mocks=True, mock_step_seconds=0.05))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def _post_in_background(
    client: TestClient, body: dict[str, Any]
) -> tuple[threading.Thread, list[Any]]:
    answers: list[Any] = []
    thread = threading.Thread(
        target=lambda: answers.append(client.post(GENERATIONS, json=body)), daemon=True
    )
    thread.start()
    return thread, answers


def test_a_call_whose_only_job_is_cancelled_is_409(slow_client: TestClient) -> None:
    thread, answers = _post_in_background(
        slow_client, {"prompt": "a lighthouse", "num_inference_steps": 50}
    )
    job = wait_until(lambda: next(iter(jobs_of(slow_client)), None), "the call's job")
    assert slow_client.delete(f"/jobs/{job['job_id']}").status_code == 200
    thread.join()
    assert answers[0].status_code == 409, answers[0].text


def test_a_call_cancelled_after_its_first_job_answers_what_was_made(
    slow_client: TestClient,
) -> None:
    thread, answers = _post_in_background(
        slow_client, {"prompt": "a lighthouse", "n": 6, "num_inference_steps": 10}
    )
    second = wait_until(
        lambda: jobs_of(slow_client)[1] if len(jobs_of(slow_client)) == 2 else None,
        "the call's second job",
    )
    assert slow_client.delete(f"/jobs/{second['job_id']}").status_code == 200
    thread.join()
    assert answers[0].status_code == 200, answers[0].text
    assert len(answers[0].json()["data"]) == 4


KEYS = "alice:alice-key-0123456789"


def test_an_api_key_is_taken_as_a_bearer_token(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True, api_keys=SecretStr(KEYS)))
    bearer = {"authorization": "Bearer alice-key-0123456789"}
    body = {"prompt": "a lighthouse", **FAST}
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.post(GENERATIONS, json=body).status_code == 401
        response = client.post(GENERATIONS, json=body, headers=bearer)
        assert response.status_code == 200, response.text
        [job] = jobs_of(client, bearer)
        png = base64.b64decode(response.json()["data"][0]["b64_json"])
        assert client.get(job["images"][0]["url"], headers=bearer).content == png
