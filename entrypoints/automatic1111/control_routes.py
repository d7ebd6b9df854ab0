"""To be written."""

from __future__ import annotations

from starlette.routing import BaseRoute

CONTROL_ROUTES: list[BaseRoute] = []
