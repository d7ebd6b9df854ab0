"""An AUTOMATIC1111 txt2img or img2img body, translated into our request's fields.

Choices where A1111 and this service differ (the README's "Use it from other tools"):

- `batch_size` x `n_iter` images in all, up to 32 (`CALL_MAX_IMAGES`), made as consecutive
  jobs of up to 4 images (our per-job maximum) with consecutive seeds, as A1111 numbers
  them; each job is queued when the one before has finished, so one call never holds more
  than one place in the queue. More than 32 is refused with 422 naming both fields.
- An empty (or whitespace-only) prompt is refused with 422 on `prompt`: A1111 draws from
  nothing, our engines need something to draw. So is a prompt that was only
  extra-network tags (`prompt_syntax`).
- A prompt is cut to our 1000 characters once its tags are removed (`long_prompts`); only
  its first 16,000 characters are searched for tags, and the first 10 tags are named in
  the warnings, the rest counted.
- `width` and `height` outside 64..1024, or not multiples of 8, are scaled (keeping the
  aspect) to fit and rounded to multiples of 8; the warnings say so. Only sides that are
  no size at all (below 1, above 2**20) are refused. img2img's output
  size is `width` x `height`, as in A1111, and the input is fitted to it by `resize_mode`.
- `steps` and `cfg_scale` left out take the served model's defaults (a few-step model's 4
  steps, not A1111's 50); a sampler left out is the model's own scheduler
  (`sampler_names`).
- `seed` -1 (or null) is random; any other negative seed is refused.

Fields we cannot honour are accepted and named in the warnings (`ignored_fields`); other
unknown fields are ignored silently.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from domain.errors import DomainError, FieldError, InvalidRequest
from domain.input_image import A1111_RESIZE_MODES
from domain.output_size import SIZE_MAX, SIZE_MIN, SIZE_MULTIPLE, output_size
from entrypoints.automatic1111.ignored_fields import ignored_field_warnings
from entrypoints.automatic1111.prompt_syntax import without_extra_networks, without_split_tag
from entrypoints.automatic1111.request_models import Img2ImgBody, Txt2ImgBody
from entrypoints.automatic1111.sampler_names import choose_scheduler
from entrypoints.echoed_values import clipped
from entrypoints.field_renames import renamed
from entrypoints.generation_submission import CALL_MAX_IMAGES
from entrypoints.long_prompts import READ_CHARS, prompt_start, within_prompt_limit

# Our field -> A1111's, for the errors our checks raise on translated fields.
_A1111_NAMES = {
    "guidance_scale": "cfg_scale",
    "num_inference_steps": "steps",
    "strength": "denoising_strength",
    "init_image": "init_images",
    "mask_image": "mask",
    "invert_mask": "inpainting_mask_invert",
    "num_images": "batch_size",
    "scheduler": "sampler_name",
}
_TAGS_NAMED = 10  # in the warnings; the rest are counted
_LATENT_UPSCALE = 3  # A1111's "just resize (latent upscale)"
# Beyond any real canvas; also keeps the scaling within float arithmetic.
SIDE_LIMIT = 2**20


@dataclass(frozen=True)
class EngineChoices:
    schedulers: Collection[str]
    """What the loaded engine offers."""
    is_served: Callable[[str], bool]
    """Whether an `sd_model_checkpoint` names the served model."""


@dataclass
class Translation:
    fields: dict[str, Any]
    """Our request's fields (`GenerationBody`'s), for every job of the call."""
    total_images: int
    warnings: list[str] = field(default_factory=list)


def translate(body: Txt2ImgBody, model: EngineChoices) -> Translation:
    choice = choose_scheduler(
        body.sampler_name, body.sampler_index, body.scheduler, model.schedulers
    )
    warnings = ignored_field_warnings(body, model.is_served, choice.scheduler)
    prompt, tags, prompt_cut = _read_prompt(body.prompt)
    if not prompt.strip():
        reason = " once its extra-network tags are removed" if tags else ""
        if prompt_cut:
            reason += f" from its first {READ_CHARS} characters, all this service reads"
        raise _refusal("prompt", f"Must not be empty{reason}: this service needs a prompt.")
    negative, negative_tags, negative_cut = _read_prompt(body.negative_prompt)
    warnings += _tag_warnings([*tags, *negative_tags])
    prompt = _cut("prompt", prompt, prompt_cut, warnings)
    negative = _cut("negative_prompt", negative, negative_cut, warnings)
    fields: dict[str, Any] = {"prompt": prompt}
    if negative.strip():
        fields["negative_prompt"] = negative
    if body.seed is not None and body.seed != -1:
        if body.seed < -1:
            raise _refusal("seed", "Must be -1 (random) or a seed from 0 up.")
        fields["seed"] = body.seed
    if body.steps is not None:
        fields["num_inference_steps"] = body.steps
    if body.cfg_scale is not None:
        fields["guidance_scale"] = body.cfg_scale
    warnings += choice.warnings
    if choice.scheduler is not None:
        fields["scheduler"] = choice.scheduler
    width, height = _fitted_size(body.width, body.height, warnings)
    fields.update(width=width, height=height)
    if isinstance(body, Img2ImgBody):
        fields.update(_edit_fields(body, warnings))
    return Translation(fields, _total_images(body), warnings)


def _read_prompt(text: str | None) -> tuple[str, list[str], bool]:
    """The prompt's start without its extra-network tags, the tags, and whether text
    past the start was left unread (`long_prompts.READ_CHARS`)."""
    start, more = prompt_start(text or "")
    if more:
        start = without_split_tag(start)
    prompt, tags = without_extra_networks(start)
    return prompt, tags, more


def _tag_warnings(tags: list[str]) -> list[str]:
    # A prompt's start may hold thousands of tags: the first few tell what was dropped.
    warnings = [f"ignored: {clipped(tag)}" for tag in tags[:_TAGS_NAMED]]
    if len(tags) > _TAGS_NAMED:
        warnings.append(f"ignored: {len(tags) - _TAGS_NAMED} more extra-network tags")
    return warnings


def _cut(name: str, text: str, unread: bool, warnings: list[str]) -> str:
    kept, cut = within_prompt_limit(text)
    if cut or unread:
        warnings.append(
            f"{name} cut to its first {len(kept)} characters: the text encoder reads "
            "its first 77 tokens only"
        )
    return kept


def _total_images(body: Txt2ImgBody) -> int:
    batch_size = 1 if body.batch_size is None else body.batch_size
    n_iter = 1 if body.n_iter is None else body.n_iter
    for name, value in (("batch_size", batch_size), ("n_iter", n_iter)):
        if value < 1:
            raise _refusal(name, "Must be at least 1.")
    total = batch_size * n_iter
    if total > CALL_MAX_IMAGES:
        message = (
            f"batch_size x n_iter must be at most {CALL_MAX_IMAGES} images in all "
            f"(got {batch_size} x {n_iter} = {total})."
        )
        raise InvalidRequest([FieldError("batch_size", message), FieldError("n_iter", message)])
    return total


def _fitted_size(width: int | None, height: int | None, warnings: list[str]) -> tuple[int, int]:
    """A1111's size, scaled to our bounds keeping its aspect if it is not within them."""
    width = 512 if width is None else width
    height = 512 if height is None else height
    for name, value in (("width", width), ("height", height)):
        if not 1 <= value <= SIDE_LIMIT:
            raise _refusal(name, f"Must be between 1 and {SIDE_LIMIT} pixels (then scaled to fit).")
    within = all(
        SIZE_MIN <= side <= SIZE_MAX and side % SIZE_MULTIPLE == 0 for side in (width, height)
    )
    if within:
        return width, height
    fitted = output_size(width, height)
    warnings.append(
        f"size {width}x{height} changed to {fitted[0]}x{fitted[1]}: sides must be "
        f"{SIZE_MIN} to {SIZE_MAX} and multiples of {SIZE_MULTIPLE}"
    )
    return fitted


