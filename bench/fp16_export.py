"""``python -m bench.fp16_export <diffusers dir> <out> <stats>``: the fp16 sibling export.

What ``OpenVINO/stable-diffusion-v1-5-fp16-ov`` is to the int8 repo: the same optimum-cli
export with ``--weight-format fp16``, for the weight-precision measurement. A module of
its own so the int8 build (hashed by its worker's source) is not rebuilt for it.
"""

from __future__ import annotations

import json
import runpy
import sys
import time
from pathlib import Path

from bench.build_worker import _peak_rss_bytes
from tests.support.sd15_build import optimum_cli_export_args


def main(argv: list[str]) -> None:
    source, out, stats_path = (Path(arg) for arg in argv)
    started = time.perf_counter()
    args = optimum_cli_export_args(source, out)
    args[args.index("--weight-format") + 1] = "fp16"
    sys.argv = args
    runpy.run_module("optimum.commands.optimum_cli", run_name="__main__", alter_sys=True)
    stats = {"seconds": time.perf_counter() - started, "peak_rss_bytes": _peak_rss_bytes()}
    stats_path.write_text(json.dumps(stats), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
