"""The harness side of a raw configuration: one worker subprocess to measure, one to reload.

Each configuration gets an empty compile cache of its own, so its first load is truly
cold; the second process then loads with the cache the first one filled.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.configs import Params
from bench.models import PROJECT_ROOT
from tests.support.sd15_build import offline_env

# No compile cache to warm: stock diffusers reads its weights again either way.
_NO_COMPILE_CACHE = ("stock_diffusers_fp32",)


def run_raw(
    config: str, model_dir: Path, work: Path, params: Params, device: str
) -> dict[str, Any]:
    job = raw_job(config, model_dir, work, params, device)
    cache_dir = Path(job["cache_dir"])
    try:
        result = worker({**job, "mode": "measure"}, work, f"{config}-measure")
        result["load_seconds_cold"] = result.pop("load_seconds")
        result["load_seconds_cached"] = None
        if config not in _NO_COMPILE_CACHE:
            again = worker({**job, "mode": "load"}, work, f"{config}-load")
            result["load_seconds_cached"] = again["load_seconds"]
    finally:
        # A full-size model's blobs take ~3 GB per configuration: keep the disk for the next.
        shutil.rmtree(cache_dir, ignore_errors=True)
    result.update(kind="raw", device=device, model_dir=str(model_dir), **_shape(params))
    return result


def raw_job(
    config: str, model_dir: Path, work: Path, params: Params, device: str
) -> dict[str, Any]:
    """What a worker process is told to load, with an empty compile cache of its own."""
    cache_dir = work / "ov-cache" / config
    shutil.rmtree(cache_dir, ignore_errors=True)
    cache_dir.mkdir(parents=True)
    return {
        "config": config,
        "model_dir": str(model_dir),
        "cache_dir": str(cache_dir),
        "device": device,
        "params": params.to_json(),
        "image_dir": str(work / "images" / config),
    }


def _shape(params: Params) -> dict[str, Any]:
    return {
        "width": params.width,
        "height": params.height,
        "steps": params.steps,
        "guidance_scale": params.guidance_scale,
        "runs": params.runs,
    }


def worker(
    job: dict[str, Any], work: Path, name: str, module: str = "bench.worker"
) -> dict[str, Any]:
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    job_path, out_path = work / f"{name}.job.json", work / f"{name}.result.json"
    job_path.write_text(json.dumps(job), encoding="utf-8")
    out_path.unlink(missing_ok=True)
    log_path = logs / f"{name}.log"
    with log_path.open("w", encoding="utf-8") as log:
        code = subprocess.call(
            [sys.executable, "-m", module, str(job_path), str(out_path)],
            cwd=PROJECT_ROOT,
            env=offline_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if code != 0 or not out_path.is_file():
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{name} failed (exit {code}); {log_path}:\n{tail}")
    loaded: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8"))
    return loaded
