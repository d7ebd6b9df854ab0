"""Our error as OpenAI shapes it: `{"error": {"message", "type", "param", "code"}}`.

OpenAI answers a request it cannot take with 400 `invalid_request_error` (the field in
`param`), a key it does not know with 401 `invalid_request_error`/`invalid_api_key`, a
rate limit with 429 type `requests` code `rate_limit_exceeded`, its own failures with
5xx `server_error`. Its clients read `error.message` (the `openai` package puts it in
the exception's text; Open WebUI shows it), and the package maps the status to its
exception class (400 BadRequestError, 401 AuthenticationError, 429 RateLimitError, ...).
`code` carries our error type where OpenAI has no code of its own ("validation_error",
"invalid_image", "queue_full", "generation_timeout"); a 404 on `model` is OpenAI's
`model_not_found`.

The `openai` package retries 408, 409, 429 and 5xx twice by default, honouring
Retry-After up to 60 s, unless the answer says `x-should-retry: false`. A full queue or
a rate limit (429, with Retry-After) is worth the retry; a cancelled job (409: someone
cancelled it in the UI), a failed or timed-out generation, a model not ready, a full
disk are not: retrying would queue the same work again, or fail the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from entrypoints.error_dialects import ForeignError, with_field_problems

_NO_RETRY = {"x-should-retry": "false"}


def openai_error(status: int, error: Mapping[str, Any]) -> ForeignError:
    error_type = str(error.get("type") or "error")
    message = str(error.get("message") or "")
    param = _first_field(error.get("details"))
    if status == 422:  # OpenAI calls every unacceptable request a bad one
        status = 400
        # OpenAI's own messages name the field: clients show nothing else.
        message = with_field_problems(message, error.get("details"))
    kind, code = _kind_and_code(status, error_type)
    if status == 404 and param == "model":
        code = "model_not_found"
    body = {"message": message, "type": kind, "param": param, "code": code}
    headers = _NO_RETRY if status == 409 or status >= 500 else {}
    return ForeignError(status, {"error": body}, headers)


def _kind_and_code(status: int, error_type: str) -> tuple[str, str]:
    if status == 401:
        return "invalid_request_error", "invalid_api_key"
    if status == 403:
        return "permission_error", error_type
    if status == 429:
        return "requests", "rate_limit_exceeded"
    if status >= 500:
        return "server_error", error_type
    return "invalid_request_error", error_type


def _first_field(details: object) -> str | None:
    if isinstance(details, list) and details and isinstance(details[0], Mapping):
        field = details[0].get("field")
        return str(field) if field else None
    return None
