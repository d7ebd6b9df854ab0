"""What a user asks for: one validated text-to-image request.

Validation lives here, once, so every entry point (HTTP, CLI, tests) applies
the same bounds. JSON types are checked strictly: a boolean is not a number,
and NaN or infinity is not a guidance scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from domain.errors import FieldError, InvalidRequest

PROMPT_MAX_CHARS = 1000
STEPS_MIN, STEPS_MAX = 1, 100
GUIDANCE_MIN, GUIDANCE_MAX = 0.0, 20.0
SIZE_MIN, SIZE_MAX, SIZE_MULTIPLE = 64, 1024, 8
SEED_MIN, SEED_MAX = 0, 2**32 - 1
IMAGES_MIN, IMAGES_MAX = 1, 4

DEFAULT_STEPS = 20
DEFAULT_GUIDANCE = 7.5
DEFAULT_SIZE = 512
SCHEDULER_LABELS = {
    "pndm": "PNDM",
    "euler": "Euler",
    "euler_a": "Euler ancestral",
    "ddim": "DDIM",
    "lcm": "LCM",
}
"""Every scheduler a request may name, and what people call it (the UI's labels)."""
SCHEDULERS = tuple(SCHEDULER_LABELS)


def request_bounds() -> dict[str, dict[str, int | float]]:
    """Every field's limits as plain data, so that clients (the UI) need not repeat them."""
    size = {"min": SIZE_MIN, "max": SIZE_MAX, "multiple_of": SIZE_MULTIPLE}
    return {
        "prompt": {"max_chars": PROMPT_MAX_CHARS},
        "negative_prompt": {"max_chars": PROMPT_MAX_CHARS},
        "num_inference_steps": {"min": STEPS_MIN, "max": STEPS_MAX},
        "guidance_scale": {"min": GUIDANCE_MIN, "max": GUIDANCE_MAX},
        "width": dict(size),
        "height": dict(size),
        "seed": {"min": SEED_MIN, "max": SEED_MAX},
        "num_images": {"min": IMAGES_MIN, "max": IMAGES_MAX},
    }


@dataclass(frozen=True)
class GenerationRequest:
    """A text-to-image request whose every field is within bounds."""

    prompt: str
    negative_prompt: str | None = None
    num_inference_steps: int = DEFAULT_STEPS
    guidance_scale: float = DEFAULT_GUIDANCE
    width: int = DEFAULT_SIZE
    height: int = DEFAULT_SIZE
    seed: int | None = None
    scheduler: str | None = None
    """None means the model's own scheduler_config.json."""
    num_images: int = 1
    """Images in one job, with seeds ``seed``, ``seed + 1``, ..."""

    def __post_init__(self) -> None:
        errors = _check_all(asdict(self))
        if errors:
            raise InvalidRequest(errors)

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
    ) -> GenerationRequest:
        """Build a request from decoded JSON, reporting every bad field at once.

        ``defaults`` replaces the standard defaults for fields the request leaves out:
        a few-step model wants 4 steps and guidance 1.0, not 20 and 7.5.
        """
        errors = [FieldError(name, "Unknown field.") for name in data if name not in _FIELD_CHECKS]
        values = {**(defaults or {}), **data}
        errors.extend(_check_all(values))
        if errors:
            raise InvalidRequest(errors)
        values["prompt"] = values["prompt"].strip()
        negative = values.get("negative_prompt")
        values["negative_prompt"] = negative.strip() or None if isinstance(negative, str) else None
        if "guidance_scale" in values:
            values["guidance_scale"] = float(values["guidance_scale"])
        return cls(**values)

    def with_seed(self, seed: int) -> GenerationRequest:
        return replace(self, seed=seed)

    def image_seeds(self, seed: int) -> list[int]:
        """The seed of each image in the batch; wraps around past the largest seed."""
        return [(seed + index) % (SEED_MAX + 1) for index in range(self.num_images)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_all(values: Mapping[str, Any]) -> list[FieldError]:
    errors = []
    for name, check in _FIELD_CHECKS.items():
        if name not in values:
            if name == "prompt":
                errors.append(FieldError(name, "Field required."))
            continue
        message = check(values[name])
        if message:
            errors.append(FieldError(name, message))
    return errors


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_prompt(value: object) -> str | None:
    if not isinstance(value, str):
        return "Must be a string."
    length = len(value.strip())
    if length == 0:
        return "Must not be empty."
    if length > PROMPT_MAX_CHARS:
        return f"Must be at most {PROMPT_MAX_CHARS} characters (got {length})."
    return None


def _check_negative_prompt(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return "Must be a string or null."
    if len(value.strip()) > PROMPT_MAX_CHARS:
        return f"Must be at most {PROMPT_MAX_CHARS} characters."
    return None


def _int_in_range(low: int, high: int, multiple: int = 1) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if not _is_int(value):
            return "Must be an integer."
        assert isinstance(value, int)
        if not low <= value <= high:
            return f"Must be between {low} and {high}."
        if value % multiple:
            return f"Must be a multiple of {multiple}."
        return None

    return check


def _check_guidance(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "Must be a number."
    if not math.isfinite(value):
        return "Must be a finite number."
    if not GUIDANCE_MIN <= value <= GUIDANCE_MAX:
        return f"Must be between {GUIDANCE_MIN:g} and {GUIDANCE_MAX:g}."
    return None


def _check_seed(value: object) -> str | None:
    if value is None:
        return None
    if not _is_int(value):
        return "Must be an integer or null."
    assert isinstance(value, int)
    if not SEED_MIN <= value <= SEED_MAX:
        return f"Must be between {SEED_MIN} and {SEED_MAX}."
    return None


def _check_scheduler(value: object) -> str | None:
    if value is None or value in SCHEDULERS:
        return None
    return f"Must be one of {', '.join(SCHEDULERS)}, or null for the model's own."


_FIELD_CHECKS: dict[str, Callable[[object], str | None]] = {
    "prompt": _check_prompt,
    "negative_prompt": _check_negative_prompt,
    "num_inference_steps": _int_in_range(STEPS_MIN, STEPS_MAX),
    "guidance_scale": _check_guidance,
    "width": _int_in_range(SIZE_MIN, SIZE_MAX, SIZE_MULTIPLE),
    "height": _int_in_range(SIZE_MIN, SIZE_MAX, SIZE_MULTIPLE),
    "seed": _check_seed,
    "scheduler": _check_scheduler,
    "num_images": _int_in_range(IMAGES_MIN, IMAGES_MAX),
}
