"""The full-size random-weight safety checker: built once, offline, cached under bench/cache/.

``python -m bench.safety_checker_build <out> <stats>`` (a subprocess: torch, diffusers and
transformers live only there) makes diffusers' ``StableDiffusionSafetyChecker`` with the
real checker's shapes and random weights, saves it as the repository ships it
(``safety_checker/`` with ``config.json`` and ``model.safetensors``, the feature
extractor's ``preprocessor_config.json``), converts it with the service's own
``convert_safety_checker`` into ``<out>/openvino`` and removes the 1.2 GB source.

The folder's name hashes the shapes, this file and the conversion module, so a change to
any of them rebuilds; it is built in a temporary folder renamed at the end, under a lock,
as the SD 1.5 build is (bench/models.py). Speed does not depend on the weights' values.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.configs import SAFETY_CHECKER_PROJECTION_DIM, SAFETY_CHECKER_VISION, SD15_PREPROCESSOR
from tests.support.sd15_build import file_lock, offline_env

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REPO_ID = "bench/random-weight-safety-checker"  # what the provenance names as the source
CONVERSION = PROJECT_ROOT / "adapters" / "safety_checker_conversion.py"


def build_hash() -> str:
    shapes = json.dumps(
        [SAFETY_CHECKER_VISION, SAFETY_CHECKER_PROJECTION_DIM, SD15_PREPROCESSOR], sort_keys=True
    )
    sources = Path(__file__).read_bytes() + CONVERSION.read_bytes()
    return hashlib.sha256(shapes.encode() + sources).hexdigest()[:10]


def checker_root(cache: Path) -> Path:
    return cache / f"safety-checker-full-{build_hash()}"


def ensure_checker(cache: Path, log: Callable[[str], None]) -> Path:
    """The converted checker's folder (``<root>/openvino``), built first if need be."""
    target = checker_root(cache)
    if (target / "build.json").is_file():
        return target / "openvino"
    cache.mkdir(parents=True, exist_ok=True)
    with file_lock(cache / ".safety-checker.lock"):
        if not (target / "build.json").is_file():
            for stale in cache.glob(".building-safety-checker-*"):  # left by a killed build
                shutil.rmtree(stale, ignore_errors=True)
            work = Path(tempfile.mkdtemp(prefix=".building-safety-checker-", dir=cache))
            try:
                log(f"building the full-size safety checker (random weights) in {work}")
                _run_worker(work)
                shutil.rmtree(target, ignore_errors=True)
                work.rename(target)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    record = build_record(target / "openvino") or {}
    log(
        f"  safety checker: {record.get('parameters', 0) / 1e6:.1f} M parameters, built and "
        f"converted in {record.get('seconds', 0.0):.0f} s"
    )
    return target / "openvino"


def build_record(checker_dir: Path) -> dict[str, Any] | None:
    path = checker_dir.parent / "build.json"
    if not path.is_file():
        return None
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return record


def _run_worker(work: Path) -> None:
    command = [sys.executable, "-m", "bench.safety_checker_build", str(work), "build.json"]
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env=offline_env(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or not (work / "build.json").is_file():
        raise RuntimeError(
            f"the safety checker build failed (exit {result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )


# The subprocess ----------------------------------------------------------------------


def build(out: Path) -> dict[str, Any]:
    torch: Any = importlib.import_module("torch")
    transformers: Any = importlib.import_module("transformers")
    checker_module: Any = importlib.import_module(
        "diffusers.pipelines.stable_diffusion.safety_checker"
    )
    conversion: Any = importlib.import_module("adapters.safety_checker_conversion")
    started = time.perf_counter()
    torch.manual_seed(0)
    config = transformers.CLIPConfig(
        vision_config=SAFETY_CHECKER_VISION, projection_dim=SAFETY_CHECKER_PROJECTION_DIM
    )
    checker = checker_module.StableDiffusionSafetyChecker(config).eval()
    with torch.no_grad():  # diffusers leaves them all ones: every concept would be the same
        checker.concept_embeds.copy_(torch.randn_like(checker.concept_embeds))
        checker.special_care_embeds.copy_(torch.randn_like(checker.special_care_embeds))
    parameters = sum(p.numel() for p in checker.parameters())
    source = out / "source"
    checker.save_pretrained(source / "safety_checker", safe_serialization=True)
    preprocessor = source / "feature_extractor" / "preprocessor_config.json"
    preprocessor.parent.mkdir(parents=True)
    preprocessor.write_text(json.dumps(SD15_PREPROCESSOR, indent=2), encoding="utf-8")
    built = time.perf_counter()
    conversion.convert_safety_checker(
        source / "safety_checker", preprocessor, out / "openvino", repo_id=REPO_ID, revision=None
    )
    converted = time.perf_counter()
    source_bytes = (source / "safety_checker" / "model.safetensors").stat().st_size
    shutil.rmtree(source)
    return {
        "parameters": parameters,
        "source_safetensors_bytes": source_bytes,
        "ir_bin_bytes": (out / "openvino" / "openvino_model.bin").stat().st_size,
        "build_seconds": built - started,
        "convert_seconds": converted - built,
        "seconds": converted - started,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # KiB
    }


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    record = build(out)
    (out / argv[1]).write_text(json.dumps(record, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
