"""Validating a request's data with its API model, worded as the API's field details.

pydantic's own messages ("Input should be less than or equal to 1024") say one bound;
ours say the whole rule ("Must be between 64 and 1024."), taken from the same JSON
schema that `/openapi.json` publishes, so the message and the contract agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from domain.errors import FieldError, InvalidRequest

Model = TypeVar("Model", bound=BaseModel)

_RANGE_ERRORS = {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}
_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
}


def validated(model: type[Model], data: Mapping[str, Any]) -> Model:
    """``data`` as a ``model``, or InvalidRequest with one detail per bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        details: dict[str, FieldError] = {}
        for problem in error.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "body"
            details.setdefault(field, FieldError(field, _message(model, field, problem)))
        raise InvalidRequest(list(details.values())) from None


@cache
def _field_schemas(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """Each field's JSON schema with a nullable field's alternatives merged into one."""
    fields: dict[str, dict[str, Any]] = {}
    for name, schema in model.model_json_schema()["properties"].items():
        merged = {key: value for key, value in schema.items() if key != "anyOf"}
        types = [merged["type"]] if "type" in merged else []
        for option in schema.get("anyOf", []):
            merged.update({key: value for key, value in option.items() if key != "type"})
            types.append(option.get("type"))
        merged["types"] = types
        fields[name] = merged
    return fields


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _message(model: type[BaseModel], field: str, problem: ErrorDetails) -> str:
    kind, context = problem["type"], problem.get("ctx") or {}
    if kind == "missing":
        return "Field required."
    if kind == "extra_forbidden":
        return "Unknown field."
    schema = _field_schemas(model).get(field, {})
    or_null = " or null" if "null" in schema.get("types", []) else ""
    low, high = schema.get("minimum"), schema.get("maximum")
    # pydantic checks multipleOf first; a value out of range hears about the range first.
    out_of_range = kind in _RANGE_ERRORS or (
        kind == "multiple_of" and low is not None and not low <= problem["input"] <= high
    )
    if out_of_range and low is not None and high is not None:
        return f"Must be between {_number(low)} and {_number(high)}."
    if kind == "multiple_of":
        return f"Must be a multiple of {context['multiple_of']}."
    if kind in ("string_too_short", "string_pattern_mismatch"):
        return "Must not be empty."
    if kind == "string_too_long":
        got = len(problem["input"]) if isinstance(problem["input"], str) else "more"
        return f"Must be at most {context['max_length']} characters (got {got})."
    if kind == "finite_number":
        return "Must be a finite number."
    if kind == "literal_error" and "enum" in schema:
        null_choice = ", or null for the default" if or_null else ""
        return f"Must be one of {', '.join(map(str, schema['enum']))}{null_choice}."
    expected = next((type_ for type_ in schema.get("types", []) if type_ != "null"), None)
    if kind.endswith(("_type", "_parsing", "_parsing_size")) and expected in _TYPE_NAMES:
        return f"Must be {_TYPE_NAMES[expected]}{or_null}."
    return f"{problem['msg']}."
