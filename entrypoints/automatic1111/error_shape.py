"""Our error as AUTOMATIC1111 shapes it.

AUTOMATIC1111's API (modules/api/api.py, `api_middleware.handle_exception`) answers
every error it handles as `{"error": <the exception's class name>, "detail": <its
detail>, "body": <the request body it could not validate, or "">, "errors": <str(e)>}`
with the exception's status (FastAPI's: 422 for validation, 404, 401, ...; 500 for
anything else). Its clients show `detail`, or the whole text. So:
- `error`: "HTTPException" for a 4xx (what A1111's own refusals raise); for a 5xx the
  name of what went wrong, as A1111 names an unexpected exception ("GenerationFailed").
- `detail`: our message, with each field's problem appended ("cfg_scale: Must be
  between 0 and 20."), for clients that show `detail` alone; a problem the message
  already tells (an image's) is not told twice.
- `body`: "" (we never echo a request back).
- `errors`: the fields' problems as text; without any, our error type ("queue_full"),
  the one machine-readable word a script can test.
The status is ours: it already is what FastAPI would use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from entrypoints.error_dialects import ForeignError, field_problems, with_field_problems


def automatic1111_error(status: int, error: Mapping[str, Any]) -> ForeignError:
    error_type = str(error.get("type") or "error")
    problems = field_problems(error.get("details"))
    detail = with_field_problems(str(error.get("message") or ""), error.get("details"))
    return ForeignError(
        status,
        {
            "error": "HTTPException" if status < 500 else _exception_name(error_type),
            "detail": detail,
            "body": "",
            "errors": problems or error_type,
        },
    )


def _exception_name(error_type: str) -> str:
    """ "generation_failed" -> "GenerationFailed"."""
    return "".join(word.capitalize() for word in error_type.split("_")) or "Exception"
