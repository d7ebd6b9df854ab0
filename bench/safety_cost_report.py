"""The safety checker's section of BENCHMARKS.md and its target (bench/safety_cost.py)."""

from __future__ import annotations

from typing import Any

from bench.configs import REAL_SAFETY_CHECKER_BYTES
from bench.report_sections import other_host

# The bound: the checker adds under 5 % to a 20-step image.
SHARE_BOUND = 0.05


def reference(results: dict[str, Any]) -> dict[str, Any] | None:
    """The image the checker is held against: the one its own run measured on its machine
    (bench/suite.py), else the service's row of the configuration table."""
    safety = results.get("safety_checker") or {}
    if safety.get("reference"):
        found: dict[str, Any] = safety["reference"]
        return found
    seconds = results.get("configs", {}).get("service_http", {}).get("seconds_per_image")
    if isinstance(seconds, (int, float)):
        return {"config": "service_http", "seconds_per_image": seconds, "when": "table"}
    return None


def safety_share(results: dict[str, Any]) -> float | None:
    """The checker's time for a 1-image job over the seconds of one whole image."""
    safety, against = results.get("safety_checker"), reference(results)
    if not safety or not against or not against["seconds_per_image"]:
        return None
    return float(safety["one_image_ms"]) / 1000 / float(against["seconds_per_image"])


def safety_targets(results: dict[str, Any]) -> dict[str, Any]:
    share = safety_share(results)
    if share is None:
        return {}
    params, config = results.get("params", {}), (reference(results) or {}).get("config")
    against = f"{config}, {params.get('steps')} steps {params.get('width')}x{params.get('height')}"
    row = {"value": share, "target": f"< {SHARE_BOUND:g}", "met": share < SHARE_BOUND}
    return {"safety_check_over_service_image": {**row, "against": against}}


def safety_section(results: dict[str, Any]) -> list[str]:
    safety = results.get("safety_checker")
    if not safety:
        return []
    build = safety.get("build") or {}
    against, share = reference(results) or {}, safety_share(results)
    lines = [
        "## The safety checker",
        "",
        "diffusers' `StableDiffusionSafetyChecker` with the real checker's shapes (CLIP ViT-L/14 "
        "vision tower, projection to 768, 17 concept and 3 special-care embeddings) and random "
        "weights, converted by the service's own `convert_safety_checker` and run by its "
        f"`load_safety_checker` on {safety['device']}, preprocessing included, on "
        f"{safety['width']}x{safety['height']} images; medians of {safety['runs']} checks each.",
        "",
    ]
    if build:
        lines += [
            f"Built and converted offline in {build['seconds']:.0f} s: "
            f"{build['parameters'] / 1e6:.1f} M parameters, "
            f"{build['source_safetensors_bytes'] / 1e9:.3f} GB of safetensors (the real "
            f"checker's: ~{REAL_SAFETY_CHECKER_BYTES / 1e9:.2f} GB), an IR of "
            f"{build['ir_bin_bytes'] / 1e9:.3f} GB (fp32 weights).",
            "",
        ]
    lines += _machine_note(results, safety)
    per_image = f"{share * 100:.2f} %" if share is not None else "-"
    seconds = against.get("seconds_per_image")
    of_image = f"`{against.get('config')}`, {seconds:.1f} s" if seconds else "not measured"
    lines += [
        "| measure | value |",
        "| --- | ---: |",
        f"| check of 1 image | {safety['one_image_ms']:.0f} ms |",
        f"| check of a batch of {safety['batch_size']} | {safety['batch_ms']:.0f} ms "
        f"({safety['batch_per_image_ms']:.0f} ms per image) |",
        f"| share of a whole image ({of_image}) | {per_image} |",
        f"| compile, cold (empty cache) | {safety['compile_seconds_cold']:.1f} s |",
        f"| load from the compile cache | {safety['load_seconds_cached']:.2f} s |",
        f"| first check after the load | {safety['first_check_seconds']:.2f} s |",
        f"| RSS added (load + first check) | {_mib(safety['rss_added_bytes'])} |",
        f"| the same, compiling cold | {_mib(safety['rss_added_bytes_cold'])} |",
        f"| peak RSS over the start (load + first check) | "
        f"{_mib(safety['peak_rss_added_bytes'])} |",
        "",
        "RSS is the checker's process's VmRSS just before `load_safety_checker` (openvino and "
        "the adapter imported, as in the service) and after the load and its first check; the "
        "timings come from a second fresh process loading from the compile cache the first "
        "filled, as a restarted service does. The share is the check of 1 image over the "
        f"seconds of one whole image of the run's request: {_when(against)}.",
        "",
    ]
    return lines


def _when(against: dict[str, Any]) -> str:
    return {
        "now": "a raw genai image measured on the same machine just before the checker",
        "earlier": "the same run's figure for it, on the same machine",
        "table": "the configuration table's figure, measured at another time",
    }.get(str(against.get("when")), "-")


def _machine_note(results: dict[str, Any], safety: dict[str, Any]) -> list[str]:
    note = other_host(safety, results.get("machine"))
    if note is None:
        return []
    return [f"**{note}**; the share below holds the checker against an image measured there.", ""]


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value / 2**20:.0f} MiB"
