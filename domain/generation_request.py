"""What a user asks for: one validated request, text-to-image or an edit of an image.

Validation lives here, once, so every entry point (HTTP, CLI, tests) applies
the same bounds. JSON types are checked strictly: a boolean is not a number,
and NaN or infinity is not a guidance scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from domain.errors import FieldError, InvalidRequest
from domain.input_image import (
    DEFAULT_RESIZE_MODE,
    RESIZE_MODES,
    EditMode,
    InputImage,
    edit_mode,
    image_pair_errors,
)
from domain.output_size import DEFAULT_SIZE, SIZE_MAX, SIZE_MIN, SIZE_MULTIPLE, output_size

PROMPT_MAX_CHARS = 1000
STEPS_MIN, STEPS_MAX = 1, 100
GUIDANCE_MIN, GUIDANCE_MAX = 0.0, 20.0
SEED_MIN, SEED_MAX = 0, 2**32 - 1
IMAGES_MIN, IMAGES_MAX = 1, 4
STRENGTH_MIN, STRENGTH_MAX = 0.0, 1.0
MASK_BLUR_MIN, MASK_BLUR_MAX = 0, 64

DEFAULT_STEPS = 20
DEFAULT_GUIDANCE = 7.5
DEFAULT_STRENGTH = 0.75
DEFAULT_MASK_BLUR = 4
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
        "strength": {"min": STRENGTH_MIN, "max": STRENGTH_MAX},
        "mask_blur": {"min": MASK_BLUR_MIN, "max": MASK_BLUR_MAX},
    }


@dataclass(frozen=True)
class GenerationRequest:
    """A request whose every field is within bounds.

    With ``init_image`` it is image-to-image, with ``mask_image`` too inpainting (white
    repaints, black keeps); ``mode`` says which. Edit fields of a text-to-image request are
    kept but change nothing.
    """

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
    init_image: InputImage | None = None
    strength: float = DEFAULT_STRENGTH
    """How far from the input the result may go: 0 keeps it, 1 ignores it."""
    mask_image: InputImage | None = None
    mask_blur: int = DEFAULT_MASK_BLUR
    """Pixels of blur on the mask's edge, so a repainted area blends in."""
    invert_mask: bool = False
    resize_mode: str = DEFAULT_RESIZE_MODE
    """How an input of another shape than the output is fitted (see RESIZE_MODES)."""

    def __post_init__(self) -> None:
        # Not asdict: it would turn the InputImages into dicts, which the checks refuse.
        errors = _check_all({field.name: getattr(self, field.name) for field in fields(self)})
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
        for name in ("init_image", "mask_image"):
            if isinstance(values.get(name), Mapping):
                try:
                    values[name] = InputImage.from_mapping(values[name])
                except (KeyError, TypeError, ValueError) as error:
                    errors.append(FieldError(name, f"Not a stored input image: {error}."))
                    values.pop(name)
        init = values.get("init_image")
        if isinstance(init, InputImage) and not ("width" in data and "height" in data):
            values["width"], values["height"] = output_size(
                init.width, init.height, data.get("width"), data.get("height")
            )
        errors.extend(_check_all(values))
        if errors:
            raise InvalidRequest(errors)
        if "strength" in values:
            values["strength"] = float(values["strength"])
        values["prompt"] = values["prompt"].strip()
        negative = values.get("negative_prompt")
        values["negative_prompt"] = negative.strip() or None if isinstance(negative, str) else None
        if "guidance_scale" in values:
            values["guidance_scale"] = float(values["guidance_scale"])
        return cls(**values)

    @property
    def mode(self) -> EditMode:
        return edit_mode(self.init_image is not None, self.mask_image is not None)

    @property
    def denoising_steps(self) -> int:
        """The steps the engine really runs per image: all of them from text, and
        ``int(steps * strength)`` from an image (diffusers' rule, which both engines
        follow). 0 means no denoising at all: the result is the input, resized."""
        if self.init_image is None:
            return self.num_inference_steps
        return min(int(self.num_inference_steps * self.strength), self.num_inference_steps)

    def with_seed(self, seed: int) -> GenerationRequest:
        return replace(self, seed=seed)

    def image_seeds(self, seed: int) -> list[int]:
        """The seed of each image in the batch; wraps around past the largest seed."""
        return [(seed + index) % (SEED_MAX + 1) for index in range(self.num_images)]

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        for name in ("init_image", "mask_image"):
            image = getattr(self, name)
            values[name] = None if image is None else image.to_dict()
        return values


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
    errors.extend(image_pair_errors(values.get("init_image"), values.get("mask_image")))
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


def _check_input_image(value: object) -> str | None:
    if value is None or isinstance(value, InputImage):
        return None
    return "Must be a stored input image or null."


def _check_strength(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "Must be a number."
    if not math.isfinite(value) or not STRENGTH_MIN <= value <= STRENGTH_MAX:
        return f"Must be between {STRENGTH_MIN:g} and {STRENGTH_MAX:g}."
    return None


def _check_bool(value: object) -> str | None:
    return None if isinstance(value, bool) else "Must be true or false."


def _check_resize_mode(value: object) -> str | None:
    if value in RESIZE_MODES:
        return None
    return f"Must be one of {', '.join(RESIZE_MODES)}."


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
    "init_image": _check_input_image,
    "strength": _check_strength,
    "mask_image": _check_input_image,
    "mask_blur": _int_in_range(MASK_BLUR_MIN, MASK_BLUR_MAX),
    "invert_mask": _check_bool,
    "resize_mode": _check_resize_mode,
}
