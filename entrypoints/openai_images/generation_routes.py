"""To be written."""

from __future__ import annotations

from starlette.routing import BaseRoute

GENERATION_ROUTES: list[BaseRoute] = []
