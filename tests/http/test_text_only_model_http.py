"""A loaded model that serves text-to-image only (an export without its VAE encoder):
edits are refused when posted, with 422 on init_image, and leave no upload behind;
text-to-image runs as ever."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from starlette.testclient import TestClient

from domain.input_image import EditMode
from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.support.fakes import FakeBackend


def png_base64(size: tuple[int, int] = (64, 64)) -> str:
    stream = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(stream, "PNG")
    return base64.b64encode(stream.getvalue()).decode()


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend(modes=frozenset({EditMode.TEXT_TO_IMAGE}))


@pytest.fixture
def client(tmp_path: Path, backend: FakeBackend) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path), backend=backend)
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/image", "/jobs"])
@pytest.mark.parametrize("mode", ["image_to_image", "inpainting"])
def test_an_edit_is_refused_up_front_with_a_reason(
    client: TestClient, backend: FakeBackend, tmp_path: Path, path: str, mode: str
) -> None:
    body: dict[str, object] = {"prompt": "a lake", "init_image": png_base64()}
    if mode == "inpainting":
        body["mask_image"] = png_base64()

    answer = client.post(path, json=body)

    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert set(error) == {"type", "message", "details", "request_id"}
    assert error["details"][0]["field"] == "init_image"
    assert "no VAE encoder" in error["details"][0]["message"]
    assert "cannot start from an image" in error["details"][0]["message"]
    assert backend.calls == []
    assert client.get("/jobs").json()["jobs"] == []
    uploads = tmp_path / "generated" / "uploads"
    assert not uploads.is_dir() or not any(uploads.glob("*.png"))


def test_text_to_image_still_runs(client: TestClient, backend: FakeBackend) -> None:
    answer = client.post("/image", json={"prompt": "a lake", "width": 64, "height": 64})

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "succeeded"
    assert len(backend.calls) == 1


def test_an_edit_is_refused_before_its_image_is_read(client: TestClient) -> None:
    # Not base64 at all: had it been decoded, the refusal would be about the image.
    answer = client.post("/jobs", json={"prompt": "a lake", "init_image": "%%%"})

    assert answer.status_code == 422, answer.text
    assert "no VAE encoder" in answer.json()["error"]["details"][0]["message"]
