"""`/openapi.json` describes every route of the app, and nothing else."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from entrypoints.api_contract import OPERATIONS
from entrypoints.app import create_app
from entrypoints.openapi import is_foreign_api, route_operations
from tests.conftest import make_settings


def test_every_route_and_method_is_documented_and_nothing_else(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True))
    served = set()
    for route in app.routes:
        if isinstance(route, Route):
            served |= {(m, route.path) for m in (route.methods or set()) - {"HEAD"}}
        elif isinstance(route, Mount) and not is_foreign_api(route):
            served.add(("GET", f"{route.path}/{{path}}"))
        elif not isinstance(route, Mount):
            raise AssertionError(f"a route of a kind the document does not know: {route!r}")
    with TestClient(app, base_url="http://127.0.0.1") as client:
        document = client.get("/openapi.json").json()
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert documented == served
    assert set(OPERATIONS) == served, "api_contract.OPERATIONS describes a route that is gone"
    assert {(m, p) for m, p, _ in route_operations(app.routes)} == served


def test_the_document_is_openapi_3_1_with_the_error_shape_and_the_body_bounds(
    tmp_path: Path,
) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        document = client.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorInfo"]["required"]) == {"type", "message", "details", "request_id"}
    body = schemas["GenerationBody"]
    assert body["additionalProperties"] is False
    assert body["properties"]["width"] | {"title": None} == {
        "default": 512,
        "maximum": 1024,
        "minimum": 64,
        "multipleOf": 8,
        "title": None,
        "type": "integer",
    }
    generate = document["paths"]["/image"]["post"]
    assert generate["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/GenerationBody"
    }
    assert {"200", "400", "403", "413", "415", "422", "429", "500", "503", "504", "507"} <= set(
        generate["responses"]
    )
    assert "security" not in generate, "without keys nothing asks for one"
    parameters = document["paths"]["/images"]["get"]["parameters"]
    limit = next(p for p in parameters if p["name"] == "limit")
    assert limit["in"] == "query"
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)


def test_with_keys_protected_routes_declare_security_and_401(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, use_mocks=True, api_keys="k-123"))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        document = client.get("/openapi.json", headers={"Authorization": "Bearer k-123"}).json()
    paths = document["paths"]
    assert "401" in paths["/jobs"]["get"]["responses"] and paths["/jobs"]["get"]["security"]
    assert paths["/health/live"]["get"]["security"] == []
    assert "401" not in paths["/health/live"]["get"]["responses"]
    assert set(document["components"]["securitySchemes"]) == {"bearer", "basic", "session"}
