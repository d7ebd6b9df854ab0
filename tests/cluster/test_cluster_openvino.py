"""A worker on the tiny real model: the OpenVINO engine behind the shared queue.

The service has no model of its own (LOCAL_WORKER=false, no MODEL_DIR): the worker loads
the tiny SD-1.5 export with the GPU asked for, falls back to the CPU as the service does,
and the image the service stores is the one a single PC makes from the same request.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.support.cluster_workers import running_worker
from tests.support.live_server import live_server
from tests.support.redis_server import RedisServer

REQUEST = {"prompt": "a red barn", "num_inference_steps": 3, "seed": 7, "width": 64, "height": 64}


def picture(content: bytes) -> tuple[np.ndarray, dict[str, object]]:
    image = Image.open(io.BytesIO(content))
    provenance = json.loads(image.text["provenance"])  # type: ignore[attr-defined]
    return np.asarray(image.convert("RGB")), provenance


@pytest.mark.openvino
def test_a_worker_on_the_real_engine_makes_the_image_one_pc_makes(
    redis_server: RedisServer, tmp_path: Path, tiny_model_dir: Path, openvino_cache_dir: Path
) -> None:
    model = {
        "MODEL_DIR": str(tiny_model_dir),
        "OV_CACHE_DIR": str(openvino_cache_dir),
        "OPENVINO_DEVICE": "GPU",
    }
    worker_env = {"QUEUE_URL": redis_server.url, **model}
    service_env = {
        "QUEUE_URL": redis_server.url,
        "LOCAL_WORKER": "false",
        "GENERATED_DIR": str(tmp_path / "cluster"),
        "MODEL_DIR": str(tmp_path / "no-model-here"),
    }
    with (
        running_worker(worker_env, tmp_path / "worker.log") as worker,
        live_server(service_env, tmp_path / "server.log") as server,
    ):
        server.wait_until_ready(timeout=240)
        answer = httpx.post(f"{server.base_url}/image", json=REQUEST, timeout=240)
        assert answer.status_code == 200, server.log() + worker.log()
        job = answer.json()
        remote, provenance = picture(
            httpx.get(server.base_url + job["images"][0]["url"], timeout=30).content
        )
        health = server.health()
    assert job["provider"] == "openvino" and job["device"] == "CPU"
    assert health["cluster"]["devices"] == {"CPU": 1}
    engine = provenance["engine"]
    assert isinstance(engine, dict) and str(worker.worker_id) in str(engine["worker"])
    # The worker's GPU request fell back to the CPU with the service's own warning.
    (fallback,) = worker.events("device_unavailable_using_cpu")
    assert fallback["level"] == "warning" and fallback["target"] == "GPU"

    local_env = {**model, "GENERATED_DIR": str(tmp_path / "single")}
    with live_server(local_env, tmp_path / "single.log") as single:
        single.wait_until_ready(timeout=240)
        alone = httpx.post(f"{single.base_url}/image", json=REQUEST, timeout=240).json()
        local, _ = picture(httpx.get(single.base_url + alone["images"][0]["url"]).content)
    assert np.array_equal(remote, local)
