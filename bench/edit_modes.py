"""Text-to-image, image-to-image and inpainting on one loaded engine, in one worker process.

``python -m bench.edit_modes <job.json> <out.json>``. The service's own engine (not a raw
pipeline) is loaded once, with static shapes as the service runs it, and serves the three
modes in the order a user meets them: text, then image-to-image, then inpainting. Each mode
gets a warm-up (its first call compiles its pipeline) and the measured runs; after each mode
the process's peak RSS so far is read. The peak after the text mode is what serving
text-to-image alone costs (nothing else has run yet); the peak after the last mode is what
serving all three costs: their ratio is the issue's "within 10 %".

The inputs are made here, deterministically, and never written to the repository: a
512x512 (the run's size) pattern of gradients and rings, and a centred elliptical mask
blurred as a request's default ``mask_blur`` would blur it.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from application.ports import EditImages
from bench.configs import Params
from bench.raw import raw_job, worker
from bench.stats import median
from domain.generation_request import DEFAULT_MASK_BLUR, GenerationRequest
from domain.input_image import InputImage

IMAGE_TO_IMAGE_STRENGTH = 0.5  # the row
INPAINTING_STRENGTH = 0.75  # the request's default: what a client that sends none gets

LOADERS = {
    "genai": ("adapters.openvino_genai_engine", "load_genai_engine"),
    "optimum": ("adapters.optimum_engine", "load_optimum_engine"),
}


@dataclass(frozen=True)
class Mode:
    name: str  # EditMode's value
    request: GenerationRequest
    edit: EditImages | None


def synthetic_rgb(width: int, height: int) -> bytes:
    """Gradients and rings: structure for the VAE to encode, the same bytes every run."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    red = x * 255 / max(width - 1, 1)
    green = y * 255 / max(height - 1, 1)
    radius = np.hypot(x - width / 2, y - height / 2)
    blue = 128 + 127 * np.sin(radius / 9)
    rgb = np.stack([red, green, blue], axis=-1)
    return bytes(np.clip(np.rint(rgb), 0, 255).astype(np.uint8).tobytes())


