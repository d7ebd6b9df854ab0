"""Provenance stored inside each PNG: AUTOMATIC1111's text for existing tools, and JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from application.ports import ModelStatus
from domain.generation_request import GenerationRequest
from domain.input_image import EditMode

PARAMETERS_KEY = "parameters"
PROVENANCE_KEY = "provenance"

# Our scheduler names (GenerationRequest.scheduler) -> the sampler labels AUTOMATIC1111
# writes and its readers (its own "PNG info", civitai, image browsers) look up.
A1111_SAMPLERS: Mapping[str, str] = {
    "euler_a": "Euler a",
    "euler": "Euler",
    "pndm": "PNDM",
    "ddim": "DDIM",
    "lcm": "LCM",
}


def scheduler_in_effect(request: GenerationRequest, engine: Mapping[str, str]) -> str | None:
    """The scheduler asked for, else the model's own as the engine reports it, if it does."""
    return request.scheduler or engine.get("scheduler")


def a1111_sampler(scheduler: str | None) -> str:
    """AUTOMATIC1111's label for ``scheduler``, or "" when it has none.

    Empty drops the ``Sampler:`` field: a name A1111 does not know (the mock's "none", a
    diffusers class name, "unknown") would be read back as a sampler that does not exist.
    """
    return A1111_SAMPLERS.get(scheduler or "", "")


def parameters_text(
    request: GenerationRequest, seed: int, sampler: str = "", model: str = ""
) -> str:
    """AUTOMATIC1111's ``parameters`` chunk: prompt, negative prompt, then settings."""
    lines = [request.prompt]
    if request.negative_prompt:
        lines.append(f"Negative prompt: {request.negative_prompt}")
    settings = [f"Steps: {request.num_inference_steps}"]
    if sampler:
        settings.append(f"Sampler: {sampler}")
    settings += [
        f"CFG scale: {request.guidance_scale:g}",
        f"Seed: {seed}",
        f"Size: {request.width}x{request.height}",
    ]
    if model:
        settings.append(f"Model: {model}")
    # A1111 writes these after the model, in this order, for img2img and inpainting only.
    if request.mode is not EditMode.TEXT_TO_IMAGE:
        # Python's own float text, as A1111 writes it: 1.0, not 1.
        settings.append(f"Denoising strength: {float(request.strength)}")
    if request.mode is EditMode.INPAINTING:
        settings.append(f"Mask blur: {request.mask_blur}")
        if request.invert_mask:
            settings.append("Mask mode: Inpaint not masked")
    lines.append(", ".join(settings))
    return "\n".join(lines)


def image_text_chunks(
    request: GenerationRequest,
    seed: int,
    model: ModelStatus,
    engine: Mapping[str, str],
    device: str,
    timings: Mapping[str, float],
    safety: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """``safety``: the check's record (checker, version, verdict), when one judged."""
    scheduler = scheduler_in_effect(request, engine)
    provenance: dict[str, Any] = {
        "request": request.to_dict(),
        "mode": request.mode.value,
        "seed": seed,
        # Our own name (null when unknown): the JSON is for this service, not for A1111.
        "scheduler": scheduler,
        "model": {"repo_id": model.repo_id, "revision": model.revision},
        "engine": dict(engine),
        "device": device,
        "timings_ms": dict(timings),
    }
    if safety is not None:
        provenance["safety"] = dict(safety)
    if request.init_image is not None:
        # What the result can be traced to: the exact input bytes, and where they came from.
        provenance["strength"] = request.strength
        provenance["inputs"] = {
            name: {
                "sha256": image.sha256,
                "upload_id": image.upload_id,
                "origin": image.origin,
                "origin_id": image.origin_id,
            }
            for name, image in (
                ("init_image", request.init_image),
                ("mask_image", request.mask_image),
            )
            if image is not None
        }
    return {
        PARAMETERS_KEY: parameters_text(request, seed, a1111_sampler(scheduler), model.repo_id),
        PROVENANCE_KEY: json.dumps(provenance, sort_keys=True),
    }
