"""The files an SD-1.5-family OpenVINO export must hold for the engines to load it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from adapters.atomic_file import write_bytes_atomically

COMPONENTS = ("text_encoder", "unet", "vae_decoder")

# Each component's config.json too: openvino-genai opens it when it loads the component
# ("Failed to open .../unet/config.json" without it).
REQUIRED_FILES: tuple[str, ...] = (
    "model_index.json",
    "scheduler/scheduler_config.json",
    *(
        f"{component}/{name}"
        for component in COMPONENTS
        for name in ("config.json", "openvino_model.xml", "openvino_model.bin")
    ),
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


# What the last download fetched, kept beside the model so that a later check can compare
# sizes with the hub's listing without asking the hub again.
MANIFEST_NAME = ".download-manifest.json"


@dataclass(frozen=True)
class DownloadManifest:
    repo_id: str
    revision: str
    commit: str
    ignore_patterns: tuple[str, ...]
    files: dict[str, int | None]  # path -> size in the hub's listing (None when not listed)
    complete: bool  # False while a download is running or after it failed


def read_manifest(directory: Path) -> DownloadManifest | None:
    """The manifest in ``directory``, or None if absent or unreadable (then sizes are unknown)."""
    try:
        data = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
        files = data["files"]
        return DownloadManifest(
            repo_id=str(data["repo_id"]),
            revision=str(data["revision"]),
            commit=str(data["commit"]),
            ignore_patterns=tuple(str(p) for p in data["ignore_patterns"]),
            files={str(k): (int(v) if v is not None else None) for k, v in files.items()},
            complete=bool(data["complete"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def write_manifest(directory: Path, manifest: DownloadManifest) -> None:
    """Replace the manifest atomically, so a crash never leaves half a manifest."""
    payload = asdict(manifest)
    payload["ignore_patterns"] = list(manifest.ignore_patterns)
    content = json.dumps(payload, indent=1, sort_keys=True).encode("utf-8")
    write_bytes_atomically(directory / MANIFEST_NAME, content)


def damaged_files(directory: Path, expected: Mapping[str, int | None]) -> list[str]:
    """Files of ``expected`` that are absent or, where a size is known, not that size."""
    damaged = []
    for relative, size in expected.items():
        path = directory / relative
        if not path.is_file() or (size is not None and path.stat().st_size != size):
            damaged.append(relative)
    return damaged
