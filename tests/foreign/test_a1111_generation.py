"""`POST /sdapi/v1/txt2img` through the app on the mock backend: A1111's answer with the
gallery's very PNGs, `info` as a JSON string with every key clients read, consecutive
seeds over several jobs, warnings, refusals naming A1111's fields, the one queue and
gallery, and API keys sent as A1111 clients send them."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr
from starlette.testclient import TestClient

from entrypoints.app import create_app
from tests.conftest import make_settings

SMALL = {"prompt": "a lighthouse", "width": 64, "height": 64, "steps": 2}
INFO_KEYS = {
    "prompt",
    "all_prompts",
    "negative_prompt",
    "all_negative_prompts",
    "seed",
    "all_seeds",
    "subseed",
    "all_subseeds",
    "subseed_strength",
    "width",
    "height",
    "sampler_name",
    "cfg_scale",
    "steps",
    "batch_size",
    "restore_faces",
    "sd_model_name",
    "sd_model_hash",
    "seed_resize_from_w",
    "seed_resize_from_h",
    "denoising_strength",
    "extra_generation_params",
    "index_of_first_image",
    "infotexts",
    "styles",
    "job_timestamp",
    "clip_skip",
    "is_using_inpainting_conditioning",
    "version",
    "warnings",
    "job_ids",
}


def txt2img(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/sdapi/v1/txt2img", json={**SMALL, **body})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def info_of(answer: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(answer["info"], str)
    info: dict[str, Any] = json.loads(answer["info"])
    return info


def test_txt2img_answers_as_a1111_with_the_gallerys_pngs(mock_client: TestClient) -> None:
    answer = txt2img(mock_client, seed=11, negative_prompt="fog", cfg_scale=5, sampler_name="DDIM")
    assert set(answer) == {"images", "parameters", "info"}
    info = info_of(answer)
    assert set(info) >= INFO_KEYS
    [image] = answer["images"]
    assert not image.startswith("data:")
    png = base64.b64decode(image)
    with Image.open(io.BytesIO(png)) as picture:
        assert picture.format == "PNG" and picture.size == (64, 64)
        assert info["infotexts"] == [picture.info["parameters"]]
    [job_id] = info["job_ids"]
    job = mock_client.get(f"/jobs/{job_id}").json()
    assert mock_client.get(job["image_url"]).content == png
    assert info["seed"] == 11 and info["all_seeds"] == [11]
    assert info["prompt"] == "a lighthouse" and info["all_prompts"] == ["a lighthouse"]
    assert info["negative_prompt"] == "fog" and info["all_negative_prompts"] == ["fog"]
    assert (info["width"], info["height"], info["steps"], info["cfg_scale"]) == (64, 64, 2, 5)
    assert info["sampler_name"] == "DDIM"
    assert info["infotexts"][0].startswith("a lighthouse\nNegative prompt: fog\nSteps: 2")
    assert "Sampler: DDIM" in info["infotexts"][0]
    assert len(info["job_timestamp"]) == 14 and info["job_timestamp"].isdigit()
    assert info["warnings"] == []
    assert answer["parameters"]["prompt"] == "a lighthouse"
    assert answer["parameters"]["seed"] == 11
    # Left out: A1111's defaults, and the steps that ran rather than A1111's 50.
    assert answer["parameters"]["n_iter"] == 1 and answer["parameters"]["enable_hr"] is False


def test_batch_size_times_n_iter_runs_as_consecutive_jobs_with_consecutive_seeds(
    mock_client: TestClient,
) -> None:
    answer = txt2img(mock_client, seed=100, batch_size=2, n_iter=3)
    info = info_of(answer)
    assert info["all_seeds"] == [100, 101, 102, 103, 104, 105]
    assert len(answer["images"]) == 6 and len(info["infotexts"]) == 6
    assert info["batch_size"] == 2
    assert len(info["job_ids"]) == 2
    jobs = [mock_client.get(f"/jobs/{job_id}").json() for job_id in info["job_ids"]]
    assert [job["params"]["num_images"] for job in jobs] == [4, 2]
    gallery = [link["url"] for job in jobs for link in job["images"]]
    for url, image in zip(gallery, answer["images"], strict=True):
        assert mock_client.get(url).content == base64.b64decode(image)
    for seed, text in zip(info["all_seeds"], info["infotexts"], strict=True):
        assert f"Seed: {seed}," in text


def test_seed_minus_one_is_random_and_reported(mock_client: TestClient) -> None:
    info = info_of(txt2img(mock_client, seed=-1, batch_size=2))
    seed = info["seed"]
    assert isinstance(seed, int) and seed >= 0
    assert info["all_seeds"] == [seed, (seed + 1) % 2**32]


def test_jobs_show_in_the_queue_and_gallery(mock_client: TestClient) -> None:
    info = info_of(txt2img(mock_client))
    listed = [job["job_id"] for job in mock_client.get("/jobs").json()["jobs"]]
    assert info["job_ids"][0] in listed
    gallery = [record["job_id"] for record in mock_client.get("/images").json()["images"]]
    assert info["job_ids"][0] in gallery


def test_send_images_false_answers_no_images(mock_client: TestClient) -> None:
    answer = txt2img(mock_client, send_images=False)
    assert answer["images"] == []
    assert len(info_of(answer)["infotexts"]) == 1


def test_sampler_mapping_and_an_unknown_sampler(mock_client: TestClient) -> None:
    info = info_of(txt2img(mock_client, sampler_name="Euler a", sampler_index="Euler a"))
    [job_id] = info["job_ids"]
    assert mock_client.get(f"/jobs/{job_id}").json()["params"]["scheduler"] == "euler_a"
    assert info["sampler_name"] == "Euler a"
    unknown = info_of(txt2img(mock_client, sampler_name="DPM++ 2M Karras"))
    [job_id] = unknown["job_ids"]
    assert mock_client.get(f"/jobs/{job_id}").json()["params"]["scheduler"] is None
    assert any("DPM++ 2M Karras" in warning for warning in unknown["warnings"])


def test_lora_tags_are_stripped_and_named(mock_client: TestClient) -> None:
    info = info_of(txt2img(mock_client, prompt="a lighthouse <lora:foggy:0.8>"))
    assert info["prompt"] == "a lighthouse <lora:foggy:0.8>"
    assert info["all_prompts"] == ["a lighthouse"]
    assert info["infotexts"][0].startswith("a lighthouse\n")
    assert info["warnings"] == ["ignored: <lora:foggy:0.8>"]


def test_ignored_fields_and_a_scaled_size_are_named(mock_client: TestClient) -> None:
    info = info_of(
        txt2img(
            mock_client,
            width=2048,
            height=1024,
            steps=1,
            restore_faces=True,
            enable_hr=True,
            override_settings={"CLIP_stop_at_last_layers": 2},
            some_extension_field={"anything": [1, 2]},
        )
    )
    assert (info["width"], info["height"]) == (1024, 512)
    assert info["warnings"] == [
        "ignored: enable_hr",
        "ignored: restore_faces",
        "ignored: override_settings.CLIP_stop_at_last_layers 2",
        "size 2048x1024 changed to 1024x512: sides must be 64 to 1024 and multiples of 8",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "<lora:foggy:0.8>"}, "prompt"),
        ({"cfg_scale": 99}, "cfg_scale"),
        ({"steps": 1000}, "steps"),
        ({"steps": "many"}, "steps"),
        ({"seed": -7}, "seed"),
        ({"batch_size": 8, "n_iter": 5}, "n_iter"),
        ({"batch_size": 0}, "batch_size"),
        ({"width": -64}, "width"),
        ({"height": 2**21}, "height"),
        ({"width": 10**400, "height": 10**400}, "width"),
        # Out of range: refused, not wrapped around as the seeds of later jobs are.
        ({"seed": 2**32}, "seed"),
    ],
)
def test_refusals_name_a1111_fields(
    mock_client: TestClient, body: dict[str, Any], field: str
) -> None:
    response = mock_client.post("/sdapi/v1/txt2img", json={**SMALL, **body})
    assert response.status_code == 422
    assert field in response.text
    assert mock_client.get("/jobs").json()["jobs"] == []


def test_nan_in_a_field_we_do_not_read_is_answered_as_null(mock_client: TestClient) -> None:
    # Python's JSON reader takes NaN and Infinity; JSON has no way to answer them.
    body = json.dumps({**SMALL, "eta": float("nan"), "subseed_strength": float("inf")})
    response = mock_client.post(
        "/sdapi/v1/txt2img", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the answer")

    answer = json.loads(response.text, parse_constant=refuse)
    assert answer["parameters"]["eta"] is None
    assert json.loads(answer["info"], parse_constant=refuse)["subseed_strength"] is None


def test_a_body_that_is_not_json_is_refused(mock_client: TestClient) -> None:
    response = mock_client.post(
        "/sdapi/v1/txt2img", content=b"{", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


KEYS = "alice:alice-key-0123456789,bob:bob-key-0123456789"


@pytest.fixture
def keyed_client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path, use_mocks=True, api_keys=SecretStr(KEYS)))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_keys_are_taken_as_a1111_clients_send_them(keyed_client: TestClient) -> None:
    assert keyed_client.post("/sdapi/v1/txt2img", json=SMALL).status_code == 401
    wrong = keyed_client.post("/sdapi/v1/txt2img", json=SMALL, headers=basic("u", "nope"))
    assert wrong.status_code == 401
    made = keyed_client.post(
        "/sdapi/v1/txt2img", json=SMALL, headers=basic("alice", "alice-key-0123456789")
    )
    assert made.status_code == 200
    [job_id] = info_of(made.json())["job_ids"]
    # Alice's job, as our own API sees it: hers, not Bob's.
    alice = {"authorization": "Bearer alice-key-0123456789"}
    bob = {"authorization": "Bearer bob-key-0123456789"}
    assert keyed_client.get(f"/jobs/{job_id}", headers=alice).status_code == 200
    assert keyed_client.get(f"/jobs/{job_id}", headers=bob).status_code == 404
