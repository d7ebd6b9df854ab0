"""DNS rebinding and cross-site posts against a loopback service."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from entrypoints.app import create_app
from tests.conftest import make_settings


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:8000",
        "127.0.0.1",
        "127.0.0.1:8000",
        "[::1]",
        "[::1]:8000",
        "LOCALHOST",
    ],
)
def test_loopback_hosts_pass(mock_client: TestClient, host: str) -> None:
    assert mock_client.get("/health", headers={"host": host}).status_code == 200


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:8000", "", ":8000", "127.0.0.1.evil.example", "[::2]:8000"],
)
def test_foreign_hosts_are_forbidden(mock_client: TestClient, host: str) -> None:
    response = mock_client.get("/health", headers={"host": host})
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "forbidden"


def test_cross_site_origin_cannot_post(mock_client: TestClient) -> None:
    # A malformed one (an unclosed IPv6 bracket) is refused too, not a 500.
    for origin in ("https://evil.example", "null", "http://[::1", "http://a]"):
        response = mock_client.post("/image", json={"prompt": "x"}, headers={"origin": origin})
        assert response.status_code == 403
        assert "access-control-allow-origin" not in response.headers
    same = mock_client.post(
        "/image",
        json={"prompt": "x", "width": 64, "height": 64},
        headers={"origin": "http://127.0.0.1:8000"},
    )
    assert same.status_code == 200


def test_allowed_hosts_setting_adds_names(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True, allowed_hosts="sd.lan, box:8000"))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/health", headers={"host": "sd.lan:8000"}).status_code == 200
        assert client.get("/health", headers={"host": "box"}).status_code == 200
        assert client.get("/health", headers={"host": "other.lan"}).status_code == 403
