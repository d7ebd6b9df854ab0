"""DNS rebinding and cross-site posts against a loopback service."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

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
    [
        "evil.example",
        "evil.example:8000",
        "",
        ":8000",
        "127.0.0.1.evil.example",
        "[::2]:8000",
        # Parsed strictly: none of these is read as a loopback name.
        "[::1]evil.example",
        "localhost evil.example",
        "localhost:",
        "localhost:80a",
        "localhost:99999",
        "localhost:80:80",
        "user@localhost",
        "[::1",
    ],
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
    # The client's base URL is http://127.0.0.1 (port 80): that is its own origin.
    same = mock_client.post(
        "/image",
        json={"prompt": "x", "width": 64, "height": 64},
        headers={"origin": "http://127.0.0.1"},
    )
    assert same.status_code == 200


def test_allowed_hosts_setting_adds_names(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True, allowed_hosts="sd.lan, box:8000"))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/health", headers={"host": "sd.lan:8000"}).status_code == 200
        assert client.get("/health", headers={"host": "box"}).status_code == 200
        assert client.get("/health", headers={"host": "other.lan"}).status_code == 403


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:8000",  # another port of the same host: another origin
        "https://127.0.0.1",  # another scheme
        "http://localhost",  # another name for the same address
        "http://127.0.0.1:80/",  # an Origin has no path
        "http://127.0.0.1:",
    ],
)
def test_origin_must_be_the_request_own(mock_client: TestClient, origin: str) -> None:
    response = mock_client.delete("/jobs/nope", headers={"origin": origin})
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "forbidden"


def test_default_port_is_the_same_origin(mock_client: TestClient) -> None:
    # Host without a port and an Origin naming port 80 explicitly are one origin.
    response = mock_client.delete("/jobs/nope", headers={"origin": "http://127.0.0.1:80"})
    assert response.status_code == 404


def test_origin_port_compared_with_the_host_header(mock_client: TestClient) -> None:
    headers = {"host": "localhost:8000", "origin": "http://localhost:8000"}
    assert mock_client.delete("/jobs/nope", headers=headers).status_code == 404
    headers = {"host": "localhost:8000", "origin": "http://localhost:8001"}
    assert mock_client.delete("/jobs/nope", headers=headers).status_code == 403


def test_safe_methods_are_not_origin_checked(mock_client: TestClient) -> None:
    response = mock_client.get("/health", headers={"origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("name", [b"host", b"origin"])
def test_two_host_or_origin_headers_are_a_bad_request(tmp_path: Path, name: bytes) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True))
    own = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
    twice = (name, b"127.0.0.1" if name == b"host" else b"http://127.0.0.1")
    status, body = asyncio.run(_raw_request(app, "POST", [*own, twice]))
    assert status == 400
    assert json.loads(body)["error"]["type"] == "bad_request"


def test_any_host_still_checks_origin(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True, allowed_hosts="*"))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/health", headers={"host": "sd.example:8000"}).status_code == 200
        cross = client.delete(
            "/jobs/nope", headers={"host": "sd.example", "origin": "https://evil.example"}
        )
        assert cross.status_code == 403
        own = client.delete(
            "/jobs/nope", headers={"host": "sd.example", "origin": "http://sd.example"}
        )
        assert own.status_code == 404


def test_address_the_connection_arrived_on_is_an_allowed_host(tmp_path: Path) -> None:
    # Under `uvicorn --host 0.0.0.0` a LAN client names the server by the address it
    # connected to: an address literal, so no DNS rebinding is involved.
    app = create_app(make_settings(tmp_path, use_mocks=True, allow_open_access=True))
    with TestClient(app, base_url="http://192.0.2.7:8000") as client:
        assert client.get("/health", headers={"host": "192.0.2.7:8000"}).status_code == 200
        assert client.get("/health", headers={"host": "192.0.2.8:8000"}).status_code == 403


def test_an_ipv4_client_of_a_dual_stack_socket_names_the_address_it_connected_to(
    tmp_path: Path,
) -> None:
    # `HOST=::` takes IPv4 connections too; their local address arrives IPv4-mapped.
    app = create_app(make_settings(tmp_path, use_mocks=True, allow_open_access=True))
    status, body = asyncio.run(
        _raw_request(app, "GET", [(b"host", b"192.0.2.7:8000")], ("::ffff:192.0.2.7", 8000))
    )
    assert status == 200, body


async def _raw_request(
    app: Any,
    method: str,
    headers: list[tuple[bytes, bytes]],
    server: tuple[str, int] = ("127.0.0.1", 80),
) -> tuple[int, bytes]:
    """One request with exactly these headers (HTTP clients merge duplicates)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/jobs",
        "raw_path": b"/jobs",
        "query_string": b"",
        "root_path": "",
        "headers": [*headers, (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": server,
    }
    messages: list[dict[str, Any]] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": b'{"prompt": "x"}', "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], body
