"""results.json and BENCHMARKS.md from one run's measurements."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench.cluster_report import cluster_section
from bench.configs import RAW_OPENVINO, REAL_REPO_BIN_BYTES
from bench.edit_modes_report import edit_modes_section, edit_modes_targets
from bench.report_sections import (
    GIB,
    gib,
    interleaved_section,
    num,
    precision_section,
    request_overhead_section,
    service_section,
)
from bench.safety_cost_report import safety_section, safety_targets
from bench.stats import median

NOTES = Path(__file__).with_name("notes.md")


def ratios(configs: dict[str, dict[str, Any]], results: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, each with its measured value, when both sides were measured."""

    def seconds(name: str) -> float | None:
        value = configs.get(name, {}).get("seconds_per_image")
        return float(value) if isinstance(value, (int, float)) else None

    out: dict[str, Any] = {}
    service, stock, lcm = seconds("service_http"), seconds("stock_diffusers_fp32"), None
    lcm = seconds("lcm_service_http")
    raw = {name: s for name in RAW_OPENVINO if (s := seconds(name)) is not None}
    if service and raw:
        fastest = min(raw, key=raw.__getitem__)
        value = service / raw[fastest]
        out["service_http_over_fastest_raw_openvino"] = _target(value, "<=", 1.03, fastest)
    if service and stock:
        out["stock_over_service_http"] = _target(stock / service, ">=", 3.5)
    turns = results.get("interleaved") or {}
    if turns.get("service_over_raw"):
        value = median(turns["service_over_raw"])
        against = "genai_int8_static, in turns"
        out["service_http_over_raw_openvino_in_turns"] = _target(value, "<=", 1.03, against)
    if turns.get("stock_over_service"):
        value = median(turns["stock_over_service"])
        out["stock_over_service_http_in_turns"] = _target(value, ">=", 3.5)
    short = results.get("service_overhead") or {}
    if short.get("service_over_raw"):
        value = median(short["service_over_raw"])
        against = f"genai_int8_static, {len(short['rounds'])} short rounds in turns"
        out["service_http_over_raw_openvino_short_turns"] = _target(value, "<=", 1.03, against)
    if lcm and stock:
        out["stock_over_lcm_service_http"] = _target(stock / lcm, ">=", 15.0)
    p99 = results.get("health_p99_ms_during_generation")
    if p99 is not None:
        out["health_p99_ms_during_generation"] = _target(p99, "<", 50.0)
    restart = results.get("restart_to_ready_seconds")
    if restart:
        out["restart_cached_over_cold"] = _target(restart["cached"] / restart["cold"], "<=", 0.4)
    preview, unet = (
        results.get("preview_ms"),
        configs.get("service_http", {}).get("unet_call_seconds"),
    )
    if preview is not None and unet:
        out["preview_over_unet_step"] = _target(preview / (unet * 1000), "<", 0.05)
    rss = configs.get("service_http", {}).get("peak_rss_bytes")
    if rss:
        out["service_http_peak_rss_gib"] = _target(rss / GIB, "<=", 3.0)
    out.update(edit_modes_targets(results))
    out.update(safety_targets(results))
    return out


def _target(value: float, op: str, bound: float, against: str | None = None) -> dict[str, Any]:
    met = {"<=": value <= bound, ">=": value >= bound, "<": value < bound}[op]
    row: dict[str, Any] = {"value": value, "target": f"{op} {bound:g}", "met": met}
    if against:
        row["against"] = against
    return row


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # NaN is not JSON: a figure that could not be measured is null.
    path.write_text(json.dumps(_no_nan(results), indent=2) + "\n", encoding="utf-8")


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _no_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_no_nan(item) for item in value]
    return value


def write_markdown(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(_no_nan(results)), encoding="utf-8")


def markdown(results: dict[str, Any]) -> str:
    params, machine = results["params"], results["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Made on {results['generated_at']} by:",
        "",
        f"    {results['command']}",
        "",
        f'Every configuration ran back to back on one request: "{params["prompt"]}", seed '
        f"{params['seed']}, {params['width']}x{params['height']}, {params['steps']} steps, "
        f"guidance {params['guidance_scale']:g} (the LCM: {results['lcm_params']['steps']} "
        f"steps, guidance {results['lcm_params']['guidance_scale']:g}). Each: one warm-up, then "
        f"the median of {params['runs']} measured run(s).",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        f"| CPU | {machine['cpu_model']} ({', '.join(machine['cpu_flags_of_note'])}) |",
        f"| cores | {machine['usable_cpus']} usable of {machine['logical_cpus']} |",
        f"| memory | {gib(machine['memory_bytes'])} |",
        *(f"| {name} | {version} |" for name, version in machine["versions"].items() if version),
        "",
        *_drift_note(results),
        *_model_section(results["model"]),
        *_config_table(results["configs"]),
        *edit_modes_section(results.get("edit_modes"), results["configs"], machine),
        *_ratio_table(results["ratios"]),
        *interleaved_section(results.get("interleaved"), "on the run's request"),
        *interleaved_section(results.get("service_overhead"), "many short rounds"),
        *service_section(results),
        *request_overhead_section(results.get("request_overhead")),
        *safety_section(results),
        *cluster_section(results),
        *precision_section(results["configs"]),
        *_notes(),
        *_problems(results),
        *_how_measured(),
    ]
    return "\n".join(lines) + "\n"


