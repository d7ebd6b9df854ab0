"""One raw configuration in its own process: ``python -m bench.worker <job.json> <out.json>``.

A process per configuration makes ``ru_maxrss`` the peak of exactly that engine, and no
engine's memory or threads linger into the next one's timings. ``mode`` "measure" loads,
warms up and times the runs; "load" only loads, to time a start with the compile cache
that the measuring process filled; "serve" loads, then generates one image for each JSON
line of parameters on stdin and answers each with a ``RESULT_PREFIX`` line on stdout, so
that the harness can take turns between engines kept loaded side by side.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from bench.configs import Params
from bench.engines import Runner, Stages, import_engine, load
from bench.stats import median

# Marks the harness's lines on stdout; an engine may print its own lines there too.
READY_LINE = "BENCH-WORKER-READY"
RESULT_PREFIX = "BENCH-WORKER-RESULT "


def measure(runner: Runner, params: Params, image_dir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    runner.generate(params)  # warm-up: first-call allocations and lazy compiles land here
    warmup = time.perf_counter() - started
    runs: list[float] = []
    stages: list[Stages] = []
    png: list[float] = []
    image_dir.mkdir(parents=True, exist_ok=True)
    for index in range(params.runs):
        started = time.perf_counter()
        image, stage = runner.generate(params)
        runs.append(time.perf_counter() - started)
        stages.append(stage)
        # What a user of the library writes: PIL's defaults. Not part of the image time.
        started = time.perf_counter()
        image.save(image_dir / f"run-{index}.png")
        png.append(time.perf_counter() - started)
    unet_calls = [call for stage in stages for call in stage.unet_call_seconds]
    return {
        "seconds_per_image": median(runs),
        "runs_seconds": runs,
        "warmup_seconds": warmup,
        "text_encoder_seconds": median([s.text_encoder_seconds for s in stages]),
        "unet_call_seconds": median(unet_calls),
        "unet_calls_per_image": len(stages[-1].unet_call_seconds) if stages else 0,
        "vae_decode_seconds": median([s.vae_decode_seconds for s in stages]),
        "png_seconds": median(png),
    }


def serve(runner: Runner) -> None:
    print(READY_LINE, flush=True)
    for line in sys.stdin:
        params = Params.from_json(json.loads(line))
        started = time.perf_counter()
        _, stages = runner.generate(params)
        seconds = time.perf_counter() - started
        answer = {"seconds": seconds, "unet_call_seconds": median(stages.unet_call_seconds)}
        print(RESULT_PREFIX + json.dumps(answer), flush=True)


def main(job_path: Path, out_path: Path) -> None:
    job = json.loads(job_path.read_text(encoding="utf-8"))
    params = Params.from_json(job["params"])
    started = time.perf_counter()
    import_engine(job["config"])  # torch and optimum alone take seconds to import
    imported = time.perf_counter()
    runner = load(
        job["config"], Path(job["model_dir"]), Path(job["cache_dir"]), job["device"], params
    )
    result: dict[str, Any] = {
        "import_seconds": imported - started,
        "load_seconds": time.perf_counter() - imported,
    }
    if job["mode"] == "measure":
        result.update(measure(runner, params, Path(job["image_dir"])))
    elif job["mode"] == "serve":
        serve(runner)
    # Linux reports KiB: the peak of this process, engine and all.
    result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result["pid"] = os.getpid()
    out_path.write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
