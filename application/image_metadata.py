"""Provenance text stored inside each PNG, in the format existing tools read."""

from __future__ import annotations

from domain.generation_request import GenerationRequest


def parameters_text(request: GenerationRequest, seed: int, model: str = "") -> str:
    """AUTOMATIC1111's ``parameters`` chunk: prompt, negative prompt, then settings."""
    lines = [request.prompt]
    if request.negative_prompt:
        lines.append(f"Negative prompt: {request.negative_prompt}")
    settings = [
        f"Steps: {request.num_inference_steps}",
        f"CFG scale: {request.guidance_scale:g}",
        f"Seed: {seed}",
        f"Size: {request.width}x{request.height}",
    ]
    if model:
        settings.append(f"Model: {model}")
    lines.append(", ".join(settings))
    return "\n".join(lines)
