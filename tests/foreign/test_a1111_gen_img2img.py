"""`POST /sdapi/v1/img2img` through the app on the mock backend: init images and masks as
raw base64 or data: URLs (as webuiapi sends them), A1111's edit fields as our job's, and
refusals that name A1111's fields and leave no upload behind."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.http.test_edit_jobs_http import mask_png, png


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


BODY = {"prompt": "a lighthouse", "width": 64, "height": 64, "steps": 4}


def img2img(client: TestClient, **body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The answer's info, and our record of the call's one job."""
    response = client.post("/sdapi/v1/img2img", json={**BODY, **body})
    assert response.status_code == 200, response.text
    answer = response.json()
    info: dict[str, Any] = json.loads(answer["info"])
    [job_id] = info["job_ids"]
    job: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
    assert len(answer["images"]) == len(job["images"])
    assert client.get(job["image_url"]).content == base64.b64decode(answer["images"][0])
    return info, job


def uploads_in(tmp_path: Path) -> list[str]:
    folder = tmp_path / "generated" / "uploads"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def test_img2img_from_a_data_url(mock_client: TestClient) -> None:
    info, job = img2img(mock_client, init_images=[data_url(png())], denoising_strength=0.5)
    assert job["mode"] == "image_to_image"
    assert job["params"]["strength"] == 0.5
    assert job["params"]["init_image"]["origin"] == "inline"
    assert (info["width"], info["height"]) == (64, 64)
    assert info["denoising_strength"] == 0.5
    assert info["steps"] == 4
    assert "Denoising strength: 0.5" in info["infotexts"][0]


def test_img2img_from_raw_base64_takes_a1111s_defaults(mock_client: TestClient) -> None:
    raw = base64.b64encode(png()).decode()
    info, job = img2img(mock_client, init_images=[raw])
    assert job["params"]["strength"] == 0.75
    assert job["params"]["resize_mode"] == "stretch"  # A1111's 0
    assert info["denoising_strength"] == 0.75


def test_inpainting_with_a_mask_and_its_fields(mock_client: TestClient) -> None:
    info, job = img2img(
        mock_client,
        init_images=[data_url(png())],
        mask=data_url(mask_png()),
        mask_blur=8,
        inpainting_mask_invert=1,
        resize_mode=2,
        inpainting_fill=1,
        inpaint_full_res=False,
    )
    assert job["mode"] == "inpainting"
    params = job["params"]
    assert (params["mask_blur"], params["invert_mask"], params["resize_mode"]) == (8, True, "fit")
    assert params["mask_image"]["sha256"]
    assert "Mask mode: Inpaint not masked" in info["infotexts"][0]
    assert info["warnings"] == []


def test_inpainting_not_inverted_by_default(mock_client: TestClient) -> None:
    _, job = img2img(mock_client, init_images=[data_url(png())], mask=data_url(mask_png()))
    assert job["params"]["invert_mask"] is False


@pytest.mark.parametrize(
    ("mode", "ours"), [(0, "stretch"), (1, "fill"), (2, "fit"), (3, "stretch")]
)
def test_resize_modes(mock_client: TestClient, mode: int, ours: str) -> None:
    info, job = img2img(mock_client, init_images=[data_url(png())], resize_mode=mode)
    assert job["params"]["resize_mode"] == ours
    assert any("latent upscale" in warning for warning in info["warnings"]) == (mode == 3)


def test_extra_init_images_are_named(mock_client: TestClient) -> None:
    info, _ = img2img(mock_client, init_images=[data_url(png()), data_url(png())])
    assert info["warnings"] == ["ignored: init_images after the first (1)"]


def test_the_init_images_are_not_echoed_back(mock_client: TestClient) -> None:
    response = mock_client.post(
        "/sdapi/v1/img2img", json={**BODY, "init_images": [data_url(png())]}
    )
    assert response.json()["parameters"]["init_images"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "init_images"),
        ({"init_images": []}, "init_images"),
        ({"init_images": ["not base64!"]}, "init_images"),
        ({"init_images": ["{png}"], "mask": "not base64!"}, "mask"),
        ({"init_images": ["{png}"], "mask": "{small mask}"}, "mask"),
        ({"init_images": ["{png}"], "denoising_strength": 1.5}, "denoising_strength"),
        ({"init_images": ["{png}"], "mask_blur": 500}, "mask_blur"),
        ({"init_images": ["{png}"], "inpainting_mask_invert": 3}, "inpainting_mask_invert"),
        ({"init_images": ["{png}"], "resize_mode": 9}, "resize_mode"),
    ],
)
def test_refusals_name_a1111_fields_and_leave_nothing(
    mock_client: TestClient, tmp_path: Path, body: dict[str, Any], field: str
) -> None:
    images = {"{png}": data_url(png()), "{small mask}": data_url(mask_png((32, 32)))}

    def filled(value: Any) -> Any:
        if isinstance(value, list):
            return [filled(item) for item in value]
        return images.get(value, value) if isinstance(value, str) else value

    response = mock_client.post(
        "/sdapi/v1/img2img", json={**BODY, **{key: filled(v) for key, v in body.items()}}
    )
    assert response.status_code == 422, response.text
    assert field in response.text
    assert mock_client.get("/jobs").json()["jobs"] == []
    assert uploads_in(tmp_path) == []
