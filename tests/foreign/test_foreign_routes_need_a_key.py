"""With API keys set, every route under `/sdapi/v1` and `/v1` answers 401 without a key, in
its API's own error shape, and its handler never runs.

The walk is built from the route tables the service mounts (AUTOMATIC1111_ROUTES,
OPENAI_IMAGES_ROUTES) and each route's own methods, so a route added later is covered
without editing this file. The app is the real one (its middleware, keys and error
dialects) with each foreign handler swapped for a recorder, on the app's own copy of
the route table: a refused call must leave the recorder empty, and the same call with
a key must reach it (so a 401 is the key's doing, not an unknown path's).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from entrypoints.app import create_app
from entrypoints.automatic1111.routes import AUTOMATIC1111_ROUTES
from entrypoints.openai_images.routes import OPENAI_IMAGES_ROUTES
from tests.conftest import make_settings

KEY = "alice-key-0123456789"
MOUNTS: dict[str, list[BaseRoute]] = {
    "/sdapi/v1": AUTOMATIC1111_ROUTES,
    "/v1": OPENAI_IMAGES_ROUTES,
}
WRONG_KEYS = {
    "no key": {},
    "a wrong Bearer key": {"authorization": "Bearer wrong-key-0123456789"},
    "a wrong Basic key": {
        "authorization": "Basic " + base64.b64encode(b"user:wrong-key-01234").decode()
    },
}


def every_foreign_call() -> list[tuple[str, str]]:
    """(method, path) for each method of each route under both mounts; a path parameter
    gets a plausible value."""
    calls = []
    for mount, routes in MOUNTS.items():
        for route in routes:
            assert isinstance(route, Route), f"{route!r} under {mount} would escape the walk"
            path = mount + re.sub(r"\{[^}]+\}", "some-id", route.path_format)
            calls += [(method, path) for method in sorted(route.methods or ())]
    return calls


CALLS = every_foreign_call()


class Recorder:
    """Stands in for every foreign handler: notes the call, answers 204."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def endpoint(self, request: Request) -> Response:
        self.calls.append((request.method, request.url.path))
        return Response(status_code=204)


def with_recorded_handlers(app: Starlette, recorder: Recorder) -> None:
    """Swap the foreign mounts in ``app``'s own route list (not the shared tables) for
    copies whose routes keep their paths and methods and call ``recorder``."""
    routes = app.router.routes
    for index, route in enumerate(routes):
        if isinstance(route, Mount) and route.path in MOUNTS:
            copies: list[BaseRoute] = [
                Route(inner.path, recorder.endpoint, methods=inner.methods, name=inner.name)
                for inner in route.routes
                if isinstance(inner, Route)
            ]
            routes[index] = Mount(route.path, routes=copies, name=route.name)


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, recorder: Recorder) -> Iterator[TestClient]:
    settings = make_settings(
        tmp_path_factory.mktemp("keyed"),
        use_mocks=True,
        api_keys=SecretStr(KEY),
        # Wrong keys count toward the throttle; this walk makes many on purpose.
        auth_failure_limit="1000/minute",
    )
    app = create_app(settings)
    with_recorded_handlers(app, recorder)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def assert_foreign_401(response: Any, method: str, path: str) -> None:
    assert response.status_code == 401, (method, path, response.text)
    assert "Basic" in response.headers["www-authenticate"]
    if method == "HEAD":
        return  # no body to shape
    body = response.json()
    if path.startswith("/sdapi/"):
        assert set(body) == {"error", "detail", "body", "errors"}, body
        assert body["errors"] == "unauthorized"
    else:
        assert set(body) == {"error"} and body["error"]["code"] == "invalid_api_key", body


def test_the_walk_reaches_both_apis() -> None:
    paths = {path for _, path in CALLS}
    assert "/sdapi/v1/txt2img" in paths and "/v1/images/generations" in paths
    assert ("POST", "/sdapi/v1/options") in CALLS and ("GET", "/sdapi/v1/options") in CALLS


@pytest.mark.parametrize("headers", WRONG_KEYS.values(), ids=WRONG_KEYS.keys())
@pytest.mark.parametrize(("method", "path"), CALLS)
def test_a_foreign_route_without_a_valid_key_is_401_and_runs_nothing(
    keyed: TestClient, recorder: Recorder, method: str, path: str, headers: dict[str, str]
) -> None:
    recorder.calls.clear()
    response = keyed.request(method, path, headers=headers)
    assert_foreign_401(response, method, path)
    assert recorder.calls == []


@pytest.mark.parametrize(("method", "path"), CALLS)
def test_the_same_call_with_the_key_reaches_its_handler(
    keyed: TestClient, recorder: Recorder, method: str, path: str
) -> None:
    recorder.calls.clear()
    response = keyed.request(method, path, headers={"authorization": f"Bearer {KEY}"})
    assert response.status_code == 204, response.text
    assert recorder.calls == [(method, path)]
