"""Small statistics shared by the worker, the service runs and the report."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: an observed value, never an interpolation between two."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def peak_rss_of(pid: int) -> int | None:
    """The high-water mark of a live process's resident memory (Linux VmHWM), in bytes."""
    return memory_of(pid).get("VmHWM")


def memory_of(pid: int) -> dict[str, int]:
    """A live process's memory now, in bytes: VmHWM, VmRSS and its split into RssAnon
    (its own allocations) and RssFile (mapped files: model and compiled-blob pages the
    kernel can drop and read again)."""
    keys = ("VmHWM", "VmRSS", "RssAnon", "RssFile")
    found: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                key = line.split(":", 1)[0]
                if key in keys:
                    found[key] = int(line.split()[1]) * 1024
    except OSError:
        return {}
    return found
