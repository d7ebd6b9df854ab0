"""To be written."""

from __future__ import annotations

from starlette.routing import BaseRoute

MODEL_ROUTES: list[BaseRoute] = []
