"""What the safety checker costs the service: seconds per image and the memory it adds.

The full-size random-weight checker (bench/safety_checker_build.py) is loaded with the
service's own ``load_safety_checker`` and judged through its ``check``, preprocessing
included, on noise images of the run's size (what random-weight SD makes, and the work does
not depend on the pixels). Two fresh processes (``python -m bench.safety_cost <dir> <cache>
<width> <height> <runs> <out>``): the first compiles into an empty OpenVINO cache (the
compile time, once), the second loads from that cache as a restarted service does and takes
the timings: after a warm-up of each size, ``runs`` checks of 1 image and of a batch of 4
(what a job of 4 hands the checker at once), alternating, medians reported. Memory is the
process's VmRSS read just before ``load_safety_checker`` (openvino and the adapter already
imported, as in the service) and after the load and the first check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from application.ports import RenderedImage
from bench.safety_checker_build import PROJECT_ROOT, build_record, ensure_checker
from bench.stats import median, memory_of
from tests.support.sd15_build import offline_env

BATCH = 4
DEVICE = "CPU"


class Checks(Protocol):
    def check(self, images: Sequence[RenderedImage]) -> Sequence[object]: ...


def noise_images(width: int, height: int, count: int, seed: int = 0) -> list[RenderedImage]:
    rng = np.random.default_rng(seed)
    return [
        RenderedImage(
            width, height, rng.integers(0, 256, width * height * 3, np.uint8).tobytes(), i
        )
        for i in range(count)
    ]


def time_checks(
    checker: Checks,
    images: Sequence[RenderedImage],
    runs: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Milliseconds of ``runs`` checks of 1 image and of ``images`` (a batch), after one
    unmeasured check of each: the two sizes alternate, so a drift of the host touches both."""
    single, batch = list(images[:1]), list(images)
    checker.check(single)
    checker.check(batch)
    times: dict[str, list[float]] = {"one_image_ms": [], "batch_ms": []}
    for _ in range(runs):
        for key, chunk in (("one_image_ms", single), ("batch_ms", batch)):
            started = clock()
            checker.check(chunk)
            times[key].append((clock() - started) * 1000)
    return times


def summary(cold: dict[str, Any], cached: dict[str, Any], batch: int = BATCH) -> dict[str, Any]:
    """The figures the report shows, from the two processes' records."""
    times = cached["times"]
    one, many = median(times["one_image_ms"]), median(times["batch_ms"])
    return {
        "one_image_ms": one,
        "batch_size": batch,
        "batch_ms": many,
        "batch_per_image_ms": many / batch,
        "compile_seconds_cold": cold["load_seconds"],
        "load_seconds_cached": cached["load_seconds"],
        "first_check_seconds": cached["first_check_seconds"],
        "rss_added_bytes": cached["rss_after"] - cached["rss_before"],
        "rss_added_bytes_cold": cold["rss_after"] - cold["rss_before"],
        "peak_rss_added_bytes": cached["peak_after"] - cached["rss_before"],
    }


def run_safety_cost(
    cache: Path, work: Path, width: int, height: int, runs: int, log: Callable[[str], None]
) -> dict[str, Any]:
    checker_dir = ensure_checker(cache, log)
    compile_cache = work / "safety-checker-ov-cache"
    shutil.rmtree(compile_cache, ignore_errors=True)  # the first process compiles cold
    compile_cache.mkdir(parents=True)
    cold = _measure_in_subprocess(checker_dir, compile_cache, width, height, 0, work / "cold.json")
    log(f"  compiled cold in {cold['load_seconds']:.1f} s")
    cached = _measure_in_subprocess(
        checker_dir, compile_cache, width, height, runs, work / "cached.json"
    )
    figures = summary(cold, cached)
    log(
        f"  {figures['one_image_ms']:.0f} ms for 1 image, {figures['batch_ms']:.0f} ms for "
        f"{BATCH}; +{figures['rss_added_bytes'] / 2**20:.0f} MiB RSS"
    )
    return {
        **figures,
        "device": DEVICE,
        "width": width,
        "height": height,
        "runs": runs,
        "checker_dir": str(checker_dir),
        "build": build_record(checker_dir),
        "processes": {"cold": cold, "cached": cached},
    }


def _measure_in_subprocess(
    checker_dir: Path, compile_cache: Path, width: int, height: int, runs: int, out: Path
) -> dict[str, Any]:
    out.parent.mkdir(parents=True, exist_ok=True)
    args = [str(checker_dir), str(compile_cache), str(width), str(height), str(runs), str(out)]
    command = [sys.executable, "-m", "bench.safety_cost", *args]
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env=offline_env(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"measuring the safety checker failed (exit {result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )
    loaded: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return loaded


# The subprocess ----------------------------------------------------------------------


def measure(checker_dir: Path, compile_cache: Path, width: int, height: int, runs: int) -> Any:
    import openvino  # noqa: F401  # loaded in the service long before the checker

    from adapters.openvino_safety_checker import load_safety_checker

    images = noise_images(width, height, BATCH)
    before = memory_of(os.getpid())
    started = time.perf_counter()
    checker: Any = load_safety_checker(checker_dir, DEVICE, compile_cache)
    loaded = time.perf_counter()
    checker.check(images[:1])
    checked = time.perf_counter()
    after = memory_of(os.getpid())
    return {
        "load_seconds": loaded - started,
        "first_check_seconds": checked - loaded,
        "rss_before": before.get("VmRSS", 0),
        "rss_after": after.get("VmRSS", 0),
        "peak_after": after.get("VmHWM", 0),
        "rss_anon_after": after.get("RssAnon", 0),
        "times": time_checks(checker, images, runs) if runs else {},
        "checker": {"name": checker.name, "version": checker.version, "device": checker.device},
    }


def main(argv: list[str]) -> None:
    checker_dir, compile_cache, width, height, runs, out = argv
    record = measure(Path(checker_dir), Path(compile_cache), int(width), int(height), int(runs))
    Path(out).write_text(json.dumps(record, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
