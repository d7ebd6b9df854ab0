"""Edit jobs over HTTP on the mock service: the four ways to give an input image, the
refusals (and that they leave no upload behind), whose images a client may use, the
steps an edit runs, and the provenance its PNG carries."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr
from starlette.testclient import TestClient

from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.support.waiting import wait_until

KEYS = "alice:alice-key-0123456789,bob:bob-key-0123456789"
ALICE = {"authorization": "Bearer alice-key-0123456789"}
BOB = {"authorization": "Bearer bob-key-0123456789"}


def png(size: tuple[int, int] = (96, 64), colour: tuple[int, ...] = (200, 40, 40)) -> bytes:
    stream = io.BytesIO()
    Image.new("RGB", size, colour).save(stream, "PNG")
    return stream.getvalue()


def mask_png(size: tuple[int, int] = (96, 64)) -> bytes:
    mask = Image.new("L", size, 0)
    mask.paste(255, (0, 0, size[0] // 2, size[1]))
    stream = io.BytesIO()
    mask.save(stream, "PNG")
    return stream.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def client_for(tmp_path: Path, **values: Any) -> TestClient:
    app = create_app(make_settings(tmp_path, use_mocks=True, **values))
    return TestClient(app, base_url="http://127.0.0.1")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(tmp_path) as test_client:
        yield test_client


def uploads_in(tmp_path: Path) -> list[str]:
    folder = tmp_path / "generated" / "uploads"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def upload(client: TestClient, data: bytes, headers: dict[str, str] | None = None) -> str:
    answer = client.post(
        "/uploads", content=data, headers={"content-type": "image/png", **(headers or {})}
    )
    assert answer.status_code == 201, answer.text
    upload_id: str = answer.json()["id"]
    return upload_id


def text_image(client: TestClient, headers: dict[str, str] | None = None) -> str:
    answer = client.post(
        "/image", json={"prompt": "a hill", "width": 64, "height": 64}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    name: str = answer.json()["images"][0]["url"].rsplit("/", 1)[1]
    return name


def edit(client: TestClient, **fields: Any) -> dict[str, Any]:
    answer = client.post(
        "/image", json={"prompt": "a red barn", "num_inference_steps": 10, **fields}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def error_of(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert set(error) == {"type", "message", "details", "request_id"}
    return error


def test_an_upload_by_id_runs_image_to_image_at_the_inputs_size(
    client: TestClient, tmp_path: Path
) -> None:
    upload_id = upload(client, png((96, 64)))
    body = edit(client, init_image={"upload_id": upload_id}, strength=0.5, seed=7)
    assert body["status"] == "succeeded" and body["mode"] == "image_to_image"
    assert body["progress"] == {"step": 5, "total": 5}, "int(10 * 0.5) steps run"
    init = body["params"]["init_image"]
    assert (init["upload_id"], init["origin"], init["origin_id"]) == (upload_id, "upload", None)
    assert (init["width"], init["height"]) == (96, 64)
    assert (body["params"]["width"], body["params"]["height"]) == (96, 64)
    picture = Image.open(io.BytesIO(client.get(body["image_url"]).content))
    assert picture.size == (96, 64)
    assert picture.info["parameters"].endswith(", Denoising strength: 0.5")
    assert uploads_in(tmp_path) == [f"{upload_id}.json", f"{upload_id}.png"]
    # The job's params, posted again, make the same image.
    again = client.post("/image", json=body["params"]).json()
    assert client.get(again["image_url"]).content == client.get(body["image_url"]).content


def test_a_gallery_image_is_used_by_its_file_name(client: TestClient, tmp_path: Path) -> None:
    name = text_image(client)
    body = edit(client, init_image={"image_id": name}, strength=0.3)
    init = body["params"]["init_image"]
    assert (init["origin"], init["origin_id"], init["width"]) == ("gallery", name, 64)
    assert f"{init['upload_id']}.png" in uploads_in(tmp_path)
    assert body["progress"]["total"] == 3
    # Its params posted again use the same upload and still say where it came from.
    again = client.post("/image", json=body["params"]).json()
    assert again["params"]["init_image"] == init


@pytest.mark.parametrize(
    "form",
    [
        lambda data: b64(data),
        lambda data: "data:image/png;base64," + b64(data),
        lambda data: {"data": b64(data)},
        lambda data: {"data": "data:image/png;base64," + b64(data)},
    ],
    ids=["base64", "data-url", "data-object", "data-object-url"],
)
def test_an_inline_image_is_stored_and_used(client: TestClient, form: Any) -> None:
    body = edit(client, init_image=form(png((64, 128))), width=64)
    init = body["params"]["init_image"]
    assert (init["origin"], init["width"], init["height"]) == ("inline", 64, 128)
    assert (body["params"]["width"], body["params"]["height"]) == (64, 128)
    assert body["progress"]["total"] == int(10 * 0.75)


def test_inpainting_with_a_mask_writes_mask_blur_after_denoising_strength(
    client: TestClient,
) -> None:
    body = edit(
        client,
        init_image=b64(png()),
        mask_image="data:image/png;base64," + b64(mask_png()),
        strength=0.6,
        mask_blur=8,
    )
    assert body["mode"] == "inpainting" and body["params"]["mask_image"]["origin"] == "inline"
    picture = Image.open(io.BytesIO(client.get(body["image_url"]).content))
    assert picture.info["parameters"].endswith(", Denoising strength: 0.6, Mask blur: 8")
    assert '"mode": "inpainting"' in picture.info["provenance"]


def test_strength_zero_gives_the_input_back_without_steps(client: TestClient) -> None:
    body = edit(client, init_image=b64(png((64, 64), (10, 120, 230))), strength=0.0)
    assert body["progress"] == {"step": 0, "total": 0}
    picture = Image.open(io.BytesIO(client.get(body["image_url"]).content)).convert("RGB")
    assert picture.getpixel((5, 5)) == (10, 120, 230)


@pytest.mark.parametrize(
    ("fields", "field", "status"),
    [
        ({"mask_image": b64(mask_png())}, "mask_image", 422),
        (
            {"init_image": b64(png((96, 64))), "mask_image": b64(mask_png((64, 64)))},
            "mask_image",
            422,
        ),
        ({"init_image": "not base64 at all!"}, "init_image", 422),
        ({"init_image": b64(png()), "mask_image": b64(b"GIF89a not an image")}, "mask_image", 422),
        ({"init_image": b64(png()), "num_images": 9}, "num_images", 422),
    ],
    ids=["mask-without-image", "mask-of-another-size", "bad-base64", "bad-mask", "bad-field"],
)
def test_a_refused_edit_names_the_field_and_leaves_no_upload(
    client: TestClient, tmp_path: Path, fields: dict[str, Any], field: str, status: int
) -> None:
    answer = client.post("/jobs", json={"prompt": "x", **fields})
    error = error_of(answer, status)
    assert field in {detail["field"] for detail in error["details"]}
    assert uploads_in(tmp_path) == []
    assert client.get("/jobs").json()["jobs"] == []


def test_a_bad_reference_shape_is_422_in_one_sentence(client: TestClient) -> None:
    answer = client.post(
        "/jobs", json={"prompt": "x", "init_image": {"upload_id": "a", "data": "b"}}
    )
    (detail,) = error_of(answer, 422)["details"]
    assert detail["field"] == "init_image" and "upload_id" in detail["message"]


def test_an_unknown_upload_or_gallery_image_is_404(client: TestClient) -> None:
    for reference in ({"upload_id": "0" * 32}, {"upload_id": "../x"}, {"image_id": "ab.png"}):
        answer = client.post("/jobs", json={"prompt": "x", "init_image": reference})
        assert error_of(answer, 404)["type"] == "not_found"


def test_a_client_over_its_rate_stores_nothing(tmp_path: Path) -> None:
    with client_for(tmp_path, rate_limit="1/minute") as client:
        edit(client, init_image=b64(png()))
        kept = uploads_in(tmp_path)
        answer = client.post("/jobs", json={"prompt": "x", "init_image": b64(png())})
        assert error_of(answer, 429)["type"] == "rate_limited"
        assert uploads_in(tmp_path) == kept and len(kept) == 2


def test_a_full_queue_deletes_the_inputs_the_refused_job_stored(tmp_path: Path) -> None:
    # Slow steps keep the first job running; the second waits and fills the line.
    with client_for(tmp_path, max_queue=1, mock_step_seconds=0.2) as client:
        running = client.post("/jobs", json={"prompt": "x", "width": 64, "height": 64}).json()
        wait_until(
            lambda: client.get(f"/jobs/{running['job_id']}").json()["status"] == "running",
            "the first job running",
        )
        assert client.post("/jobs", json={"prompt": "y"}).status_code == 202
        answer = client.post(
            "/jobs",
            json={"prompt": "x", "init_image": b64(png()), "mask_image": b64(mask_png())},
        )
        assert error_of(answer, 429)["type"] == "queue_full"
        assert uploads_in(tmp_path) == []
        # Refused before decoding: an image that is no image is never looked at.
        answer = client.post("/jobs", json={"prompt": "x", "init_image": "bm90IGFuIGltYWdl"})
        assert error_of(answer, 429)["type"] == "queue_full"


def test_another_clients_upload_and_gallery_image_do_not_exist_for_a_client(
    tmp_path: Path,
) -> None:
    with client_for(tmp_path, api_keys=SecretStr(KEYS)) as client:
        alices_upload = upload(client, png(), ALICE)
        alices_image = text_image(client, ALICE)
        for reference in ({"upload_id": alices_upload}, {"image_id": alices_image}):
            answer = client.post(
                "/jobs", json={"prompt": "x", "init_image": reference}, headers=BOB
            )
            assert error_of(answer, 404)["type"] == "not_found"
            mine = client.post(
                "/image", json={"prompt": "x", "init_image": reference}, headers=ALICE
            )
            assert mine.status_code == 200, mine.text
        bobs = client.get("/uploads", headers=BOB).json()["uploads"]
        assert bobs == []


def test_a_queued_edit_job_lists_its_input_and_mode(client: TestClient) -> None:
    answer = client.post(
        "/jobs", json={"prompt": "x", "init_image": b64(png()), "num_inference_steps": 8}
    )
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert job["mode"] == "image_to_image" and job["progress"]["total"] == 6
    listed = client.get(f"/jobs/{job['job_id']}").json()
    assert listed["params"]["init_image"] == job["params"]["init_image"]
