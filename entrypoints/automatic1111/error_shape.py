"""To be written: our error as AUTOMATIC1111 shapes it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def automatic1111_error(status: int, error: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    return status, {
        "error": error.get("type"),
        "detail": error.get("message"),
        "body": "",
        "errors": "",
    }
