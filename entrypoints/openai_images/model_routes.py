"""`GET /v1/models` and `GET /v1/models/{id}`: the one model this service serves.

Only the served model is listed, by its Hugging Face repo id. The names clients
hard-code in their requests (`dall-e-2`, `dall-e-3`, `gpt-image-1`) are accepted by the
image calls, which run the served model whatever `model` says, but are not models here:
`GET /v1/models/dall-e-3` is a 404 on the field `model`, which OpenAI's shape tells as
its own `model_not_found` (`error_shape`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from entrypoints.app_state import services
from entrypoints.echoed_values import shown
from entrypoints.http_errors import error_response

OWNER = "local-sd"


def _served_model(request: Request) -> dict[str, Any]:
    settings = services(request).settings
    try:
        # When the model arrived here: the nearest thing to OpenAI's creation time.
        created = int(settings.model_dir.stat().st_mtime)
    except OSError:
        created = 0  # not downloaded yet
    return {"id": settings.model_repo_id, "object": "model", "created": created, "owned_by": OWNER}


async def list_models(request: Request) -> Response:
    return JSONResponse({"object": "list", "data": [_served_model(request)]})


async def get_model(request: Request) -> Response:
    model = _served_model(request)
    asked = request.path_params["model_id"]
    if asked != model["id"]:
        # Our one error shape, with the field a client named; no domain error means "no
        # such model", as one model is served and any name runs it.
        message = f"The model {shown(asked)} does not exist; this service serves {model['id']}."
        request_id = getattr(request.state, "request_id", None)
        details = [{"field": "model", "message": message}]
        return error_response(404, "not_found", message, request_id, details)
    return JSONResponse(model)


MODEL_ROUTES: list[BaseRoute] = [
    Route("/models", list_models, methods=["GET"]),
    Route("/models/{model_id:path}", get_model, methods=["GET"]),
]
