"""What an AUTOMATIC1111 client asks about the server: its options, model, samplers,
and the extras it has none of, in the shapes A1111 answers with (`modules/api/models.py`),
so that clients listing them on connect (SillyTavern, Open WebUI, `webuiapi`) find lists
they can read. Also `png-info`, which reads our PNGs' infotext back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from application.image_metadata import A1111_SAMPLERS
from entrypoints.app_state import services
from entrypoints.automatic1111.options import check_options, options_json
from entrypoints.automatic1111.png_info import png_info
from entrypoints.automatic1111.served_model import served_model
from entrypoints.json_body import read_json_object

# We follow the model's own noise schedule only: A1111's "Automatic" (what it does when a
# sampler names none), item shape `SchedulerItem`.
_SCHEDULERS = [
    {
        "name": "automatic",
        "label": "Automatic",
        "aliases": None,
        "default_rho": -1,
        "need_inner_model": False,
    }
]

# Extras we have none of, as A1111's empty answer of each shape: lists of items
# (UpscalerItem, LatentUpscalerModeItem, SDVaeItem, SDModuleItem, LoRA, ...), a mapping
# for embeddings (EmbeddingsResponse) and scripts (ScriptsList).
_EMPTY: dict[str, Any] = {
    "/upscalers": [],
    "/latent-upscale-modes": [],
    "/sd-vae": [],
    "/sd-modules": [],
    "/loras": [],
    "/hypernetworks": [],
    "/face-restorers": [],
    "/realesrgan-models": [],
    "/prompt-styles": [],
    "/script-info": [],
    "/embeddings": {"loaded": {}, "skipped": {}},
    "/scripts": {"txt2img": [], "img2img": []},
}


async def get_options(request: Request) -> Response:
    return JSONResponse(options_json(served_model(request), services(request).settings))


async def set_options(request: Request) -> Response:
    check_options(await read_json_object(request), served_model(request))
    return JSONResponse(None)


async def sd_models(request: Request) -> Response:
    return JSONResponse([served_model(request).as_sd_model()])


async def samplers(request: Request) -> Response:
    """The loaded engine's schedulers by A1111's labels; all of them before it is loaded."""
    offered = services(request).service.readiness.schedulers or tuple(A1111_SAMPLERS)
    return JSONResponse(
        [
            {"name": A1111_SAMPLERS[ours], "aliases": [ours], "options": {}}
            for ours in offered
            if ours in A1111_SAMPLERS
        ]
    )


async def schedulers(request: Request) -> Response:
    return JSONResponse(_SCHEDULERS)


async def nothing_to_refresh(request: Request) -> Response:
    """One model, no VAEs or LoRAs to rescan: A1111's answer, null."""
    return JSONResponse(None)


def _empty(answer: Any) -> Callable[[Request], Awaitable[Response]]:
    async def empty(request: Request) -> Response:
        return JSONResponse(answer)

    return empty


CATALOG_ROUTES: list[BaseRoute] = [
    Route("/options", get_options, methods=["GET"]),
    Route("/options", set_options, methods=["POST"]),
    Route("/sd-models", sd_models, methods=["GET"]),
    Route("/samplers", samplers, methods=["GET"]),
    Route("/schedulers", schedulers, methods=["GET"]),
    *(Route(path, _empty(answer), methods=["GET"]) for path, answer in _EMPTY.items()),
    *(
        Route(path, nothing_to_refresh, methods=["POST"])
        for path in ("/refresh-checkpoints", "/refresh-vae", "/refresh-loras")
    ),
    Route("/png-info", png_info, methods=["POST"]),
]
