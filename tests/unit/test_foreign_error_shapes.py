"""Our one error shape in AUTOMATIC1111's and OpenAI's: bodies, statuses, retry advice.

The OpenAI bodies are read back through the `openai` package's own status-error
factory and exception classes, so what its users catch is what these tests see."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from entrypoints.automatic1111.error_shape import automatic1111_error
from entrypoints.error_dialects import ForeignError, field_problems
from entrypoints.openai_images.error_shape import openai_error


def ours(
    error_type: str, message: str, details: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    return {"type": error_type, "message": message, "details": details or [], "request_id": "r1"}


VALIDATION = ours(
    "validation_error",
    "Invalid request: check cfg_scale, width.",
    [
        {"field": "cfg_scale", "message": "Must be between 0 and 20."},
        {"field": "width", "message": "Must be between 64 and 1024"},
    ],
)


def test_field_problems_as_text() -> None:
    assert field_problems(VALIDATION["details"]) == (
        "cfg_scale: Must be between 0 and 20. width: Must be between 64 and 1024."
    )
    assert field_problems([]) == "" and field_problems(None) == ""
    assert field_problems([{"field": "", "message": "Bad"}]) == "Bad."


def test_a_problem_the_message_already_tells_is_not_told_again() -> None:
    said = "The file is text, not an image. MAX_UPLOAD_MB sets this limit."
    details = [
        {"field": "image", "message": "The file is text, not an image."},
        {"field": "mask", "message": "Must be a PNG"},
    ]
    assert field_problems(details, said=said) == "mask: Must be a PNG."
    assert field_problems(details) == "image: The file is text, not an image. mask: Must be a PNG."


IMAGE_ERROR = ours(
    "invalid_image",
    "The file is text, not an image.",
    [{"field": "image", "message": "The file is text, not an image."}],
)


def test_an_image_error_is_told_once_in_either_shape() -> None:
    a1111 = automatic1111_error(422, IMAGE_ERROR).body
    assert a1111["detail"] == "The file is text, not an image."
    assert a1111["errors"] == "image: The file is text, not an image."
    openai = openai_error(422, IMAGE_ERROR).body["error"]
    assert openai["message"] == "The file is text, not an image."
    assert (openai["param"], openai["code"]) == ("image", "invalid_image")


# AUTOMATIC1111


def test_automatic1111_validation_keeps_422_and_names_the_fields() -> None:
    status, body, headers = automatic1111_error(422, VALIDATION)
    assert status == 422 and not headers
    assert set(body) == {"error", "detail", "body", "errors"}
    assert body["error"] == "HTTPException" and body["body"] == ""
    assert body["detail"] == (
        "Invalid request: check cfg_scale, width. "
        "cfg_scale: Must be between 0 and 20. width: Must be between 64 and 1024."
    )
    assert (
        body["errors"] == "cfg_scale: Must be between 0 and 20. width: Must be between 64 and 1024."
    )


@pytest.mark.parametrize(
    ("status", "error_type", "error_name"),
    [
        (401, "unauthorized", "HTTPException"),
        (404, "not_found", "HTTPException"),
        (429, "queue_full", "HTTPException"),
        (500, "generation_failed", "GenerationFailed"),
        (503, "service_unavailable", "ServiceUnavailable"),
        (504, "generation_timeout", "GenerationTimeout"),
        (507, "insufficient_storage", "InsufficientStorage"),
    ],
)
def test_automatic1111_keeps_the_status_and_our_type(
    status: int, error_type: str, error_name: str
) -> None:
    foreign = automatic1111_error(status, ours(error_type, "What went wrong."))
    assert foreign == ForeignError(
        status,
        {"error": error_name, "detail": "What went wrong.", "body": "", "errors": error_type},
    )


# OpenAI


def read_by_openai(foreign: ForeignError) -> openai.APIStatusError:
    """The exception the `openai` package raises for this answer."""
    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0)
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/images/generations")
    response = httpx.Response(
        foreign.status, json=foreign.body, headers=dict(foreign.headers), request=request
    )
    # The package's own path from a response to its exception (what `_request` raises).
    return client._make_status_error_from_response(response)  # type: ignore[arg-type]


def test_openai_validation_is_a_bad_request_naming_the_first_field() -> None:
    foreign = openai_error(422, VALIDATION)
    assert foreign.status == 400 and not foreign.headers
    assert foreign.body == {
        "error": {
            "message": "Invalid request: check cfg_scale, width. "
            "cfg_scale: Must be between 0 and 20. width: Must be between 64 and 1024.",
            "type": "invalid_request_error",
            "param": "cfg_scale",
            "code": "validation_error",
        }
    }
    error = read_by_openai(foreign)
    assert isinstance(error, openai.BadRequestError)
    assert error.param == "cfg_scale" and error.code == "validation_error"
    assert error.type == "invalid_request_error"
    assert "cfg_scale: Must be between 0 and 20." in str(error)


def test_openai_invalid_image_keeps_its_code() -> None:
    foreign = openai_error(
        422, ours("invalid_image", "The image is damaged.", [{"field": "image", "message": "x"}])
    )
    assert foreign.status == 400
    assert foreign.body["error"]["code"] == "invalid_image"
    assert foreign.body["error"]["param"] == "image"


@pytest.mark.parametrize(
    ("status", "error_type", "exception", "kind", "code"),
    [
        (400, "bad_request", openai.BadRequestError, "invalid_request_error", "bad_request"),
        (
            401,
            "unauthorized",
            openai.AuthenticationError,
            "invalid_request_error",
            "invalid_api_key",
        ),
        (403, "forbidden", openai.PermissionDeniedError, "permission_error", "forbidden"),
        (404, "not_found", openai.NotFoundError, "invalid_request_error", "not_found"),
        (409, "cancelled", openai.ConflictError, "invalid_request_error", "cancelled"),
        (
            413,
            "payload_too_large",
            openai.APIStatusError,
            "invalid_request_error",
            "payload_too_large",
        ),
        (429, "queue_full", openai.RateLimitError, "requests", "rate_limit_exceeded"),
        (429, "rate_limited", openai.RateLimitError, "requests", "rate_limit_exceeded"),
        (500, "generation_failed", openai.InternalServerError, "server_error", "generation_failed"),
        (
            503,
            "service_unavailable",
            openai.InternalServerError,
            "server_error",
            "service_unavailable",
        ),
        (
            504,
            "generation_timeout",
            openai.InternalServerError,
            "server_error",
            "generation_timeout",
        ),
        (
            507,
            "insufficient_storage",
            openai.InternalServerError,
            "server_error",
            "insufficient_storage",
        ),
    ],
)
def test_openai_statuses_types_and_codes(
    status: int, error_type: str, exception: type[openai.APIStatusError], kind: str, code: str
) -> None:
    foreign = openai_error(status, ours(error_type, "What went wrong."))
    assert foreign.status == status
    assert foreign.body == {
        "error": {"message": "What went wrong.", "type": kind, "param": None, "code": code}
    }
    error = read_by_openai(foreign)
    assert type(error) is exception
    assert error.message == f"Error code: {status} - What went wrong."
    assert error.type == kind and error.code == code


@pytest.mark.parametrize("status", [409, 500, 503, 504, 507])
def test_openai_client_is_told_not_to_retry_work_that_would_fail_again(status: int) -> None:
    assert openai_error(status, ours("x", "m")).headers == {"x-should-retry": "false"}


@pytest.mark.parametrize("status", [400, 401, 404, 408, 429])
def test_openai_client_keeps_its_own_retry_rules_otherwise(status: int) -> None:
    # 429 (a full queue, a rate limit) comes with Retry-After: retrying is the point.
    assert not openai_error(status, ours("x", "m")).headers
