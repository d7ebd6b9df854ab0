"""Every `/sdapi/v1` route, mounted there by `entrypoints.routes`."""

from __future__ import annotations

from starlette.routing import BaseRoute

from entrypoints.automatic1111.catalog_routes import CATALOG_ROUTES
from entrypoints.automatic1111.control_routes import CONTROL_ROUTES
from entrypoints.automatic1111.generation_routes import GENERATION_ROUTES

AUTOMATIC1111_ROUTES: list[BaseRoute] = [*GENERATION_ROUTES, *CONTROL_ROUTES, *CATALOG_ROUTES]
