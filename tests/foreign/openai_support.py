"""What the OpenAI images tests share: PNGs to send, answers to read, the jobs behind them."""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image
from starlette.testclient import TestClient

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VALID_STATUSES = (400, 422)
"""A bad field: 400 in OpenAI's dialect, 422 in ours (either until the dialect is settled)."""


def png_of(image: Image.Image) -> bytes:
    with io.BytesIO() as buffer:
        image.save(buffer, format="PNG")
        return buffer.getvalue()


def image_of(data: bytes) -> Image.Image:
    assert data.startswith(PNG_SIGNATURE), data[:16]
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def answer_pngs(body: dict[str, Any]) -> list[bytes]:
    """The PNG files of a `b64_json` answer."""
    return [base64.b64decode(item["b64_json"], validate=True) for item in body["data"]]


def jobs_of(client: TestClient, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The client's jobs, oldest first."""
    response = client.get("/jobs", headers=headers or {})
    assert response.status_code == 200, response.text
    jobs: list[dict[str, Any]] = response.json()["jobs"]
    return sorted(jobs, key=lambda job: str(job["created_at"]))