def centred_mask(width: int, height: int, blur: int = DEFAULT_MASK_BLUR) -> bytes:
    """255 (repaint) in an ellipse over the middle half of each side, 0 outside."""
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).ellipse(
        (width // 4, height // 4, width - width // 4, height - height // 4), fill=255
    )
    if blur:
        mask = mask.filter(ImageFilter.GaussianBlur(blur))
    return mask.tobytes()


def _input(upload_id: str, data: bytes, width: int, height: int) -> InputImage:
    return InputImage(upload_id, hashlib.sha256(data).hexdigest(), width, height)


def modes(params: Params) -> list[Mode]:
    width, height = params.width, params.height
    text = GenerationRequest(
        prompt=params.prompt,
        num_inference_steps=params.steps,
        guidance_scale=params.guidance_scale,
        width=width,
        height=height,
        seed=params.seed,
    )
    rgb, mask = synthetic_rgb(width, height), centred_mask(width, height)
    init = _input("bench-init", rgb, width, height)
    masked = _input("bench-mask", mask, width, height)
    img2img = GenerationRequest(**_fields(text), init_image=init, strength=IMAGE_TO_IMAGE_STRENGTH)
    inpainting = GenerationRequest(
        **_fields(text), init_image=init, mask_image=masked, strength=INPAINTING_STRENGTH
    )
    return [
        Mode(text.mode.value, text, None),
        Mode(img2img.mode.value, img2img, EditImages(width, height, rgb)),
        Mode(inpainting.mode.value, inpainting, EditImages(width, height, rgb, mask)),
    ]


def _fields(request: GenerationRequest) -> dict[str, Any]:
    names = ("prompt", "num_inference_steps", "guidance_scale", "width", "height", "seed")
    return {name: getattr(request, name) for name in names}


def peak_rss_bytes() -> int:
    # Linux reports KiB: the peak of this process so far, engine and all.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes() -> int | None:
    try:
        status = Path("/proc/self/status").read_text(encoding="utf-8")
    except OSError:  # not Linux
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def _never_stop(step: int, num_steps: int, latents: object) -> bool:
    return False


def measure_mode(engine: Any, mode: Mode, params: Params) -> dict[str, Any]:
    def once() -> tuple[float, Mapping[str, float]]:
        started = time.perf_counter()
        image = engine.run(mode.request, params.seed, _never_stop, mode.edit)
        seconds = time.perf_counter() - started
        if image is None or image.shape != (params.height, params.width, 3):
            raise RuntimeError(f"{mode.name}: the engine returned {getattr(image, 'shape', None)}")
        return seconds, dict(engine.last_timings_ms())

    warmup, _ = once()  # the mode's first call: its pipeline's compile lands here
    runs: list[float] = []
    timings: list[Mapping[str, float]] = []
    for _ in range(params.runs):
        seconds, stages = once()
        runs.append(seconds)
        timings.append(stages)

    def stage(key: str, scale: float = 1e-3) -> float | None:
        values = [t[key] * scale for t in timings if key in t]
        return median(values) if values else None

    calls = stage("unet_calls", 1.0)
    return {
        "mode": mode.name,
        "strength": None if mode.edit is None else mode.request.strength,
        "denoising_steps": mode.request.denoising_steps,
        "seconds_per_image": median(runs),
        "runs_seconds": runs,
        "warmup_seconds": warmup,
        "text_encoder_seconds": stage("text_encoder"),
        "unet_call_seconds": stage("unet_per_call"),
        "unet_calls_per_image": int(calls) if calls is not None else None,
        "vae_encode_seconds": stage("vae_encode"),
        "vae_decode_seconds": stage("vae_decode"),
        "peak_rss_bytes": peak_rss_bytes(),
        "rss_bytes": current_rss_bytes(),
    }


def load_engine(job: Mapping[str, Any]) -> Any:
    module, function = LOADERS[job["engine"]]
    loader = getattr(importlib.import_module(module), function)
    model_dir, cache_dir = Path(job["model_dir"]), Path(job["cache_dir"])
    if job["engine"] == "genai":
        return loader(model_dir, job["device"], cache_dir, static_shape=True)
    return loader(model_dir, job["device"], cache_dir)


def run_edit_modes(
    engine: str, model_dir: Path, work: Path, params: Params, device: str
) -> dict[str, Any]:
    """The harness side: one worker process, with an empty compile cache of its own."""
    name = "edit_modes" if engine == "genai" else f"edit_modes_{engine}"
    job = {**raw_job(name, model_dir, work, params, device), "engine": engine}
    try:
        result = worker(job, work, name, module="bench.edit_modes")
    finally:
        shutil.rmtree(job["cache_dir"], ignore_errors=True)  # ~3 GB of blobs at full size
    text, *edits = result["modes"]
    result.update(
        kind="edit_modes",
        model_dir=str(model_dir),
        width=params.width,
        height=params.height,
        steps=params.steps,
        guidance_scale=params.guidance_scale,
        runs=params.runs,
        text_alone_peak_rss_bytes=text["peak_rss_bytes"],
        all_modes_peak_rss_bytes=result["peak_rss_bytes"],
        all_modes_over_text_alone=result["peak_rss_bytes"] / text["peak_rss_bytes"],
    )
    for edit in edits:
        edit["seconds_over_text_to_image"] = edit["seconds_per_image"] / text["seconds_per_image"]
    return result


def main(job_path: Path, out_path: Path) -> None:
    job = json.loads(job_path.read_text(encoding="utf-8"))
    params = Params.from_json(job["params"])
    started = time.perf_counter()
    engine = load_engine(job)
    result: dict[str, Any] = {
        "engine": job["engine"],
        "device": engine.device,
        "load_seconds": time.perf_counter() - started,
        "rss_after_load_bytes": current_rss_bytes(),
        "modes": [],
        "pid": os.getpid(),
    }
    for mode in modes(params):
        result["modes"].append(measure_mode(engine, mode, params))
        # Each mode's figures as they come: a run stopped late still has the earlier ones.
        print(json.dumps(result["modes"][-1]), flush=True)
    result["peak_rss_bytes"] = peak_rss_bytes()
    out_path.write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