def _edit_fields(body: Img2ImgBody, warnings: list[str]) -> dict[str, Any]:
    if not body.init_images or not body.init_images[0]:
        raise _refusal("init_images", "Must hold an image (base64 or a data: URL).")
    fields: dict[str, Any] = {"init_image": body.init_images[0]}
    if body.mask:
        fields["mask_image"] = body.mask
    fields["strength"] = 0.75 if body.denoising_strength is None else body.denoising_strength
    if body.mask_blur is not None:
        fields["mask_blur"] = body.mask_blur
    invert = 0 if body.inpainting_mask_invert is None else body.inpainting_mask_invert
    if invert not in (0, 1):
        raise _refusal("inpainting_mask_invert", "Must be 0 (repaint the masked area) or 1.")
    fields["invert_mask"] = invert == 1
    resize_mode = 0 if body.resize_mode is None else body.resize_mode
    if resize_mode == _LATENT_UPSCALE:
        warnings.append("resize_mode 3 (latent upscale) ran as 0 (just resize)")
        resize_mode = 0
    if resize_mode not in A1111_RESIZE_MODES:
        raise _refusal("resize_mode", "Must be 0, 1, 2 or 3.")
    fields["resize_mode"] = A1111_RESIZE_MODES[resize_mode]
    return fields


def in_a1111_terms(error: DomainError) -> DomainError:
    """``error`` with our field names as A1111's, for a refusal of translated fields."""
    return renamed(error, _A1111_NAMES)


def _refusal(name: str, message: str) -> InvalidRequest:
    return InvalidRequest([FieldError(name, message)])
