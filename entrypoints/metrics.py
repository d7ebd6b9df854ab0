"""`GET /metrics`: the app's Prometheus registry, in the format the scraper asks for.

Behind the API key like every path off the authentication middleware's public list:
job counts and timings say what the service's users are doing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from entrypoints.app_state import services


async def metrics(request: Request) -> Response:
    body, content_type = services(request).metrics.exposition(request.headers.get("accept"))
    return Response(body, media_type=content_type)


METRICS_ROUTES = [Route("/metrics", metrics, methods=["GET"])]
