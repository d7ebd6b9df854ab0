"""AUTOMATIC1111's options, model, samplers, empty extras and png-info, in-process on the
mock backend."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from entrypoints.app import create_app
from entrypoints.automatic1111.infotext import parse_infotext
from entrypoints.settings import Settings
from tests.conftest import make_settings

REPO_ID = Settings.model_fields["model_repo_id"].default


def sd_model(client: TestClient) -> dict[str, Any]:
    listed = client.get("/sdapi/v1/sd-models")
    assert listed.status_code == 200, listed.text
    models: list[dict[str, Any]] = listed.json()
    assert len(models) == 1
    return models[0]


def test_the_served_model_as_a1111_names_a_checkpoint(mock_client: TestClient) -> None:
    model = sd_model(mock_client)
    assert set(model) == {"title", "model_name", "hash", "sha256", "filename", "config"}
    # The model and its revision (none known for files not downloaded), not a file.
    assert model["sha256"] == hashlib.sha256(f"{REPO_ID}@local".encode()).hexdigest()
    assert model["hash"] == model["sha256"][:10]
    assert model["model_name"] == "stable-diffusion-v1-5-int8-ov"
    assert model["title"] == f"stable-diffusion-v1-5-int8-ov [{model['hash']}]"
    # The model folder's name: a key-holder learns no path of the server's.
    assert model["filename"] == "models" and model["config"] is None


def test_options_name_the_served_model_and_take_themselves_back(mock_client: TestClient) -> None:
    answer = mock_client.get("/sdapi/v1/options")
    assert answer.status_code == 200, answer.text
    options = answer.json()
    model = sd_model(mock_client)
    assert options["sd_model_checkpoint"] == model["title"]
    assert options["sd_checkpoint_hash"] == model["sha256"]
    assert options["samples_format"] == "png" and options["CLIP_stop_at_last_layers"] == 1
    assert options["sd_vae"] == "Automatic" and options["eta_noise_seed_delta"] == 0
    assert options["outdir_samples"] == "generated"  # the folder's name, not its path
    assert "forge_preset" not in options  # SillyTavern would take us for Forge

    # Open WebUI posts the whole object back; other names of the model change nothing,
    # nor does a title saved before the revision (and so the hash) was known.
    names = (model["title"], model["model_name"], REPO_ID, model["hash"], model["filename"])
    for name in (*names, f"{model['model_name']} [0000000000]"):
        echoed = mock_client.post(
            "/sdapi/v1/options", json={**options, "sd_model_checkpoint": name}
        )
        assert echoed.status_code == 200, echoed.text
        assert echoed.json() is None
    unknown_keys = mock_client.post("/sdapi/v1/options", json={"no_such_option": 5})
    assert unknown_keys.status_code == 200
    assert mock_client.get("/sdapi/v1/options").json() == options  # nothing persisted


@pytest.mark.parametrize(
    "body",
    [
        {"sd_model_checkpoint": "v1-5-pruned-emaonly.safetensors [6ce0161689]"},
        {"sd_model_checkpoint": 5},
        {"sd_model_checkpoint": ""},
        [{"sd_model_checkpoint": "anything"}],
        "options",
    ],
)
def test_another_model_or_a_body_that_is_not_an_object_is_refused(
    mock_client: TestClient, body: Any
) -> None:
    assert mock_client.post("/sdapi/v1/options", json=body).status_code == 422


def test_samplers_are_the_engines_schedulers_by_a1111s_labels(mock_client: TestClient) -> None:
    samplers = mock_client.get("/sdapi/v1/samplers").json()
    assert samplers and all(set(item) == {"name", "aliases", "options"} for item in samplers)
    names = {item["name"] for item in samplers}
    assert names <= {"Euler a", "Euler", "PNDM", "DDIM", "LCM"} and "Euler" in names
    assert mock_client.get("/sdapi/v1/schedulers").json() == [
        {
            "name": "automatic",
            "label": "Automatic",
            "aliases": None,
            "default_rho": -1,
            "need_inner_model": False,
        }
    ]


@pytest.mark.parametrize(
    ("path", "empty"),
    [
        ("upscalers", []),
        ("latent-upscale-modes", []),
        ("sd-vae", []),
        ("sd-modules", []),
        ("loras", []),
        ("hypernetworks", []),
        ("prompt-styles", []),
        ("embeddings", {"loaded": {}, "skipped": {}}),
        ("scripts", {"txt2img": [], "img2img": []}),
    ],
)
def test_extras_we_have_none_of_are_empty_in_their_shapes(
    mock_client: TestClient, path: str, empty: Any
) -> None:
    answer = mock_client.get(f"/sdapi/v1/{path}")
    assert answer.status_code == 200 and answer.json() == empty


def test_refreshing_checkpoints_is_a_no_op(mock_client: TestClient) -> None:
    answer = mock_client.post("/sdapi/v1/refresh-checkpoints")
    assert answer.status_code == 200 and answer.json() is None


def made_png(client: TestClient) -> bytes:
    body = {"prompt": "a fox", "negative_prompt": "blur", "width": 64, "height": 64, "seed": 7}
    made = client.post("/image", json={**body, "num_inference_steps": 3})
    assert made.status_code == 200, made.text
    png = client.get(made.json()["images"][0]["url"])
    assert png.status_code == 200
    return png.content


def test_png_info_reads_our_pngs_infotext(mock_client: TestClient) -> None:
    png = made_png(mock_client)
    with Image.open(io.BytesIO(png)) as image:
        written = image.info["parameters"]
    encoded = base64.b64encode(png).decode()
    for image_field in (encoded, f"data:image/png;base64,{encoded}"):
        answer = mock_client.post("/sdapi/v1/png-info", json={"image": image_field})
        assert answer.status_code == 200, answer.text
        info = answer.json()
        assert info["info"] == written
        assert "parameters" not in info["items"]
        assert json.loads(info["items"]["provenance"])["seed"] == 7
        parsed = info["parameters"]
        assert (parsed["Prompt"], parsed["Negative prompt"]) == ("a fox", "blur")
        assert (parsed["Steps"], parsed["Seed"], parsed["Size-1"], parsed["Size-2"]) == (
            "3",
            "7",
            "64",
            "64",
        )
        assert parsed["Model"] == REPO_ID


def test_png_info_of_a_picture_without_infotext_is_empty(mock_client: TestClient) -> None:
    stream = io.BytesIO()
    Image.new("RGB", (8, 8)).save(stream, format="JPEG")
    answer = mock_client.post(
        "/sdapi/v1/png-info", json={"image": base64.b64encode(stream.getvalue()).decode()}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["info"] == "" and answer.json()["items"] == {}


@pytest.mark.parametrize(
    "image",
    [
        None,
        5,
        "",
        "not base64 at all!",
        base64.b64encode(b"just some text, not a picture").decode(),
        base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20).decode(),
        "data:image/png,notbase64",
    ],
)
def test_png_info_refuses_what_is_not_an_image(mock_client: TestClient, image: Any) -> None:
    body = {} if image is None else {"image": image}
    assert mock_client.post("/sdapi/v1/png-info", json=body).status_code == 422


def test_png_info_is_bounded_by_the_upload_limit(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True, max_upload_mb=1))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        large = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(2**20)).decode()
        answer = client.post("/sdapi/v1/png-info", json={"image": large})
        assert answer.status_code == 413, answer.text


def test_infotext_is_read_as_a1111_reads_it() -> None:
    text = (
        "a fox\nin the snow\nNegative prompt: blur\nugly\n"
        'Steps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 1, Size: 512x768, Note: "a, b"'
    )
    parsed = parse_infotext(text)
    assert parsed["Prompt"] == "a fox\nin the snow"
    assert parsed["Negative prompt"] == "blur\nugly"
    assert (parsed["Sampler"], parsed["CFG scale"], parsed["Note"]) == ("Euler a", "7.5", "a, b")
    assert (parsed["Size-1"], parsed["Size-2"], parsed["Clip skip"]) == ("512", "768", "1")
    # A last line of fewer than three pairs is prompt, and no text is an empty prompt.
    assert parse_infotext("a cat: sitting")["Prompt"] == "a cat: sitting"
    assert parse_infotext("")["Prompt"] == ""
    assert re.fullmatch(r"\d+", parse_infotext(text)["Steps"])
