from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from domain.errors import Problem, Remedy
from entrypoints.app import create_app
from tests.conftest import make_settings
from tests.support.fakes import FakeBackend, FakeModelStore


def test_health_in_mock_mode(mock_client: TestClient, tmp_path: Path) -> None:
    body = mock_client.get("/health").json()
    assert body["status"] == "ok" and body["mock"] is True
    assert body["model"] == {
        "repo_id": "OpenVINO/stable-diffusion-v1-5-int8-ov",
        "cached": False,
        "dir": str(tmp_path / "models"),
    }
    assert body["cache_dirs"] == {
        "models": str(tmp_path / "models"),
        "generated": str(tmp_path / "generated"),
    }
    assert body["device"] == {"target": "GPU", "active": "mock", "fallback_reason": None}
    assert body["defaults"] == {
        "num_inference_steps": 20,
        "guidance_scale": 7.5,
        "width": 512,
        "height": 512,
        "num_images": 1,
    }
    assert body["limits"] == {"inference_timeout_seconds": 300, "max_queue": 16}
    assert body["schedulers"][:2] == [
        {"name": "pndm", "label": "PNDM"},
        {"name": "euler", "label": "Euler"},
    ]
    assert body["request_bounds"]["width"] == {"min": 64, "max": 1024, "multiple_of": 8}
    assert body["request_bounds"]["prompt"] == {"max_chars": 1000}
    assert isinstance(body["version"], str)
    assert "reason" not in body
    assert mock_client.get("/health/ready").status_code == 200
    assert mock_client.get("/health/live").status_code == 200


def test_health_degraded_without_model(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path)), base_url="http://127.0.0.1") as client:
        body = client.get("/health").json()
        assert body["status"] == "degraded" and body["mock"] is False
        assert body["model"]["cached"] is False
        assert body["device"]["active"] is None
        assert "make download" in body["reason"]
        ready = client.get("/health/ready")
        assert ready.status_code == 503 and ready.json() == body
        assert client.get("/health/live").status_code == 200


def test_health_shows_fallback_of_a_real_backend(tmp_path: Path) -> None:
    unavailable = Problem("GPU unavailable: no supported OCL devices found", (Remedy.USE_CPU,))
    backend = FakeBackend(provider="openvino", device="CPU", fallback_reason=unavailable)
    app = create_app(
        make_settings(tmp_path),
        backend=backend,
        model_store=FakeModelStore(cached=True, directory=tmp_path / "m"),
    )
    with TestClient(app, base_url="http://127.0.0.1") as client:
        body = client.get("/health").json()
    assert body["status"] == "ok" and body["mock"] is False
    assert body["model"]["cached"] is True
    device = body["device"]
    assert (device["target"], device["active"]) == ("GPU", "CPU")
    # The facts first, then the remedy in the words of the setting people change.
    assert device["fallback_reason"].startswith(unavailable.message)
    assert "OPENVINO_DEVICE=CPU" in device["fallback_reason"]
