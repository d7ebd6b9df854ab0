"""Scheduler names shared by both engines, and what an image's records say made it."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from adapters.model_layout import pipeline_class

# Request names (GenerationRequest.scheduler) -> the diffusers class a config names.
DIFFUSERS_CLASSES = {
    "pndm": "PNDMScheduler",
    "euler": "EulerDiscreteScheduler",
    "euler_a": "EulerAncestralDiscreteScheduler",
    "ddim": "DDIMScheduler",
    "lcm": "LCMScheduler",
}


def default_scheduler(model_dir: Path) -> str:
    """The model's own scheduler as a request name ("pndm"), else its class name."""
    try:
        config = json.loads(
            (model_dir / "scheduler" / "scheduler_config.json").read_text(encoding="utf-8")
        )
        class_name = str(config["_class_name"])
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown"
    names = {cls: name for name, cls in DIFFUSERS_CLASSES.items()}
    return names.get(class_name, class_name)


def provenance(model_dir: Path, engine: str, package: str) -> dict[str, str]:
    """Engine, versions, pipeline and default scheduler, for each image's records."""
    return {
        "engine": engine,
        "engine_version": _version(package),
        "openvino": _version("openvino"),
        "pipeline": pipeline_class(model_dir) or "unknown",
        "scheduler": default_scheduler(model_dir),
    }


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"
