"""Every OpenAI images route, mounted under `/v1` by `entrypoints.routes`."""

from __future__ import annotations

from starlette.routing import BaseRoute

from entrypoints.openai_images.edit_routes import EDIT_ROUTES
from entrypoints.openai_images.generation_routes import GENERATION_ROUTES
from entrypoints.openai_images.model_routes import MODEL_ROUTES

OPENAI_IMAGES_ROUTES: list[BaseRoute] = [*GENERATION_ROUTES, *EDIT_ROUTES, *MODEL_ROUTES]
