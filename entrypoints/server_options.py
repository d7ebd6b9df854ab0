"""The options `local-sd serve` hands uvicorn: where to listen, TLS, and limits on clients."""

from __future__ import annotations

from typing import Any

from entrypoints.settings import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        # Our middleware logs each request once; uvicorn's access log would double it.
        "access_log": False,
        "log_level": settings.log_level.lower(),
        # uvicorn's own handlers print plain text; without them its records reach the
        # handler configure_logging installed and come out in LOG_FORMAT like ours.
        "log_config": None,
    }
