"""``python -m bench.cpu_settings [MODEL_DIR]``: the CPU plugin's settings, measured.

Each variant loads the genai pipeline in a process of its own with one set of
properties, then makes two 512x512 images of 3 steps; it prints the UNet's median
seconds per call and the process's memory. Not part of ``make bench`` (about a minute
per variant); the figures it gave are in bench/notes.md.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.models import DEFAULT_CACHE, PROJECT_ROOT, model_root
from bench.stats import memory_of

VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "PERFORMANCE_HINT=LATENCY": {"PERFORMANCE_HINT": "LATENCY"},
    "PERFORMANCE_HINT=THROUGHPUT": {"PERFORMANCE_HINT": "THROUGHPUT"},
    "INFERENCE_PRECISION_HINT=f32": {"INFERENCE_PRECISION_HINT": "f32"},
    "INFERENCE_NUM_THREADS=1": {"INFERENCE_NUM_THREADS": 1},
}


def measure(model_dir: Path, properties: dict[str, Any]) -> dict[str, Any]:
    import openvino_genai as ov_genai

    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as cache:
        started = time.perf_counter()
        pipe = ov_genai.Text2ImagePipeline(str(model_dir), "CPU", CACHE_DIR=cache, **properties)
        load = time.perf_counter() - started
        calls: list[float] = []
        for _ in range(2):
            pipe.generate("a lighthouse", width=512, height=512, num_inference_steps=3, rng_seed=1)
            metrics = pipe.get_performance_metrics()
            calls = [d / 1e6 for d in metrics.raw_metrics.unet_inference_durations]
        memory = memory_of(os.getpid())
    return {"load_seconds": load, "unet_seconds_per_call": statistics.median(calls), **memory}


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--one":
        result = measure(Path(argv[1]), json.loads(argv[2]))
        print(json.dumps(result))
        return
    model_dir = Path(argv[0]) if argv else model_root(DEFAULT_CACHE, "sd15") / "openvino"
    print("| variant | UNet s/call (512x512, batch 2) | load s | peak RSS GiB |")
    print("| --- | ---: | ---: | ---: |")
    for name, properties in VARIANTS.items():
        command = [sys.executable, "-m", "bench.cpu_settings", "--one", str(model_dir)]
        output = subprocess.run(
            [*command, json.dumps(properties)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result = json.loads(output.strip().splitlines()[-1])
        print(
            f"| {name} | {result['unet_seconds_per_call']:.2f} | {result['load_seconds']:.1f} "
            f"| {result.get('VmHWM', 0) / 2**30:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
