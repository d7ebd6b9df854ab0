"""Each engine's mapping of the request's scheduler names, and what made an image.

The names are the domain's (``domain.generation_request.SCHEDULERS``); this module is the
one place that maps them onto each library's schedulers. It imports neither library:
the default install has no diffusers, and the engines resolve the names themselves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from adapters.model_layout import pipeline_class
from domain.generation_request import SCHEDULERS

DIFFUSERS_CLASSES: Mapping[str, str] = {
    "pndm": "PNDMScheduler",
    "euler": "EulerDiscreteScheduler",
    "euler_a": "EulerAncestralDiscreteScheduler",
    "ddim": "DDIMScheduler",
    "lcm": "LCMScheduler",
}
"""Request names -> the diffusers class a scheduler config names; optimum runs these."""

GENAI_TYPES: Mapping[str, str] = {
    "pndm": "PNDM",
    "euler": "EULER_DISCRETE",
    "euler_a": "EULER_ANCESTRAL_DISCRETE",
    "ddim": "DDIM",
    "lcm": "LCM",
}
"""Request names -> members of openvino-genai's ``Scheduler.Type`` (it also has LMS)."""


def offered(mapping: Mapping[str, str]) -> tuple[str, ...]:
    """The request names an engine maps, in the domain's order."""
    return tuple(name for name in SCHEDULERS if name in mapping)


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
