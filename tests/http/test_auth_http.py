"""API keys on every route: credentials, public paths, the failure throttle, browser sessions."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner
from pydantic import SecretStr
from starlette.testclient import TestClient

from entrypoints.access import FAILURES_PER_MINUTE, SESSION_SALT
from entrypoints.api_keys import keys_from_settings
from entrypoints.app import create_app
from entrypoints.authentication import SESSION_COOKIE
from tests.conftest import make_settings

KEYS = "alice:alice-key-0123456789,bob:bob-key-0123456789"
ALICE = {"authorization": "Bearer alice-key-0123456789"}
PROTECTED = [
    ("GET", "/jobs"),
    ("POST", "/jobs"),
    ("GET", "/jobs/0123abcd"),
    ("DELETE", "/jobs/0123abcd"),
    ("GET", "/jobs/0123abcd/events"),
    ("POST", "/image"),
    ("GET", "/images"),
    ("GET", "/images/0123abcd.png"),
    ("GET", "/images/0123abcd.json"),
    ("GET", "/health"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    # An unknown path is refused like any other: the route table does not leak.
    ("GET", "/no/such/route"),
    ("PUT", "/"),
]


def keyed_app(tmp_path: Path, keys: str = KEYS, **values: Any) -> Any:
    return create_app(make_settings(tmp_path, use_mocks=True, api_keys=SecretStr(keys), **values))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(keyed_app(tmp_path), base_url="http://127.0.0.1") as test_client:
        yield test_client


def basic(password: str, user: str = "anyone") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["type"] == "unauthorized" and error["request_id"]
    challenge = response.headers["www-authenticate"]
    assert 'Bearer realm="local-sd"' in challenge and 'Basic realm="local-sd"' in challenge


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_route_needs_a_key(client: TestClient, method: str, path: str) -> None:
    assert_unauthorized(client.request(method, path))


@pytest.mark.parametrize(
    "headers",
    [
        ALICE,
        {"authorization": "bearer   alice-key-0123456789"},
        basic("alice-key-0123456789"),
        basic("alice-key-0123456789", user=""),
        # As the tools with only user and password fields send it: the key as the user
        # with no password, or typed without a colon.
        basic("", user="alice-key-0123456789"),
        {"authorization": "Basic " + base64.b64encode(b"alice-key-0123456789").decode()},
    ],
)
def test_bearer_and_basic_are_accepted(client: TestClient, headers: dict[str, str]) -> None:
    assert client.get("/jobs", headers=headers).status_code == 200
    assert client.get("/session", headers=headers).json()["client"] == "alice"


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "Bearer bob-key"},
        {"authorization": "Bearer"},
        {"authorization": "Token alice-key-0123456789"},
        {"authorization": "alice-key-0123456789"},
        basic(""),
        basic("", user=""),
        {"authorization": "Basic "},
        {"authorization": "Basic not-base64!"},
        # The password is the key whenever there is one: a right key as the user is not
        # taken beside a wrong password.
        basic("wrong-key-0123456789", user="alice-key-0123456789"),
        {"authorization": "Basic " + base64.b64encode(b"bob-key").decode()},
        {"x-api-key": "alice-key-0123456789"},
    ],
)
def test_wrong_or_malformed_credentials(client: TestClient, headers: dict[str, str]) -> None:
    assert_unauthorized(client.get("/jobs", headers=headers))


def test_a_key_in_the_query_string_is_ignored(client: TestClient) -> None:
    for name in ("key", "api_key", "token"):
        assert_unauthorized(client.get(f"/jobs?{name}=alice-key-0123456789"))


def test_public_paths_need_no_key(client: TestClient) -> None:
    assert client.get("/health/live").json() == {"status": "alive"}
    assert client.get("/").status_code == 200
    assert client.get("/static/ui.js").status_code == 200
    assert client.get("/static/mock-image.svg").status_code == 200
    assert client.get("/session").status_code == 200


def test_readiness_tells_the_anonymous_caller_the_status_only(client: TestClient) -> None:
    anonymous = client.get("/health/ready")
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}
    full = client.get("/health/ready", headers=ALICE).json()
    assert full["status"] == "ok" and "model" in full and "cache_dirs" in full


def test_readiness_without_a_model_is_503_with_the_status_only(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, api_keys=SecretStr(KEYS)))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.get("/health/ready")
    assert response.status_code == 503 and response.json() == {"status": "degraded"}


def test_script_requests_get_no_basic_challenge(client: TestClient) -> None:
    # A Basic challenge to the page's own fetch() would open the browser's password dialog.
    response = client.get("/jobs", headers={"sec-fetch-mode": "cors"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="local-sd"'


def test_repeated_failures_are_throttled_per_address(tmp_path: Path) -> None:
    app = keyed_app(tmp_path)

    async def scenario() -> None:
        async with at_address(app, "192.0.2.50") as guesser, at_address(app, "192.0.2.51") as other:
            wrong = {"authorization": "Bearer guess"}
            for _ in range(FAILURES_PER_MINUTE - 1):
                assert_unauthorized(await guesser.get("/jobs", headers=wrong))
            # A wrong key at sign-in counts the same.
            assert (await guesser.post("/session", json={"key": "guess"})).status_code == 401
            throttled = await guesser.get("/jobs", headers=ALICE)  # the key is not even checked
            assert throttled.status_code == 429
            assert throttled.json()["error"]["type"] == "rate_limited"
            assert 1 <= int(throttled.headers["retry-after"]) <= 60
            signing_in = await guesser.post("/session", json={"key": "alice-key-0123456789"})
            assert signing_in.status_code == 429 and "retry-after" in signing_in.headers
            assert (await guesser.get("/health/live")).status_code == 200
            assert (await other.get("/session", headers=ALICE)).json()["client"] == "alice"

    asyncio.run(scenario())


def test_missing_credentials_are_not_failures(client: TestClient) -> None:
    for _ in range(FAILURES_PER_MINUTE + 2):
        assert_unauthorized(client.get("/jobs"))
    assert client.get("/jobs", headers=ALICE).status_code == 200


def test_sign_in_sets_a_session_cookie(client: TestClient) -> None:
    assert client.get("/session").json() == {
        "auth_required": True,
        "signed_in": False,
        "client": None,
    }
    response = client.post("/session", json={"key": "bob-key-0123456789"})
    assert response.status_code == 204
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age", "samesite"} <= attributes
    assert "samesite=strict" in cookie.lower() and "Max-Age=43200" in cookie
    assert "secure" not in attributes  # plain HTTP here; see the https test
    value = client.cookies[SESSION_COOKIE]
    assert value.startswith("bob.") and "bob-key" not in value
    assert client.get("/session").json() == {
        "auth_required": True,
        "signed_in": True,
        "client": "bob",
    }
    assert client.get("/jobs").status_code == 200
    assert client.get("/health").status_code == 200


def test_sign_out_expires_the_cookie(client: TestClient) -> None:
    assert client.post("/session", json={"key": "bob-key-0123456789"}).status_code == 204
    response = client.delete("/session")
    assert response.status_code == 204
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert SESSION_COOKIE not in client.cookies
    assert_unauthorized(client.get("/jobs"))
    assert client.get("/session").json()["signed_in"] is False


def test_a_rebinding_page_cannot_lock_the_address_out(client: TestClient) -> None:
    # A DNS-rebinding page sends the user's own requests with its Host and bogus keys:
    # refused for the Host, they never count as wrong keys.
    for _ in range(FAILURES_PER_MINUTE * 2):
        refused = client.get(
            "/jobs", headers={"host": "evil.example", "authorization": "Bearer guess"}
        )
        assert refused.status_code == 403
    assert client.get("/jobs", headers=ALICE).status_code == 200


@pytest.mark.parametrize(
    "body", [{"key": "wrong"}, {}, {"key": 1}, {"key": "bob-key-0123456789", "x": 1}]
)
def test_sign_in_refuses_a_bad_body(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/session", json=body)
    assert response.status_code in (401, 422)
    assert response.json()["error"]["type"] in ("unauthorized", "validation_error")
    assert "set-cookie" not in response.headers


def test_cookies_that_are_forged_or_expired_are_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, use_mocks=True, api_keys=SecretStr(KEYS))
    secret = keys_from_settings(settings).session_secret()
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        for value in ("alice", "alice.AAAA.BBBB", _signed("alice", b"another secret", 0)):
            client.cookies.set(SESSION_COOKIE, value)
            assert_unauthorized(client.get("/jobs"))
        client.cookies.set(SESSION_COOKIE, _signed("alice", secret, 13 * 3600))
        expired = client.get("/jobs")
        assert_unauthorized(expired)
        assert "expired" in expired.json()["error"]["message"]
        client.cookies.set(SESSION_COOKIE, _signed("alice", secret, 11 * 3600))
        assert client.get("/jobs").status_code == 200
        client.cookies.set(SESSION_COOKIE, _signed("mallory", secret, 0))  # no such key
        assert_unauthorized(client.get("/jobs"))


def test_sessions_survive_a_restart_and_end_when_the_keys_change(tmp_path: Path) -> None:
    with TestClient(keyed_app(tmp_path), base_url="http://127.0.0.1") as first:
        assert first.post("/session", json={"key": "alice-key-0123456789"}).status_code == 204
        cookie = first.cookies[SESSION_COOKIE]
    with TestClient(keyed_app(tmp_path), base_url="http://127.0.0.1") as restarted:
        restarted.cookies.set(SESSION_COOKIE, cookie)
        assert restarted.get("/jobs").status_code == 200
    with TestClient(
        keyed_app(tmp_path, keys="alice:a-new-key-0123456789"), base_url="http://127.0.0.1"
    ) as rekeyed:
        rekeyed.cookies.set(SESSION_COOKIE, cookie)
        assert_unauthorized(rekeyed.get("/jobs"))


def test_the_cookie_is_secure_over_https(tmp_path: Path) -> None:
    with TestClient(keyed_app(tmp_path), base_url="https://127.0.0.1") as client:
        response = client.post("/session", json={"key": "alice-key-0123456789"})
        assert response.status_code == 204
        assert "; secure" in response.headers["set-cookie"].lower()


def test_sign_in_from_another_site_is_refused(client: TestClient) -> None:
    response = client.post(
        "/session", json={"key": "alice-key-0123456789"}, headers={"origin": "https://evil.example"}
    )
    assert response.status_code == 403 and "set-cookie" not in response.headers


def test_without_keys_the_session_says_none_is_needed(mock_client: TestClient) -> None:
    assert mock_client.get("/session").json() == {
        "auth_required": False,
        "signed_in": False,
        "client": None,
    }
    # Signing in to a service that lets everyone in succeeds, and sets nothing.
    signed_in = mock_client.post("/session", json={"key": "x"})
    assert signed_in.status_code == 204 and "set-cookie" not in signed_in.headers
    assert mock_client.get("/health/ready").json()["status"] == "ok"
    assert "model" in mock_client.get("/health/ready").json()


def test_without_keys_a_request_from_the_network_is_refused_once_logged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True, log_format="json"))

    async def scenario() -> None:
        # The URL's address is the one the connection arrived on (scope["server"]).
        async with at_address(app, "192.0.2.9", server="http://192.0.2.7:8000") as lan:
            for path in ("/health/live", "/jobs", "/", "/no/such/route"):
                refused = await lan.get(path, headers={"host": "localhost:8000"})
                assert refused.status_code == 403
                assert refused.json()["error"]["type"] == "forbidden"
                assert "API_KEYS" in refused.json()["error"]["message"]
        async with at_address(app, "127.0.0.1", server="http://127.0.0.1:8000") as local:
            assert (await local.get("/health/live")).status_code == 200

    asyncio.run(scenario())
    events = [json.loads(line)["event"] for line in capsys.readouterr().err.splitlines()]
    assert events.count("network_request_refused") == 1


def test_open_access_serves_the_network_without_keys(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True, allow_open_access=True))

    async def scenario() -> None:
        async with at_address(app, "192.0.2.9", server="http://192.0.2.7:8000") as lan:
            assert (await lan.get("/health/live")).status_code == 200
            assert (await lan.get("/session")).json()["auth_required"] is False

    asyncio.run(scenario())


def test_open_access_is_a_warning_at_every_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(2):
        create_app(
            make_settings(tmp_path, use_mocks=True, allow_open_access=True, log_format="json")
        )
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    warnings = [line for line in lines if line["event"] == "open_access"]
    assert len(warnings) == 2 and all(line["level"] == "warning" for line in warnings)


def test_the_client_names_the_request_log_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = keyed_app(tmp_path, log_format="json")
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.post(
            "/jobs", json={"prompt": "x", "width": 64, "height": 64}, headers=ALICE
        )
        assert response.status_code == 202
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    queued = [line for line in lines if line["event"] == "job_queued"]
    assert queued and queued[0]["client"] == "alice"
    assert not any("alice-key" in json.dumps(line) for line in lines)


@contextlib.asynccontextmanager
async def at_address(
    app: Any, address: str, server: str = "http://127.0.0.1"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client that connects from ``address`` (without the app's lifespan: these requests
    are answered by the middleware and the session route alone)."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url=server) as client:
        yield client


def _signed(name: str, secret: bytes, age_seconds: int) -> str:
    """A session cookie value as the service signs it, made ``age_seconds`` ago."""

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    return Then(secret, salt=SESSION_SALT).sign(name).decode()


def test_a_copy_of_the_cookie_does_not_outlive_sign_out(client: TestClient) -> None:
    assert client.post("/session", json={"key": "alice-key-0123456789"}).status_code == 204
    copied = client.cookies[SESSION_COOKIE]
    assert client.delete("/session").status_code == 204
    client.cookies.set(SESSION_COOKIE, copied)
    assert_unauthorized(client.get("/jobs"))
    # Signing in again at once works, though the new cookie may equal the old one.
    assert client.post("/session", json={"key": "alice-key-0123456789"}).status_code == 204
    assert client.get("/jobs").status_code == 200
