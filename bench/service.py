"""The service as users run it: `python -m entrypoints.cli serve`, POST /image over HTTP.

Default settings but for the model folder and the engine; OPENVINO_DEVICE stays at its
default (GPU), so a machine without one measures the fallback to CPU that users get.
The server is started twice: once with an empty compile cache (cold) and once with the
cache the first start filled (cached); both are timed from process start to ready.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PIL import Image

from adapters.file_image_store import FileImageStore
from application.ports import RenderedImage
from bench.configs import Params
from bench.http_client import (
    HealthPoller,
    Served,
    load_seconds_from_log,
    pipeline_compiles_from_log,
    post_image,
    wait_ready,
)
from bench.stats import median, memory_of, peak_rss_of, percentile
from tests.support.live_server import live_server

# Compiling the full-size model cold takes minutes on 2 cores.
_READY_TIMEOUT = 1800.0


@dataclass(frozen=True)
class ScalePoint:
    width: int
    height: int
    steps: int


def run_service(
    config: str,
    model_dir: Path,
    engine: str,
    params: Params,
    work: Path,
    *,
    health_probe: bool = False,
    scaling: Sequence[ScalePoint] = (),
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    env = service_env(config, model_dir, engine, work)
    cache, generated = Path(env["OV_CACHE_DIR"]), Path(env["GENERATED_DIR"])
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"kind": "service", "engine": engine, "model_dir": str(model_dir)}
    try:
        started = time.perf_counter()
        with live_server(env, logs / f"{config}-cold.log", ready_timeout=300) as server:
            wait_ready(server.base_url, _READY_TIMEOUT)
            cold = time.perf_counter() - started
            result["device"] = _device(server.base_url)
            log(f"  ready in {cold:.1f} s (cold compile cache) on {result['device']}")
            result.update(_measure(server.base_url, generated, params))
            if health_probe:
                result.update(_health_probe(server.base_url, generated, params))
            # Before the scaling runs: 768x768 needs more memory than the request measured.
            result["peak_rss_bytes"] = peak_rss_of(server.process.pid)
            result["memory_after_measuring"] = memory_of(server.process.pid)
            if scaling:
                result["scaling"] = _scale(server.base_url, generated, params, result, scaling, log)
                result["peak_rss_bytes_with_scaling"] = peak_rss_of(server.process.pid)
            result["load_seconds_cold"] = load_seconds_from_log(server.log())
            # Static shapes: what each swap between the static and dynamic pipeline cost.
            result["pipeline_compiles"] = pipeline_compiles_from_log(server.log())
        started = time.perf_counter()
        with live_server(env, logs / f"{config}-cached.log", ready_timeout=300) as server:
            wait_ready(server.base_url, _READY_TIMEOUT)
            cached = time.perf_counter() - started
            result["load_seconds_cached"] = load_seconds_from_log(server.log())
        log(f"  ready in {cached:.1f} s with the compile cache")
    finally:
        shutil.rmtree(cache, ignore_errors=True)  # ~3 GB per full-size model
    result["restart_to_ready_seconds"] = {"cold": cold, "cached": cached}
    result["png_seconds"] = _png_seconds(Path(result.pop("last_image")))
    return result


def service_env(config: str, model_dir: Path, engine: str, work: Path) -> dict[str, str]:
    """The service's settings: the defaults but for the model, the engine and fresh folders."""
    cache, generated = work / "ov-cache" / config, work / "generated" / config
    for folder in (cache, generated):
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "MODEL_DIR": str(model_dir),
        "GENERATED_DIR": str(generated),
        "OV_CACHE_DIR": str(cache),
        "OPENVINO_ENGINE": engine,
        "HF_HUB_OFFLINE": "1",
        # Only the give-up point: a 768x768 image may take longer than the default 300 s.
        "INFERENCE_TIMEOUT_SECONDS": "3600",
    }


def _device(base_url: str) -> str:
    import httpx

    active: str = httpx.get(f"{base_url}/health", timeout=10).json()["device"]["active"]
    return active


