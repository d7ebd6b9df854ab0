"""The subprocess side of a full-size build: torch, diffusers and optimum live only here.

``python -m bench.build_worker pipeline <kind> <out> <stats>`` builds the random-weight
diffusers pipeline; ``... export <source> <out> <stats>`` runs exactly what
``optimum-cli export openvino --task text-to-image --weight-format int8`` runs. Two
processes, not one: the 4 GB of fp32 weights built by the first are gone before the
export loads its own copy, which keeps the build's peak near the export's ~8 GB.
Each step writes its seconds and peak RSS to ``<stats>``.
"""

from __future__ import annotations

import json
import resource
import runpy
import sys
import time
from pathlib import Path

from bench.configs import LCM_UNET, SD15_TEXT_ENCODER, SD15_UNET, SD15_VAE
from tests.support.sd15_build import optimum_cli_export_args, save_pipeline


def build_pipeline(kind: str, out: Path) -> None:
    unet = LCM_UNET if kind == "lcm" else SD15_UNET
    save_pipeline(kind, out, SD15_TEXT_ENCODER, unet, SD15_VAE)


def export(source: Path, out: Path) -> None:
    # The console script's own entry point, so the export is the CLI's, flag for flag.
    sys.argv = optimum_cli_export_args(source, out)
    runpy.run_module("optimum.commands.optimum_cli", run_name="__main__", alter_sys=True)


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def main(argv: list[str]) -> None:
    step, stats_path = argv[0], Path(argv[-1])
    started = time.perf_counter()
    if step == "pipeline":
        build_pipeline(argv[1], Path(argv[2]))
    elif step == "export":
        export(Path(argv[1]), Path(argv[2]))
    else:
        raise SystemExit(f"unknown step {step!r}")
    stats = {"seconds": time.perf_counter() - started, "peak_rss_bytes": _peak_rss_bytes()}
    stats_path.write_text(json.dumps(stats), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