def _drift_note(results: dict[str, Any]) -> list[str]:
    speeds = [c["machine_before"]["matmul_gflops"] for c in results["configs"].values()]
    if not speeds:
        return []
    drift = results.get("machine_speed_drift") or 0.0
    lines = [
        f"The machine's speed before each configuration (a 1 s float32 matmul): "
        f"{min(speeds):.0f}-{max(speeds):.0f} GFLOP/s, a spread of {drift * 100:.0f} %.",
        "",
    ]
    if drift > 0.15:
        lines[-1:] = [
            "**The machine's speed changed during the run (something else ran on the host):**",
            "**ratios between configurations are suspect; run again on a quiet machine.**",
            "",
        ]
    return lines


def _model_section(model: dict[str, Any]) -> list[str]:
    lines = ["## Model", "", model["description"], ""]
    build = model.get("build")
    if build:
        lines += [
            f"Built offline in {build['seconds'] / 60:.1f} min (pipeline "
            f"{gib(build['pipeline']['peak_rss_bytes'])} peak RSS, export "
            f"{gib(build['export']['peak_rss_bytes'])}).",
            "",
        ]
        lcm = model.get("lcm_build")
        if lcm:
            lines += [
                f"The LCM: {lcm['seconds'] / 60:.1f} min (export "
                f"{gib(lcm['export']['peak_rss_bytes'])} peak RSS), the same file sizes.",
                "",
            ]
        lines += [
            "| file | bytes | the real repo's | difference |",
            "| --- | ---: | ---: | ---: |",
        ]
        for part, size in build["bin_bytes"].items():
            real = REAL_REPO_BIN_BYTES.get(part)
            diff = f"{(size / real - 1) * 100:+.2f} %" if real else ""
            real_text = f"~{real / 1e6:.1f} MB" if real else ""
            name = f"{part}/openvino_model.bin"
            lines.append(f"| {name} | {size / 1e6:.1f} MB | {real_text} | {diff} |")
        lines.append("")
    return lines


def _config_table(configs: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "## Seconds per image",
        "",
        "| configuration | s/image | UNet s/call x calls | text encoder s | VAE decode s "
        "| PNG s | load cold s | load cached s | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, c in configs.items():
        unet = (
            f"{num(c.get('unet_call_seconds'))} x {c['unet_calls_per_image']}"
            if c.get("unet_calls_per_image")
            else "-"
        )
        lines.append(
            f"| `{name}` | {num(c['seconds_per_image'])} | {unet} "
            f"| {num(c.get('text_encoder_seconds'))} | {num(c.get('vae_decode_seconds'))} "
            f"| {num(c.get('png_seconds'), 3)} | {num(c.get('load_seconds_cold'))} "
            f"| {num(c.get('load_seconds_cached'))} | {gib(c.get('peak_rss_bytes'))} |"
        )
    return [*lines, ""]


def _ratio_table(ratios: dict[str, Any]) -> list[str]:
    if not ratios:
        return []
    lines = ["## Targets", "", "| measure | value | target | met |", "| --- | ---: | --- | --- |"]
    for name, row in ratios.items():
        against = f" (vs `{row['against']}`)" if "against" in row else ""
        met = "yes" if row["met"] else "**no**"
        digits = 5 if abs(row["value"]) < 0.01 else 3  # a preview's share of a step is tiny
        lines.append(f"| {name}{against} | {num(row['value'], digits)} | {row['target']} | {met} |")
    return [*lines, ""]


def _problems(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for title, key in (("Skipped", "skipped"), ("Failed", "failed")):
        if results.get(key):
            lines += [f"## {title}", ""]
            lines += [f"- `{name}`: {why.splitlines()[0]}" for name, why in results[key].items()]
            lines.append("")
    return lines


def _how_measured() -> list[str]:
    return [
        "## How it was measured",
        "",
        "- Raw configurations run in a subprocess each (`bench/worker.py`); peak RSS is that",
        "  process's `ru_maxrss`. s/image is the pipeline call alone; PNG s is PIL's default",
        "  `save()` of that image. Load (read + compile, after the imports) cold: an empty",
        "  compile cache; cached: a second process with the cache the first filled. Compile",
        "  caches are per configuration.",
        "- openvino-genai reports its own stage times; diffusers and optimum-intel are timed by",
        "  wrappers on the text encoder, UNet and VAE decode. A UNet call under CFG is batch 2;",
        "  PNDM makes N + 1 calls for N steps.",
        "- Services: `python -m entrypoints.cli serve` (uvicorn) with default settings but the",
        "  model folder, the engine and a longer `INFERENCE_TIMEOUT_SECONDS`; s/image is",
        "  `POST /image` to its answer, the PNG written by the service. Peak RSS is the server's",
        "  VmHWM before the scaling runs. PNG s is the service's own `FileImageStore.save` on one",
        "  of its images (random weights draw noise, PNG's worst case). Load is the server log's",
        "  `model_loading` to `service_ready`; stage times the service does not report are `-`.",
    ]


def _notes() -> list[str]:
    """The hand-written reading of the figures (bench/notes.md), kept across regenerations."""
    if not NOTES.is_file():
        return []
    return [NOTES.read_text(encoding="utf-8").rstrip(), ""]
