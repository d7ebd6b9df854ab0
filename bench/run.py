"""`make bench`: every configuration back to back, then results.json and BENCHMARKS.md.

python -m bench.run                      # the full run (builds the models once)
python -m bench.run --quick              # 256x256, 4 steps, 1 run, into bench/cache/quick/
python -m bench.run --configs genai_int8_static,service_http --steps 10 --runs 3
python -m bench.run --model-dir DIR [--lcm-model-dir DIR] [--diffusers-dir DIR]
python -m bench.run --build-only         # build and cache the full-size models, then stop
python -m bench.run --configs interleaved --merge   # re-measure one, keep the rest of results.json
python -m bench.run --quick --configs request_overhead --baseline-ref e7e8e08   # no model needed
python -m bench.run --configs safety_checker --merge   # the checker's cost (builds it once)
python -m bench.run --configs cluster --merge   # mock workers on a redis-server; no model
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.calibration import drift
from bench.configs import (
    ALL_CONFIGS,
    CLUSTER,
    DEFAULT_CONFIGS,
    EDIT_MODES,
    MODEL_FREE,
    SAFETY_CHECKER,
    SERVICE_ENGINES,
    Params,
)
from bench.demo_service import baseline_checkout
from bench.machine import machine
from bench.models import (
    DEFAULT_CACHE,
    PROJECT_ROOT,
    Models,
    bin_sizes,
    build_record,
    ensure_built,
    ensure_fp16_sibling,
)
from bench.preview_cost import preview_ms
from bench.report import markdown, ratios, write_json, write_markdown
from bench.request_overhead import OverheadPlan
from bench.service import ScalePoint
from bench.suite import Suite

# --quick's values for whatever the command line leaves unset.
QUICK = {
    "width": 256,
    "height": 256,
    "steps": 4,
    "runs": 1,
    "scale_sizes": "128,256",
    "scale_steps": "2,4",
    "overhead_rounds": 4,
    "overhead_requests": 2000,
    "results": str(DEFAULT_CACHE / "quick" / "results.json"),
    "markdown": str(DEFAULT_CACHE / "quick" / "BENCHMARKS.md"),
}
FULL = {
    "width": 512,
    "height": 512,
    "steps": 20,
    "runs": 2,
    "scale_sizes": "256,512,768",
    "scale_steps": "10,20,40",
    "overhead_rounds": 20,
    "overhead_requests": 5000,
    "results": str(PROJECT_ROOT / "bench" / "results.json"),
    "markdown": str(PROJECT_ROOT / "BENCHMARKS.md"),
}


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", flush=True)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--quick", action="store_true", help="small and fast, for iteration")
    add(
        "--configs",
        default=",".join(DEFAULT_CONFIGS),
        help=f"comma-separated, from: {', '.join(ALL_CONFIGS)}",
    )
    add("--width", type=int)
    add("--height", type=int)
    add("--steps", type=int)
    add("--guidance", type=float, default=7.5)
    add("--runs", type=int, help="measured runs after the warm-up (median reported)")
    add("--seed", type=int, default=42)
    add("--prompt", default=Params.prompt)
    add("--lcm-steps", type=int, default=4)
    add("--lcm-guidance", type=float, default=1.0)
    add("--overhead-steps", type=int, default=4, help="steps of a service_overhead round")
    add("--overhead-rounds", type=int, help="rounds of service_overhead")
    add("--overhead-requests", type=int, help="request_overhead's requests per route and variant")
    add("--baseline-ref", help="request_overhead: also serve this git ref's tree, in the rounds")
    add("--baseline-project", type=Path, help="request_overhead: the same, from a checkout")
    add("--scale-sizes", help="service sizes to scale over (at --steps); '' for none")
    add("--scale-steps", help="service step counts to scale over (at --width); '' for none")
    add("--model-dir", type=Path, help="an SD 1.5 OpenVINO export (default: the full-size build)")
    add("--lcm-model-dir", type=Path, help="an LCM OpenVINO export, with --model-dir")
    add("--diffusers-dir", type=Path, help="a diffusers PyTorch pipeline, with --model-dir")
    add("--device", default="CPU", help="device of the raw configurations")
    add("--cache", type=Path, default=DEFAULT_CACHE, help="where full-size models are built")
    add("--work", type=Path, help="scratch: compile caches, images, logs")
    add("--results", type=Path)
    add("--markdown", type=Path)
    add("--build-only", action="store_true", help="build the full-size models and stop")
    add(
        "--merge",
        action="store_true",
        help="keep what --results holds for the configurations not run now",
    )
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.configs = [name for name in args.configs.split(",") if name]
    unknown = set(args.configs) - set(ALL_CONFIGS)
    if unknown:
        parser.error(f"unknown configurations {sorted(unknown)}; known: {', '.join(ALL_CONFIGS)}")
    args.work = args.work or args.cache / ("work-quick" if args.quick else "work")
    args.results, args.markdown = Path(args.results), Path(args.markdown)
    return args


def scale_points(args: argparse.Namespace) -> list[ScalePoint]:
    sizes = [int(s) for s in str(args.scale_sizes).split(",") if s]
    steps = [int(s) for s in str(args.scale_steps).split(",") if s]
    points = [ScalePoint(size, size, args.steps) for size in sizes]
    points += [ScalePoint(args.width, args.height, n) for n in steps]
    return list(dict.fromkeys(points))  # the shared point once


def resolve_models(args: argparse.Namespace) -> tuple[Models, dict[str, Any]]:
    if args.model_dir is not None:
        models = Models(args.model_dir, args.lcm_model_dir, args.diffusers_dir)
        description = f"The OpenVINO export in `{args.model_dir}`."
    else:
        sd15 = ensure_built(args.cache, "sd15", log)
        wants_lcm = "lcm_service_http" in args.configs or args.build_only
        lcm = ensure_built(args.cache, "lcm", log) if wants_lcm else None
        fp16 = ensure_fp16_sibling(sd15, log) if "genai_fp16_static" in args.configs else None
        models = Models(
            sd15 / "openvino", lcm / "openvino" if lcm else None, sd15 / "diffusers", fp16
        )
        description = (
            "The full-size SD 1.5 architecture (UNet 859.5 M parameters, VAE 83.7 M, text "
            "encoder 123 M) with random weights from SD 1.5's published configs, exported by "
            "`optimum-cli export openvino --task text-to-image --weight-format int8` as the "
            "real repo was; the LCM is the same UNet with `time_cond_proj_dim` 256."
        )
    info: dict[str, Any] = {
        "description": description,
        "openvino_dir": str(models.openvino),
        "lcm_openvino_dir": str(models.lcm_openvino) if models.lcm_openvino else None,
        "diffusers_dir": str(models.diffusers) if models.diffusers else None,
        "build": build_record(models.openvino),
        "lcm_build": build_record(models.lcm_openvino) if models.lcm_openvino else None,
        "fp16_openvino_dir": str(models.fp16_openvino) if models.fp16_openvino else None,
        "fp16_bin_bytes": bin_sizes(models.fp16_openvino) if models.fp16_openvino else None,
    }
    return models, info


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    models: Models | None
    if set(args.configs) <= set(MODEL_FREE) and not args.build_only:
        # No build for these: a full-size build takes an hour the first time.
        models, model_info = None, {"description": "None: this run used the demo backend only."}
    else:
        models, model_info = resolve_models(args)
    if args.build_only:
        log(f"models ready: {models}")
        return 0
    params = Params(
        args.prompt, args.seed, args.width, args.height, args.steps, args.guidance, args.runs
    )
    lcm_params = params.lcm(args.lcm_steps, args.lcm_guidance)
    started = time.perf_counter()
    overhead = replace(
        params, steps=min(params.steps, args.overhead_steps), runs=args.overhead_rounds
    )
    baseline = args.baseline_project
    if args.baseline_ref:
        baseline = baseline_checkout(args.baseline_ref)
    requests = args.overhead_requests
    request_plan = OverheadPlan(requests, warmup=requests // 10, baseline=baseline)
    suite = Suite(
        models,
        params,
        lcm_params,
        args.work,
        args.device,
        scale_points(args),
        log,
        overhead,
        request_plan,
        cache=args.cache,
    )
    context: dict[str, Any] = {
        "command": shlex.join(["python", "-m", "bench.run", *argv]) if argv else "make bench",
        "machine": machine(),
        "model": model_info,
        "params": params.to_json(),
        "lcm_params": lcm_params.to_json(),
        "preview_ms": preview_ms(params.width, params.height),
    }
    base = _previous(args.results) if args.merge else None
    for name in args.configs:
        suite.run(name)
        # After every configuration: a crash late in an hour-long run loses nothing before it.
        results = collect(suite, context, time.perf_counter() - started, base)
        write_json(results, args.results)
        write_markdown(results, args.markdown)
    results = collect(suite, context, time.perf_counter() - started, base)
    print(markdown(results).split("## How it was measured")[0], flush=True)
    log(f"wrote {args.results} and {args.markdown} in {results['wall_seconds'] / 60:.1f} min")
    return 1 if suite.failed else 0


def _previous(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def collect(
    suite: Suite,
    context: dict[str, Any],
    wall_seconds: float,
    base: dict[str, Any] | None = None,
) -> dict[str, Any]:
    service = suite.configs.get("service_http", {})
    probe = service.get("health_during_generation") or {}
    configs = {
        name: {key: value for key, value in config.items() if key != "scaling"}
        for name, config in suite.configs.items()
    }
    results: dict[str, Any] = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": wall_seconds,
        **context,
        "configs": configs,
        "interleaved": suite.turns.get("interleaved"),
        "service_overhead": suite.turns.get("service_overhead"),
        "request_overhead": suite.turns.get("request_overhead"),
        "safety_checker": suite.turns.get(SAFETY_CHECKER),
        "cluster": suite.turns.get(CLUSTER),
        "edit_modes": {name: suite.turns[name] for name in EDIT_MODES if name in suite.turns},
        "skipped": suite.skipped,
        "failed": suite.failed,
        "scaling": service.get("scaling", []),
        "health_p99_ms_during_generation": probe.get("p99_ms"),
        "restart_to_ready_seconds": service.get("restart_to_ready_seconds"),
    }
    if base is not None:
        results = _merged(base, results)
    results["service_engines"] = {
        name: SERVICE_ENGINES[name] for name in results["configs"] if name in SERVICE_ENGINES
    }
    states = [config["machine_before"] for config in results["configs"].values()]
    results["machine_speed_drift"] = drift(states)
    results["ratios"] = ratios(results["configs"], results)
    return results


def _merged(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``base``'s figures with what this invocation measured laid over them.

    The configurations keep their own ``machine_before``; the header names both runs.
    """
    fresh: tuple[str, ...] = ("generated_at", "machine", "failed", "preview_ms")
    if not new["configs"]:
        # Sections alone (the safety checker records its own machine): the header's machine
        # stays the one the configuration table was measured on.
        fresh = ("generated_at", "failed")
    merged = {**base, **{key: new[key] for key in fresh if key in new}}
    merged["configs"] = {**base.get("configs", {}), **new["configs"]}
    measured_once = (
        "interleaved",
        "service_overhead",
        "request_overhead",
        SAFETY_CHECKER,
        CLUSTER,
        "health_p99_ms_during_generation",
        "restart_to_ready_seconds",
    )
    for key in measured_once:
        if new.get(key) is not None:
            merged[key] = new[key]
    if new["scaling"]:
        merged["scaling"] = new["scaling"]
    merged["edit_modes"] = {**(base.get("edit_modes") or {}), **new["edit_modes"]}
    merged["skipped"] = {
        name: why for name, why in base.get("skipped", {}).items() if name not in new["configs"]
    }
    merged["skipped"].update(new["skipped"])
    merged["command"] = f"{base['command']} (on {base['generated_at']}), then {new['command']}"
    merged["wall_seconds"] = base.get("wall_seconds", 0.0) + new["wall_seconds"]
    return merged


if __name__ == "__main__":
    sys.exit(main())