def _measure(base_url: str, generated: Path, params: Params) -> dict[str, Any]:
    warmup = post_image(base_url, generated, params)
    runs = [post_image(base_url, generated, params) for _ in range(params.runs)]
    timings = _median_timings(runs)
    generation_ms = timings.get("generation")
    seconds = median([run.seconds for run in runs])
    return {
        **_stage_columns(timings),
        "seconds_per_image": seconds,
        "runs_seconds": [run.seconds for run in runs],
        "warmup_seconds": warmup.seconds,
        # The service's own figures; keys appear here as the service adds them.
        "service_timings_ms": timings,
        "generation_seconds": None if generation_ms is None else generation_ms / 1000,
        "http_overhead_seconds": None if generation_ms is None else seconds - generation_ms / 1000,
        "last_image": str(runs[-1].path if runs else warmup.path),
        "width": params.width,
        "height": params.height,
        "steps": params.steps,
        "guidance_scale": params.guidance_scale,
        "runs": params.runs,
    }


# Provenance keys (ms) the service may add -> the raw configurations' columns (s). None exist
# yet but "generation"; the columns fill in as soon as the engines report their stages.
_STAGE_KEYS = {
    "text_encoder": "text_encoder_seconds",
    "unet_per_call": "unet_call_seconds",
    "vae_decode": "vae_decode_seconds",
}


def _stage_columns(timings: dict[str, float]) -> dict[str, Any]:
    columns: dict[str, Any] = {
        column: timings[key] / 1000 for key, column in _STAGE_KEYS.items() if key in timings
    }
    if "unet_calls" in timings:
        columns["unet_calls_per_image"] = round(timings["unet_calls"])
    return columns


def _median_timings(runs: Sequence[Served]) -> dict[str, float]:
    keys = sorted({key for run in runs for key in run.timings_ms})
    return {key: median([r.timings_ms[key] for r in runs if key in r.timings_ms]) for key in keys}


def _health_probe(base_url: str, generated: Path, params: Params) -> dict[str, Any]:
    """One more generation, with /health polled every ~50 ms as a UI would."""
    with HealthPoller(base_url) as poller:
        served = post_image(base_url, generated, params)
    latencies = poller.latencies_ms
    return {
        "health_during_generation": {
            "polls": len(latencies),
            "failures": poller.failures,
            "p50_ms": percentile(latencies, 0.50),
            "p99_ms": percentile(latencies, 0.99),
            "max_ms": max(latencies, default=float("nan")),
            "image_seconds_while_polled": served.seconds,
        }
    }


def _scale(
    base_url: str,
    generated: Path,
    params: Params,
    measured: dict[str, Any],
    points: Sequence[ScalePoint],
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    last_size = (params.width, params.height)
    rows = []
    for point in points:
        if (point.width, point.height, point.steps) == (params.width, params.height, params.steps):
            seconds = measured["seconds_per_image"]  # the point just measured
        else:
            at = replace(params, width=point.width, height=point.height, steps=point.steps)
            if (point.width, point.height) != last_size:
                # A size change costs a first call, and a static/dynamic pipeline swap.
                post_image(base_url, generated, replace(at, steps=min(at.steps, 2)))
                last_size = (point.width, point.height)
            # One run per point: the shape of the curve, not a headline figure.
            seconds = post_image(base_url, generated, at).seconds
        log(f"  scaling {point.width}x{point.height}, {point.steps} steps: {seconds:.2f} s")
        rows.append({**vars(point), "seconds_per_image": seconds})
    return rows


def _png_seconds(path: Path, repeats: int = 5) -> float:
    """The service's own PNG encode + write (FileImageStore.save), on one of its images.

    Random weights draw noise, which compresses worst: an upper bound for real pictures.
    """
    with Image.open(path) as picture:
        rgb = picture.convert("RGB")
        chunks = dict(getattr(picture, "text", {}))
    image = RenderedImage(rgb.width, rgb.height, rgb.tobytes(), seed=0)
    times = []
    with tempfile.TemporaryDirectory(prefix="bench-png-") as folder:
        store = FileImageStore(Path(folder))
        for index in range(repeats):
            started = time.perf_counter()
            store.save(f"png-{index}.png", image, chunks)
            times.append(time.perf_counter() - started)
    return float(statistics.median(times))
