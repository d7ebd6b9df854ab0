"""`GET /openapi.json`: OpenAPI 3.1, generated from the app's routes and the models the
handlers validate with (`api_contract.OPERATIONS`), never written by hand.

The document describes the service as it runs: security and 401s only when keys are set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router

from entrypoints.access import access_of
from entrypoints.api_contract import OPERATIONS, Answer, Media, Operation, errors
from entrypoints.api_models import ErrorAnswer
from entrypoints.version import service_version

_REF = "#/components/schemas/{model}"
# What any route may answer: a duplicate Host header (400), a refused Host or Origin (403).
_ANY_ROUTE = errors(400, 403)
# What a protected route answers without a valid key: 401, and 429 after repeated failures.
_PROTECTED = errors(401, 429)
_SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "An API key."},
    "basic": {"type": "http", "scheme": "basic", "description": "Any user, the key as password."},
    "session": {"type": "apiKey", "in": "cookie", "name": "local_sd_session"},
}


class UndocumentedRoute(Exception):
    """A route has no entry in `api_contract.OPERATIONS`."""


def is_foreign_api(route: Mount) -> bool:
    """A mount of routes (AUTOMATIC1111's, OpenAI's API), not of files: documented by the
    API's owner, not in this document."""
    return isinstance(route.app, Router)


def route_operations(routes: Iterable[BaseRoute]) -> Iterator[tuple[str, str, list[str]]]:
    """(method, OpenAPI path, path parameters) of every route; a mount serves files below it."""
    for route in routes:
        if isinstance(route, Route):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield method, route.path, list(route.param_convertors)
        elif isinstance(route, Mount) and not is_foreign_api(route):
            yield "GET", f"{route.path}/{{path}}", ["path"]


def openapi_document(routes: Iterable[BaseRoute], *, keys_required: bool) -> dict[str, Any]:
    listed = list(route_operations(routes))
    for method, path, _ in listed:
        if (method, path) not in OPERATIONS:
            raise UndocumentedRoute(f"{method} {path} is not in api_contract.OPERATIONS.")
    schemas = _component_schemas(OPERATIONS[(m, p)] for m, p, _ in listed)
    paths: dict[str, dict[str, Any]] = {}
    for method, path, parameters in listed:
        operation = OPERATIONS[(method, path)]
        paths.setdefault(path, {})[method.lower()] = _operation_json(
            operation, parameters, schemas, keys_required
        )
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Local Stable Diffusion", "version": service_version()},
        "paths": paths,
        "components": {"schemas": schemas["$defs"]},
    }
    if keys_required:
        document["components"]["securitySchemes"] = _SECURITY_SCHEMES
    return document


def _component_schemas(operations: Iterable[Operation]) -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorAnswer}
    for operation in operations:
        models.update(m for m in (operation.body, operation.query) if m is not None)
        models.update(a for a in operation.answers.values() if isinstance(a, type))
    ordered = sorted(models, key=lambda model: model.__name__)
    refs, definitions = models_json_schema(
        [(model, "validation") for model in ordered], ref_template=_REF
    )
    return {"refs": {model: refs[(model, "validation")] for model in ordered}, **definitions}


def _operation_json(
    operation: Operation, parameters: list[str], schemas: dict[str, Any], keys_required: bool
) -> dict[str, Any]:
    protected = keys_required and not operation.public
    answers = {**_ANY_ROUTE, **(_PROTECTED if protected else {}), **operation.answers}
    result: dict[str, Any] = {
        "summary": operation.summary,
        "parameters": [_path_parameter(name) for name in parameters],
        "responses": {
            str(status): _response_json(status, answer, operation, schemas)
            for status, answer in sorted(answers.items())
        },
    }
    if operation.query is not None:
        result["parameters"] += _query_parameters(operation.query)
    if operation.body is not None:
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas["refs"][operation.body]}},
        }
    elif operation.body_media:
        result["requestBody"] = {
            "required": True,
            "content": {media.type: _media_body(media) for media in operation.body_media},
        }
    if keys_required:
        result["security"] = [] if operation.public else [{name: []} for name in _SECURITY_SCHEMES]
    return result


def _media_body(media: Media) -> dict[str, Any]:
    """A body that is not JSON: bytes, or a form whose one file part holds them."""
    data = {"type": "string", "contentMediaType": "application/octet-stream"}
    if media.type == "multipart/form-data":
        return {
            "schema": {
                "type": "object",
                "properties": {"file": data},
                "required": ["file"],
                "description": media.description,
            }
        }
    return {"schema": {**data, "description": media.description}}


def _path_parameter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF)
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": prop.get("description", ""),
            "schema": {key: value for key, value in prop.items() if key != "description"},
        }
        for name, prop in schema["properties"].items()
    ]


def _response_json(
    status: int, answer: Answer, operation: Operation, schemas: dict[str, Any]
) -> dict[str, Any]:
    if isinstance(answer, Media):
        response: dict[str, Any] = {
            "description": answer.description,
            "content": {answer.type: {"schema": {}}},
        }
    elif answer is None:
        response = {"description": "No body."}
    else:
        described = "An error in the one error shape." if answer is ErrorAnswer else "OK."
        response = {
            "description": described,
            "content": {"application/json": {"schema": schemas["refs"][answer]}},
        }
    headers = operation.headers.get(status, {})
    if headers:
        response["headers"] = {
            name: {"description": text, "required": True, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return response


async def openapi_json(request: Request) -> Response:
    keys_required = access_of(request).keys.enabled
    return JSONResponse(openapi_document(request.app.routes, keys_required=keys_required))
