"""BENCHMARKS.md's section for the three modes on one engine (bench/edit_modes.py)."""

from __future__ import annotations

from typing import Any

from bench.report_sections import gib, num, other_host

# The issue: serving all three modes stays within 10 % of serving text-to-image alone.
ALL_MODES_RSS_BOUND = 1.10

_MODE_NAMES = {
    "text_to_image": "text-to-image",
    "image_to_image": "image-to-image",
    "inpainting": "inpainting",
}


def edit_modes_targets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The memory target of each engine measured, for the Targets table."""
    out: dict[str, dict[str, Any]] = {}
    for name, run in (results.get("edit_modes") or {}).items():
        value = run.get("all_modes_over_text_alone")
        if value is not None:
            out[f"{name}_peak_rss_all_modes_over_text_alone"] = {
                "value": value,
                "target": f"<= {ALL_MODES_RSS_BOUND:g}",
                "met": value <= ALL_MODES_RSS_BOUND,
                "against": f"{run['engine']}, text-to-image alone in the same process",
            }
    return out


def edit_modes_section(
    runs: dict[str, Any] | None,
    configs: dict[str, dict[str, Any]] | None = None,
    header_machine: dict[str, Any] | None = None,
) -> list[str]:
    if not runs:
        return []
    lines = ["## Editing images: three modes on one loaded engine", ""]
    for name, run in runs.items():
        lines += _one_engine(name, run, _host_note(run, configs or {}, header_machine))
    # The engine that serves every mode holds more than a text-only pipeline from the start
    # (its root pipeline has the VAE encoder too): against the text-only pipeline as well.
    text_only = (configs or {}).get("genai_int8_static", {}).get("peak_rss_bytes")
    genai = runs.get("edit_modes")
    if text_only and genai:
        lines += [
            f"Against a text-only pipeline: `genai_int8_static` (raw `Text2ImagePipeline`, "
            f"static, its own process, in the run that measured it: the two may be days "
            f"and hosts apart) peaked at {gib(text_only)}; `edit_modes` serving "
            f"text-to-image alone at {gib(genai['text_alone_peak_rss_bytes'])} "
            f"({num(genai['text_alone_peak_rss_bytes'] / text_only, 3)} of it), all three "
            f"modes at {gib(genai['all_modes_peak_rss_bytes'])} "
            f"({num(genai['all_modes_peak_rss_bytes'] / text_only, 3)} of it).",
            "",
        ]
    return lines


def _host_note(
    run: dict[str, Any], configs: dict[str, dict[str, Any]], header: dict[str, Any] | None
) -> str:
    note = other_host(run, header)
    if note is None:
        return ""
    theirs = run["modes"][0].get("unet_call_seconds")
    ours = configs.get("service_http", {}).get("unet_call_seconds")
    if theirs and ours:
        note += (
            f", where a UNet call took {num(theirs, 1)} s (`service_http` above: {num(ours, 1)} s)"
        )
    return f" {note} (bench/results.json keeps that machine under `edit_modes`)."


def _one_engine(name: str, run: dict[str, Any], host_note: str = "") -> list[str]:
    edits = run["modes"][1:]
    described = ", ".join(f"{_MODE_NAMES[m['mode']]} at strength {m['strength']:g}" for m in edits)
    lines = [
        f"`{name}`: the service's {run['engine']} engine (static shapes), loaded once in one "
        f"process on {run.get('device', '-')}, serving text-to-image, then {described}, on a "
        f"synthetic {run['width']}x{run['height']} input (inpainting: a centred ellipse, half "
        f"of each side, blurred 4 px), {run['steps']} steps, guidance "
        f"{run['guidance_scale']:g}. Each mode: one warm-up (its pipeline's compile), then the "
        f"median of {run['runs']} run(s). Peak RSS is the process's, read after each mode."
        f"{host_note}",
        "",
        "| mode | strength | steps run | s/image | of text-to-image | UNet s/call x calls "
        "| text encoder s | VAE encode s | VAE decode s | first call s | peak RSS so far |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for mode in run["modes"]:
        calls = mode.get("unet_calls_per_image")
        unet = f"{num(mode.get('unet_call_seconds'))} x {calls}" if calls else "-"
        strength = "-" if mode["strength"] is None else f"{mode['strength']:g}"
        share = mode.get("seconds_over_text_to_image")
        lines.append(
            f"| {_MODE_NAMES[mode['mode']]} | {strength} | {mode['denoising_steps']} "
            f"| {num(mode['seconds_per_image'])} | {'-' if share is None else num(share, 3)} "
            f"| {unet} | {num(mode.get('text_encoder_seconds'))} "
            f"| {num(mode.get('vae_encode_seconds'))} | {num(mode.get('vae_decode_seconds'))} "
            f"| {num(mode.get('warmup_seconds'))} | {gib(mode.get('peak_rss_bytes'))} |"
        )
    ratio = run["all_modes_over_text_alone"]
    verdict = "within" if ratio <= ALL_MODES_RSS_BOUND else "**not within**"
    lines += [
        "",
        f"Memory: peak RSS serving text-to-image alone {gib(run['text_alone_peak_rss_bytes'])}, "
        f"serving all three modes {gib(run['all_modes_peak_rss_bytes'])}: "
        f"{num(ratio, 3)} of it, {verdict} the 10 % the issue allows. (Serving text alone is "
        "this process's peak before the first edit: nothing else had run.) Load "
        f"{num(run.get('load_seconds'))} s; RSS after load "
        f"{gib(run.get('rss_after_load_bytes'))}.",
        "",
    ]
    return lines
