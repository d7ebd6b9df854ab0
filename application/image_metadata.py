"""Provenance stored inside each PNG: AUTOMATIC1111's text for existing tools, and JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from application.ports import ModelStatus
from domain.generation_request import GenerationRequest

PARAMETERS_KEY = "parameters"
PROVENANCE_KEY = "provenance"


def sampler_name(request: GenerationRequest, engine: Mapping[str, str]) -> str:
    return request.scheduler or engine.get("scheduler", "default")


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
    lines.append(", ".join(settings))
    return "\n".join(lines)


def image_text_chunks(
    request: GenerationRequest,
    seed: int,
    model: ModelStatus,
    engine: Mapping[str, str],
    device: str,
    timings: Mapping[str, float],
) -> dict[str, str]:
    sampler = sampler_name(request, engine)
    provenance: dict[str, Any] = {
        "request": request.to_dict(),
        "seed": seed,
        "scheduler": sampler,
        "model": {"repo_id": model.repo_id, "revision": model.revision},
        "engine": dict(engine),
        "device": device,
        "timings_ms": dict(timings),
    }
    return {
        PARAMETERS_KEY: parameters_text(request, seed, sampler, model.repo_id),
        PROVENANCE_KEY: json.dumps(provenance, sort_keys=True),
    }
