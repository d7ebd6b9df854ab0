"""The full-size random-weight models: built once, offline, and cached under bench/cache/.

A build folder is named after a hash of the architecture, the build worker and the recipe it
shares with the tiny test models (tests/support/sd15_build.py), so a change to any of them
rebuilds and anything else reuses it. It is built in a temporary folder and
renamed at the end (an interrupted build never looks complete), under a file lock.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.configs import LCM_UNET, SD15_TEXT_ENCODER, SD15_UNET, SD15_VAE
from tests.support.sd15_build import (
    drop_build_path,
    file_lock,
    offline_env,
    source_bytes,
    write_tokenizer_files,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = PROJECT_ROOT / "bench" / "cache"
KINDS = ("sd15", "lcm")
PARTS = ("unet", "text_encoder", "vae_decoder", "vae_encoder")

Log = Callable[[str], None]


@dataclass(frozen=True)
class Models:
    """The folders a run uses; ``None`` where a configuration has nothing to run on."""

    openvino: Path
    lcm_openvino: Path | None
    diffusers: Path | None  # the PyTorch pipeline stock diffusers runs
    fp16_openvino: Path | None = None  # the same pipeline exported with fp16 weights


def build_hash() -> str:
    shapes = json.dumps([SD15_UNET, LCM_UNET, SD15_VAE, SD15_TEXT_ENCODER], sort_keys=True)
    worker = (Path(__file__).parent / "build_worker.py").read_bytes()
    return hashlib.sha256(shapes.encode() + worker + source_bytes()).hexdigest()[:10]


def model_root(cache: Path, kind: str) -> Path:
    return cache / f"{kind}-full-{build_hash()}"


def ensure_built(cache: Path, kind: str, log: Log) -> Path:
    target = model_root(cache, kind)
    if (target / "build.json").is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with file_lock(cache / f".{kind}.lock"):
        if (target / "build.json").is_file():  # another run built it while we waited
            return target
        for stale in cache.glob(f".building-{kind}-*"):  # left by a killed build
            shutil.rmtree(stale, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix=f".building-{kind}-", dir=cache))
        try:
            _build(work, kind, log)
            shutil.rmtree(target, ignore_errors=True)
            work.rename(target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def _build(work: Path, kind: str, log: Log) -> None:
    started = time.perf_counter()
    log(f"building the full-size {kind} pipeline (random weights) in {work}")
    pipeline = _step(["pipeline", kind, str(work / "diffusers")], work / "pipeline.json")
    log(f"  pipeline: {pipeline['seconds']:.0f} s, peak RSS {_gb(pipeline['peak_rss_bytes'])}")
    log("exporting it with optimum-cli --weight-format int8 (minutes; ~8 GB)")
    exported = work / "openvino"
    export = _step(["export", str(work / "diffusers"), str(exported)], work / "export.json")
    log(f"  export: {export['seconds']:.0f} s, peak RSS {_gb(export['peak_rss_bytes'])}")
    write_tokenizer_files(exported / "tokenizer")  # the real repo's slow-tokenizer files
    drop_build_path(exported / "model_index.json")
    if kind == "lcm":  # only the service runs the LCM; its 4 GB of fp32 weights can go
        shutil.rmtree(work / "diffusers")
    sizes = bin_sizes(exported)
    record = {
        "kind": kind,
        "seconds": time.perf_counter() - started,
        "pipeline": pipeline,
        "export": export,
        "bin_bytes": sizes,
    }
    (work / "build.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    for part, size in sizes.items():
        log(f"  {part}/openvino_model.bin: {size / 1e6:.1f} MB")


def ensure_fp16_sibling(sd15_root: Path, log: Log) -> Path:
    """``sd15_root``'s pipeline exported with fp16 weights, built once beside the int8 one."""
    target = sd15_root / "openvino-fp16"
    if (target / "model_index.json").is_file():
        return target
    with file_lock(sd15_root / ".fp16.lock"):
        if (target / "model_index.json").is_file():
            return target
        log("exporting the fp16 sibling with optimum-cli --weight-format fp16 (minutes; ~8 GB)")
        work = Path(tempfile.mkdtemp(prefix=".building-fp16-", dir=sd15_root))
        try:
            stats = _step(
                [str(sd15_root / "diffusers"), str(work / "openvino")],
                work / "export.json",
                worker="bench.fp16_export",
            )
            write_tokenizer_files(work / "openvino" / "tokenizer")
            drop_build_path(work / "openvino" / "model_index.json")
            shutil.move(work / "export.json", work / "openvino" / "fp16-export.json")
            (work / "openvino").rename(target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    log(f"  fp16 export: {stats['seconds']:.0f} s, peak RSS {_gb(stats['peak_rss_bytes'])}")
    return target


def _step(args: list[str], stats: Path, worker: str = "bench.build_worker") -> dict[str, Any]:
    command = [sys.executable, "-m", worker, *args, str(stats)]
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env=offline_env(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:2])} failed (exit {result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )
    loaded: dict[str, Any] = json.loads(stats.read_text(encoding="utf-8"))
    return loaded


def bin_sizes(model_dir: Path) -> dict[str, int]:
    return {
        part: (model_dir / part / "openvino_model.bin").stat().st_size
        for part in PARTS
        if (model_dir / part / "openvino_model.bin").is_file()
    }


def build_record(model_dir: Path) -> dict[str, Any] | None:
    """What the build of ``model_dir`` (an export under bench/cache) cost, if it was ours."""
    path = model_dir.parent / "build.json"
    if not path.is_file():
        return None
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return record


def _gb(size: int) -> str:
    return f"{size / 2**30:.1f} GiB"
