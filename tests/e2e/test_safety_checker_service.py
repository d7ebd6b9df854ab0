"""The safety checker in the service as users run it: `local-sd serve` processes.

- Asked for but not downloaded: the service is degraded, says how to download it, and makes
  no image at all (mock backend: no model needed).
- Downloaded: the tiny converted checker judges the tiny real model's images in a server
  that cannot import torch, diffusers or transformers (the serving side runs on openvino
  alone), with GPU asked for on a machine without one: the checker falls back to CPU with
  its WARNING, a flagged image is covered before it is written, an unflagged one is the
  unfiltered image exactly.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from application.image_metadata import PROVENANCE_KEY
from tests.support.live_server import LiveServer, live_server

pytestmark = [pytest.mark.server]

TORCH_AND_CO = ("torch", "diffusers", "transformers")
BATCH = {
    "prompt": "a red barn",
    "seed": 2024,
    "width": 96,
    "height": 64,
    "num_inference_steps": 4,
    "num_images": 2,
}
DOWNLOAD_COMMAND = "download-safety-checker"
"""In the reason of a checker that is not there: the remedy's command."""


def test_a_checker_not_downloaded_keeps_the_service_from_making_images(tmp_path: Path) -> None:
    generated = tmp_path / "generated"
    env = {
        "USE_MOCKS": "true",
        "GENERATED_DIR": str(generated),
        "SAFETY_CHECKER": "sd_checker",
        "SAFETY_CHECKER_DIR": str(tmp_path / "no-checker"),
    }
    with live_server(env, tmp_path / "server.log") as server:
        health = server.wait_for_health(
            lambda body: DOWNLOAD_COMMAND in body.get("reason", ""),
            "the missing checker to show in /health",
        )
        assert health["status"] == "degraded"
        assert str(tmp_path / "no-checker") in health["reason"]
        assert health["safety"]["checker"] == "sd_checker"
        assert health["safety"]["loaded"] is False
        assert httpx.get(f"{server.base_url}/health/ready", timeout=5).status_code == 503

        for path in ("/image", "/jobs"):
            refused = httpx.post(f"{server.base_url}{path}", json=BATCH, timeout=10)
            assert refused.status_code == 503, refused.text
            error = refused.json()["error"]
            assert error["type"] == "service_unavailable" and error["request_id"]
            assert DOWNLOAD_COMMAND in error["message"]
            assert "SAFETY_CHECKER=off" in error["message"]
        assert httpx.get(f"{server.base_url}/jobs", timeout=5).json()["jobs"] == []

    assert [p for p in generated.rglob("*") if p.is_file() and p.suffix != ".lock"] == []


# The tiny real model with the converted tiny checker -------------------------------------


@pytest.fixture(scope="module")
def unfiltered(tiny_model_server: LiveServer) -> list[bytes]:
    """BATCH's pixels from the session's server: no checker, GPU asked for (so CPU)."""
    job = generate(tiny_model_server, BATCH)
    assert [image["nsfw"] for image in job["images"]] == [None, None]
    return [pixels(fetch(tiny_model_server, image["url"])) for image in job["images"]]


@contextmanager
def checker_server(
    tmp_path: Path, model_dir: Path, cache_dir: Path, checker_dir: Path
) -> Iterator[LiveServer]:
    """The tiny model with ``checker_dir``'s checker, GPU asked for, torch unimportable."""
    env = {
        "MODEL_DIR": str(model_dir),
        "GENERATED_DIR": str(tmp_path / "generated"),
        "OV_CACHE_DIR": str(cache_dir),
        "OPENVINO_DEVICE": "GPU",
        "SAFETY_CHECKER": "sd_checker",
        "SAFETY_CHECKER_DIR": str(checker_dir),
    }
    with live_server(env, tmp_path / "server.log", blocked_modules=TORCH_AND_CO) as server:
        server.wait_until_ready()
        yield server


