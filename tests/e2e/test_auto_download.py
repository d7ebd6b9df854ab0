"""`make serve` on a fresh machine: the server answers at once, downloads, then generates."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx
import pytest

from tests.support.fake_hub import running_hub
from tests.support.live_server import LiveServer, live_server

pytestmark = [pytest.mark.openvino, pytest.mark.server]

REPO = "OpenVINO/tiny-sd-ov"


def hub_env(hub_url: str, tmp_path: Path) -> dict[str, str]:
    """A server whose model comes from the fake hub into an empty folder."""
    return {
        "MODEL_REPO_ID": REPO,
        "MODEL_DIR": str(tmp_path / "model"),
        "GENERATED_DIR": str(tmp_path / "generated"),
        "HF_ENDPOINT": hub_url,
        "HF_HUB_DISABLE_XET": "1",  # the fake hub speaks plain HTTP downloads only
    }


def test_missing_model_downloads_in_the_background_then_serves(
    tiny_model_dir: Path, openvino_cache_dir: Path, tmp_path: Path
) -> None:
    with running_hub(REPO, tiny_model_dir) as hub:
        hub.hold_downloads = threading.Event()
        env = {
            **hub_env(hub.url, tmp_path),
            # The session's compile cache (it hits for a copy of the model too): the download
            # is what this test is about, not a cold compile.
            "OV_CACHE_DIR": str(openvino_cache_dir),
            "OPENVINO_DEVICE": "CPU",
        }
        with live_server(env, tmp_path / "server.log", serve_args=("--download-missing",)) as srv:
            health = srv.health()
            assert health["status"] == "degraded"
            assert health["model"]["cached"] is False
            refused = httpx.post(f"{srv.base_url}/image", json={"prompt": "x"}, timeout=5)
            assert refused.status_code == 503
            srv.wait_for_health(lambda h: "Downloading" in h["reason"], "the download to start")
            downloading = httpx.post(f"{srv.base_url}/image", json={"prompt": "x"}, timeout=5)
            assert downloading.status_code == 503
            assert (
                "Downloading the model OpenVINO/tiny-sd-ov"
                in downloading.json()["error"]["message"]
            )
            hub.hold_downloads.set()
            srv.wait_until_ready()
            assert srv.health()["model"]["cached"] is True
            response = httpx.post(
                f"{srv.base_url}/image",
                json={"prompt": "downloaded", "width": 64, "height": 64, "num_inference_steps": 2},
                timeout=60,
            )
            assert response.status_code == 200, response.text
            assert response.json()["provider"] == "openvino"
        assert not (tmp_path / "model" / "safety_checker").exists()


def test_failed_download_leaves_degraded_with_the_reason(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    with running_hub(REPO, tiny_model_dir) as hub:
        hub.mode = "gated"
        env = {**hub_env(hub.url, tmp_path), "AUTO_DOWNLOAD_MODELS": "true"}
        with live_server(env, tmp_path / "server.log") as server:
            reason = reason_once_failed(server)
    assert "gated" in reason and "HUGGINGFACE_TOKEN" in reason
    assert (
        "stage the model by hand" in reason
        and "`make demo` or `local-sd demo` (USE_MOCKS=true)" in reason
    )


def test_hub_down_leaves_degraded_saying_how_to_stage_and_how_to_demo(tmp_path: Path) -> None:
    with running_hub(REPO, tmp_path / "empty-repo") as hub:
        hub.stop()
        env = {**hub_env(hub.url, tmp_path), "AUTO_DOWNLOAD_MODELS": "true"}
        with live_server(env, tmp_path / "server.log") as server:
            reason = reason_once_failed(server)
            health = server.health()
    assert health["status"] == "degraded"
    assert f"Cannot reach the model hub at {hub.url}" in reason
    assert "stage the model by hand" in reason and str(tmp_path / "model") in reason
    assert reason.count("(USE_MOCKS=true) serves placeholder images") == 1


def reason_once_failed(server: LiveServer) -> str:
    """The /health reason once the background download has failed."""
    health = server.wait_for_health(lambda h: "failed" in h["reason"], "the download to fail")
    return str(health["reason"])


def test_without_auto_download_the_reason_says_what_to_do(tmp_path: Path) -> None:
    env = {"MODEL_DIR": str(tmp_path / "model"), "GENERATED_DIR": str(tmp_path / "generated")}
    with live_server(env, tmp_path / "server.log") as server:
        health = server.wait_for_health(
            lambda h: "starting" not in h["reason"], "the model folder check"
        )
        response = httpx.post(f"{server.base_url}/image", json={"prompt": "x"}, timeout=5)
    assert health["status"] == "degraded"
    message = response.json()["error"]["message"]
    assert response.status_code == 503
    assert "make download" in message and "AUTO_DOWNLOAD_MODELS=true" in message
    assert "USE_MOCKS=true" in message


def test_stopping_the_server_mid_download_does_not_wait_for_it(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    with running_hub(REPO, tiny_model_dir) as hub:
        hub.hold_downloads = threading.Event()
        env = {**hub_env(hub.url, tmp_path), "AUTO_DOWNLOAD_MODELS": "true"}
        try:
            with live_server(env, tmp_path / "server.log") as server:
                server.wait_for_health(
                    lambda h: "Downloading" in h["reason"], "the download to start"
                )
                server.process.send_signal(signal.SIGINT)
                assert server.process.wait(timeout=20) == 0
        finally:
            hub.hold_downloads.set()
