"""To be written."""

from __future__ import annotations

from starlette.routing import BaseRoute

CATALOG_ROUTES: list[BaseRoute] = []
