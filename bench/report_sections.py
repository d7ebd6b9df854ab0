"""The service's sections of BENCHMARKS.md, and the weight-precision comparison."""

from __future__ import annotations

import statistics
from typing import Any

GIB = 2**30


def service_section(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    served = {n: c for n, c in results["configs"].items() if c.get("kind") == "service"}
    if served:
        lines += [
            "## Where a service image's time goes",
            "",
            "| configuration | engine | device | s/image over HTTP | generating (service's own) "
            "| the rest: queue, PNG, HTTP |",
            "| --- | --- | --- | ---: | ---: | ---: |",
        ]
        for name, c in served.items():
            lines.append(
                f"| `{name}` | {c['engine']} | {c.get('device', '-')} "
                f"| {num(c['seconds_per_image'])} | {num(c.get('generation_seconds'))} "
                f"| {num(c.get('http_overhead_seconds'))} |"
            )
        lines.append("")
        lines += _memory(served)
    restart = results.get("restart_to_ready_seconds")
    if restart:
        lines += [
            "## Restart to ready (`service_http`)",
            "",
            f"Process start to `/health/ready` 200: {restart['cold']:.1f} s with an empty compile "
            f"cache, {restart['cached']:.1f} s with the cache the first start filled.",
            "",
        ]
    probe = results["configs"].get("service_http", {}).get("health_during_generation")
    if probe:
        lines += [
            "## `/health` during a generation (`service_http`)",
            "",
            f"Polled every 50 ms during one more image: {probe['polls']} answers, p50 "
            f"{num(probe['p50_ms'])} ms, p99 {num(probe['p99_ms'])} ms, max "
            f"{num(probe['max_ms'])} ms, {probe['failures']} failures; that image took "
            f"{num(probe['image_seconds_while_polled'])} s.",
            "",
        ]
    preview = results.get("preview_ms")
    if preview is not None:
        params = results["params"]
        lines += [
            "## A live preview's cost",
            "",
            f"One `preview` event's work (copy the latents, project them to RGB, JPEG of at most "
            f"256 px, data URL) for {params['width']}x{params['height']}: {num(preview, 2)} ms, "
            "the median of 50 in the harness process (`bench/preview_cost.py`).",
            "",
        ]
    lines += _swaps(results["configs"].get("service_http", {}).get("pipeline_compiles", []))
    scaling = results.get("scaling")
    if scaling:
        lines += ["## How the service's cost grows", "", "| size | steps | s/image |"]
        lines.append("| --- | ---: | ---: |")
        for row in scaling:
            size = f"{row['width']}x{row['height']}"
            lines.append(f"| {size} | {row['steps']} | {num(row['seconds_per_image'])} |")
        lines.append("")
    return lines


def _memory(served: dict[str, dict[str, Any]]) -> list[str]:
    rows = {
        n: c["memory_after_measuring"] for n, c in served.items() if c.get("memory_after_measuring")
    }
    if not rows:
        return []
    lines = [
        "## Where a service's memory goes",
        "",
        "After the measured runs: RssAnon is the process's own allocations (the engine's",
        "working buffers), RssFile the mapped files (the compiled blobs in `OV_CACHE_DIR`",
        "and the model's IR: shared page cache the kernel can drop and read again).",
        "",
        "| configuration | peak RSS (VmHWM) | RSS now | RssAnon | RssFile |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, m in rows.items():
        lines.append(
            f"| `{name}` | {gib(m.get('VmHWM'))} | {gib(m.get('VmRSS'))} "
            f"| {gib(m.get('RssAnon'))} | {gib(m.get('RssFile'))} |"
        )
    return [*lines, ""]


def _swaps(compiles: list[dict[str, Any]]) -> list[str]:
    if len(compiles) < 2:
        return []
    lines = [
        "## Static and dynamic pipelines (`service_http`)",
        "",
        "Every pipeline compile the server logged during the run, in order: the start-up one",
        "(static, for the default request), then each swap a request of another shape made.",
        "",
        "| # | compiled for | ms |",
        "| ---: | --- | ---: |",
    ]
    for index, c in enumerate(compiles):
        shape = c["shape"] if c["guided"] is None else f"{c['shape']}, guided {c['guided']}"
        lines.append(f"| {index} | {shape} | {num(c['duration_ms'], 0)} |")
    return [*lines, ""]


def precision_section(configs: dict[str, dict[str, Any]]) -> list[str]:
    int8, fp16 = configs.get("genai_int8_static"), configs.get("genai_fp16_static")
    if not int8 or not fp16:
        return []
    rows = [("int8 weights (the default repo)", int8), ("fp16 weights (the opt-in)", fp16)]
    lines = [
        "## Weight precision (genai, static shapes)",
        "",
        "| weights | s/image | UNet s/call | VAE decode s | load cold s | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, c in rows:
        lines.append(
            f"| {label} | {num(c['seconds_per_image'])} | {num(c.get('unet_call_seconds'))} "
            f"| {num(c.get('vae_decode_seconds'))} | {num(c.get('load_seconds_cold'))} "
            f"| {gib(c.get('peak_rss_bytes'))} |"
        )
    speedup = int8["seconds_per_image"] / fp16["seconds_per_image"]
    lines += ["", f"fp16 over int8: {speedup:.2f}x the speed.", ""]
    return lines


def num(value: Any, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "-"


def gib(value: Any) -> str:
    return f"{value / GIB:.2f} GiB" if isinstance(value, (int, float)) else "-"


def interleaved_section(turns: dict[str, Any] | None, what: str) -> list[str]:
    """The members loaded side by side and taking turns: ratios the host's drift skews least."""
    if not turns or not turns.get("rounds"):
        return []
    members: list[str] = turns["members"]
    shape = turns.get("params") or {}
    request = f" ({shape['width']}x{shape['height']}, {shape['steps']} steps)" if shape else ""
    lines = [
        f"## In turns, {what}{request}",
        "",
        f"{', '.join(f'`{m}`' for m in members)} loaded side by side, one image each per round, "
        "the order rotating; ratios are taken within a round (the median over rounds is in "
        "the targets above).",
        "",
        f"| round | {' | '.join(f'`{m}` s (UNet s/call)' for m in members)} "
        "| service / raw | stock / service |",
        f"| --- | {' | '.join('---:' for _ in members)} | ---: | ---: |",
    ]
    over_raw = turns.get("service_over_raw") or []
    over_service = turns.get("stock_over_service") or []
    for index, row in enumerate(turns["rounds"]):
        cells = [
            f"{num(row[m]['seconds'])} ({num(row[m].get('unet_call_seconds'))})" for m in members
        ]
        ratio_raw = num(over_raw[index], 3) if index < len(over_raw) else "-"
        ratio_stock = num(over_service[index], 2) if index < len(over_service) else "-"
        lines.append(f"| {index + 1} | {' | '.join(cells)} | {ratio_raw} | {ratio_stock} |")
    lines.append("")
    for label, ratios in (("service / raw", over_raw), ("stock / service", over_service)):
        if len(ratios) >= 4:
            low, mid, high = statistics.quantiles(ratios, n=4)
            lines.append(
                f"- {label} over {len(ratios)} rounds: median {mid:.3f}, middle half "
                f"{low:.3f}-{high:.3f}."
            )
    return [*lines, ""]


def request_overhead_section(overhead: dict[str, Any] | None) -> list[str]:
    """Latency of requests that do no work, per variant (keys, session, baseline) and route."""
    if not overhead or not overhead.get("variants"):
        return []
    plan, reference = overhead["plan"], overhead["reference"]
    served = overhead.get("served_from", {})
    source = f" (`{served[reference]}`)" if reference == "baseline" and reference in served else ""
    lines = [
        "## Request overhead",
        "",
        f"The service in demo mode (no model), one keep-alive connection per variant: "
        f"{plan['requests']} sequential requests per route and variant after {plan['warmup']} "
        f"warm-up, in rounds of {plan['per_round']}, the variants' order rotating each round. "
        f"The reference is `{reference}`{source}; p50 / reference is taken within each round "
        "(median, middle half in brackets). The p99 of the even and of the odd rounds shows how "
        "much a p99 moves by itself.",
        "",
        "| variant | route | p50 ms | p99 ms | max ms | p99 even / odd rounds ms "
        "| p99 / reference | p50 / reference |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ref_routes = overhead["variants"].get(reference, {})
    for name, routes in overhead["variants"].items():
        for route, f in routes.items():
            halves = " / ".join(num(v) for v in f.get("p99_even_odd_rounds_ms") or [])
            ref_p99 = ref_routes.get(route, {}).get("p99_ms")
            p99_ratio = f["p99_ms"] / ref_p99 if name != reference and ref_p99 else None
            lines.append(
                f"| `{name}` | `{route}` | {num(f['p50_ms'], 3)} | {num(f['p99_ms'], 3)} "
                f"| {num(f['max_ms'])} | {halves or '-'} | {num(p99_ratio, 3)} "
                f"| {_per_round(overhead.get('against_reference', {}).get(name, {}).get(route))} |"
            )
    lines.append("")
    lines += [f"- `{name}` not measured: {why}" for name, why in overhead["skipped"].items()]
    return [*lines, ""] if overhead["skipped"] else lines


def _per_round(ratio: dict[str, Any] | None) -> str:
    if not ratio:
        return "-"
    middle = ratio.get("p50_ratio_middle_half")
    spread = f" ({num(middle[0], 3)}-{num(middle[1], 3)})" if middle else ""
    return f"{num(ratio['p50_ratio_median'], 3)}{spread}"


def other_host(section: dict[str, Any], header: dict[str, Any] | None) -> str | None:
    """How a section measured on another machine than the header's names that machine
    (a section that records its own ``machine``), or None when it is the same one."""
    here = section.get("machine") or {}
    if not here or here.get("cpu_model") == (header or {}).get("cpu_model"):
        return None
    flags = ", ".join(here.get("cpu_flags_of_note") or []) or "none of note"
    return (
        f"Measured on another host than the rows above: {here.get('cpu_model')}, "
        f"{here.get('usable_cpus')} usable cores, CPU flags {flags}"
    )
