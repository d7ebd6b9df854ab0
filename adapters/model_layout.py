"""The files an SD-1.5-family OpenVINO export must hold for the engines to load it."""

from __future__ import annotations

import json
from pathlib import Path

COMPONENTS = ("text_encoder", "unet", "vae_decoder")

REQUIRED_FILES: tuple[str, ...] = (
    "model_index.json",
    "scheduler/scheduler_config.json",
    *(f"{component}/openvino_model.{ext}" for component in COMPONENTS for ext in ("xml", "bin")),
    "tokenizer/openvino_tokenizer.xml",
    "tokenizer/openvino_tokenizer.bin",
)

# Large and not needed for text-to-image: a 1.2 GB PyTorch checker and notebook debris.
EXCLUDED_PATTERNS: tuple[str, ...] = ("safety_checker/*", "*.ipynb_checkpoints*")


def missing_files(directory: Path, expected_sizes: dict[str, int] | None = None) -> list[str]:
    """Required files that are absent, empty, or not the size the hub listed."""
    expected_sizes = expected_sizes or {}
    missing = []
    for relative in REQUIRED_FILES:
        path = directory / relative
        size = path.stat().st_size if path.is_file() else 0
        if size == 0 or expected_sizes.get(relative, size) != size:
            missing.append(relative)
    return missing


def pipeline_class(directory: Path) -> str | None:
    """The ``_class_name`` in ``model_index.json``, or None if unreadable."""
    try:
        data = json.loads((directory / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = data.get("_class_name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None
