"""A request body's field constraints, from the domain's bounds (`request_bounds`), so that
what handlers validate and what `/openapi.json` publishes are the domain's numbers."""

from __future__ import annotations

from typing import Any

from pydantic import BeforeValidator, ConfigDict, Field

from domain.generation_request import request_bounds

BOUNDS = request_bounds()

# Strict: a boolean is not a number, `"20"` is not 20, NaN and infinity are not numbers,
# unknown fields are refused. python-re: `\S` must mean what str.strip() trims, as the
# domain trims the prompt.
STRICT_BODY = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, regex_engine="python-re")


def ranged(name: str) -> Any:
    bounds = BOUNDS[name]
    return Field(ge=bounds["min"], le=bounds["max"], multiple_of=bounds.get("multiple_of"))


def bounded_text(name: str, description: str, **extra: Any) -> Any:
    max_chars = int(BOUNDS[name]["max_chars"])
    return Field(max_length=max_chars, description=description, **extra)


def _integral(value: object) -> object:
    """JSON has one number type and JSON Schema's "integer" is any number without a
    fraction, so `2.0` is the integer 2 the published schema promises to take; `2.5`,
    `true` and `"2"` stay refused by the strict check after this."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Integral = BeforeValidator(_integral)
