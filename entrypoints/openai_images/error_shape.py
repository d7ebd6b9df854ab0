"""To be written: our error as OpenAI shapes it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def openai_error(status: int, error: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    body = {"message": error.get("message"), "type": error.get("type"), "param": None, "code": None}
    return status, {"error": body}
