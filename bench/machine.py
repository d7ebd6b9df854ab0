"""What the numbers were measured on: CPU, cores, memory, the library versions, the code."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = ("openvino", "openvino-genai", "optimum-intel", "diffusers", "transformers", "torch")


def machine() -> dict[str, Any]:
    return {
        "cpu_model": _cpu_field("model name") or platform.processor() or "unknown",
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_flags_of_note": _flags_of_note(),
        "memory_bytes": _mem_total(),
        "python": platform.python_version(),
        "os": platform.platform(),
        "versions": {name: _version(name) for name in _PACKAGES},
    }


def code_state() -> dict[str, Any]:
    """The commit measured, and the service's files that differed from it then."""
    git = ["git", "-C", str(Path(__file__).resolve().parents[1])]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    layers = ("adapters", "application", "domain", "entrypoints")
    diff = [*git, "diff", "--name-only", "HEAD", "--", *layers]
    changed = subprocess.run(diff, capture_output=True, text=True).stdout.split()
    return {"commit": head.stdout.strip(), "uncommitted": changed}


def _cpu_field(name: str) -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        return None
    return None


def _flags_of_note() -> list[str]:
    # OpenVINO's speed on CPU hinges on these: bf16/AMX run the int8 IR ~4x faster.
    flags = set((_cpu_field("flags") or "").split())
    return sorted(flags & {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"})


def _mem_total() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