@pytest.mark.openvino
def test_a_flagged_image_is_covered_before_it_is_written(
    tmp_path: Path,
    tiny_model_dir: Path,
    openvino_cache_dir: Path,
    tiny_safety_checker_flag_all_dir: Path,
    unfiltered: list[bytes],
) -> None:
    checker_dir = tiny_safety_checker_flag_all_dir
    version = json.loads((checker_dir / "safety_checker.json").read_text("utf-8"))["version"]
    with checker_server(tmp_path, tiny_model_dir, openvino_cache_dir, checker_dir) as server:
        health = server.health()
        assert health["status"] == "ok", health
        assert health["safety"] == {
            "checker": "sd_checker",
            "action": "blur",
            "previews": "blur",
            "loaded": True,
            "version": version,
            "device": "CPU",
        }

        job = generate(server, BATCH)

        assert [image["nsfw"] for image in job["images"]] == [True, True]
        for image, original in zip(job["images"], unfiltered, strict=True):
            served = fetch(server, image["url"])
            stored = (tmp_path / "generated" / image["url"].rsplit("/", 1)[1]).read_bytes()
            assert stored == served
            assert pixels(served) != original
            # Blurred (the notice is drawn in the middle: the top rows have none of it).
            assert detail(pixels(served)) < detail(original) / 4
            assert Image.open(io.BytesIO(served)).size == (96, 64)
            safety = provenance_of(served)["safety"]
            assert safety["checker"] == "sd_checker" and safety["version"] == version
            assert safety["flagged"] is True and safety["action"] == "blur"
            assert len(safety["concept_scores"]) == 17 and len(safety["special_scores"]) == 3
        log = server.log()

    # The checker's own fallback from the GPU, besides the model's: one WARNING.
    lines = [json.loads(text) for text in log.splitlines() if text.startswith("{")]
    fallbacks = [line for line in lines if line["event"].startswith("safety_checker_device")]
    assert [(line["level"], line["target"], line["device"]) for line in fallbacks] == [
        ("warning", "GPU", "CPU")
    ], log
    assert "use_cpu" in fallbacks[0]["remedies"] and fallbacks[0]["cause"]


@pytest.mark.openvino
def test_an_image_not_flagged_is_the_unfiltered_image(
    tmp_path: Path,
    tiny_model_dir: Path,
    openvino_cache_dir: Path,
    tiny_safety_checker_flag_none_dir: Path,
    unfiltered: list[bytes],
) -> None:
    checker_dir = tiny_safety_checker_flag_none_dir
    with checker_server(tmp_path, tiny_model_dir, openvino_cache_dir, checker_dir) as server:
        job = generate(server, BATCH)

        assert [image["nsfw"] for image in job["images"]] == [False, False]
        served = [fetch(server, image["url"]) for image in job["images"]]
    assert [pixels(png) for png in served] == unfiltered
    verdicts = [provenance_of(png)["safety"] for png in served]
    assert [(v["flagged"], v["action"]) for v in verdicts] == [(False, None), (False, None)]


def generate(server: LiveServer, body: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(f"{server.base_url}/image", json=body, timeout=120)
    assert answer.status_code == 200, answer.text
    job: dict[str, Any] = answer.json()
    return job


def fetch(server: LiveServer, url: str) -> bytes:
    answer = httpx.get(f"{server.base_url}{url}", timeout=10)
    assert answer.status_code == 200
    content: bytes = answer.content
    return content


def pixels(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as picture:
        data: bytes = picture.convert("RGB").tobytes()
    return data


def detail(rgb: bytes) -> float:
    """The mean difference between horizontal neighbours in the top 12 rows of a 96x64
    picture: what a blur removes."""
    rows = np.frombuffer(rgb, dtype=np.uint8).reshape(64, 96, 3)[:12].astype(np.int16)
    return float(np.abs(np.diff(rows, axis=1)).mean())


def provenance_of(png: bytes) -> dict[str, Any]:
    with Image.open(io.BytesIO(png)) as picture:
        text = picture.info[PROVENANCE_KEY]
    record: dict[str, Any] = json.loads(text)
    return record
