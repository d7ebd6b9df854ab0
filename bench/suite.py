"""Runs the chosen configurations one after another, recording skips and failures.

A failure is recorded and the run goes on: an hour's measurements are not lost to one
configuration that broke at the end.
"""

from __future__ import annotations

import importlib.util
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.calibration import machine_state
from bench.cluster_throughput import ClusterPlan, missing, run_cluster
from bench.configs import (
    CLUSTER,
    EDIT_MODES,
    INTERLEAVED,
    OWN_SECTIONS,
    RAW_CONFIGS,
    REQUEST_OVERHEAD,
    SAFETY_CHECKER,
    SAFETY_REFERENCES,
    SERVICE_ENGINES,
    TURNS,
    Params,
)
from bench.edit_modes import run_edit_modes
from bench.interleaved import run_interleaved
from bench.machine import machine
from bench.models import PROJECT_ROOT, Models
from bench.raw import run_raw
from bench.request_overhead import OverheadPlan, run_request_overhead
from bench.safety_checker_build import checker_root
from bench.safety_cost import run_safety_cost
from bench.service import ScalePoint, run_service

_NEEDS_OPTIMUM = 'needs the optimum extra: pip install -e ".[optimum]"'
# A check takes a second or so: several of each size for a median, even in --quick.
SAFETY_RUNS = 7


def _optimum_installed() -> bool:
    try:
        return all(
            importlib.util.find_spec(name) is not None
            for name in ("optimum.intel", "diffusers", "torch")
        )
    except ModuleNotFoundError:
        return False


class Suite:
    def __init__(
        self,
        models: Models | None,  # None when only model-free configurations run
        params: Params,
        lcm_params: Params,
        work: Path,
        device: str,
        scaling: Sequence[ScalePoint],
        log: Callable[[str], None],
        overhead_params: Params | None = None,
        request_plan: OverheadPlan | None = None,
        cache: Path | None = None,  # where the safety checker is built (bench/cache/)
    ) -> None:
        self._given_models = models
        self._params = params
        self._lcm_params = lcm_params
        self._work = work
        self._device = device
        self._scaling = scaling
        self._log = log
        self._overhead_params = overhead_params or params
        self._request_plan = request_plan or OverheadPlan()
        self._cache = cache or work.parent
        self.configs: dict[str, dict[str, Any]] = {}
        self.turns: dict[str, dict[str, Any]] = {}  # OWN_SECTIONS' results, by name
        self.skipped: dict[str, str] = {}
        self.failed: dict[str, str] = {}

    def run(self, name: str) -> None:
        reason = self._skip_reason(name)
        if reason:
            self._log(f"{name}: skipped ({reason})")
            self.skipped[name] = reason
            return
        state = machine_state()
        self._log(
            f"{name}: running (machine: {state['matmul_gflops']:.0f} GFLOP/s matmul, "
            f"load average {state['load_average_1min']:.2f})"
        )
        started = time.perf_counter()
        try:
            result = self._run(name)
        except Exception as error:
            self._log(f"{name}: FAILED: {error}")
            self.failed[name] = f"{error}\n{traceback.format_exc()}"
            return
        result["wall_seconds"] = time.perf_counter() - started
        result["machine_before"] = state
        if name in OWN_SECTIONS:
            self.turns[name] = result
            return
        self.configs[name] = result
        self._log(
            f"{name}: {result['seconds_per_image']:.2f} s/image "
            f"(runs {', '.join(f'{s:.2f}' for s in result['runs_seconds'])}), "
            f"peak RSS {(result.get('peak_rss_bytes') or 0) / 2**30:.2f} GiB"
        )

    @property
    def _models(self) -> Models:
        if self._given_models is None:
            raise RuntimeError("this run resolved no models: a model-free configuration only")
        return self._given_models

    def _skip_reason(self, name: str) -> str | None:
        if name == REQUEST_OVERHEAD:
            return None
        if name == CLUSTER:
            return missing()
        if name == SAFETY_CHECKER:
            built = (checker_root(self._cache) / "build.json").is_file()
            return None if built or _optimum_installed() else _NEEDS_OPTIMUM
        if name == "stock_diffusers_fp32" and self._models.diffusers is None:
            return "no PyTorch pipeline: pass --diffusers-dir (the full-size build has one)"
        if name == "genai_fp16_static" and self._models.fp16_openvino is None:
            return "no fp16 export (the full-size build makes one)"
        if name == "lcm_service_http" and self._models.lcm_openvino is None:
            return "no LCM export: pass --lcm-model-dir (the full-size build has one)"
        uses_torch = name.startswith(("optimum", "stock")) or name in (
            "service_http_optimum",
            "edit_modes_optimum",
        )
        if uses_torch and not _optimum_installed():
            return _NEEDS_OPTIMUM
        return None

    def _safety_reference(self) -> dict[str, Any]:
        """A whole image of this run's request on this machine, for the checker's share:
        the service's or raw genai's when this run measured one, else one measured now."""
        for name in SAFETY_REFERENCES:
            if name in self.configs:
                seconds = self.configs[name]["seconds_per_image"]
                return {"config": name, "seconds_per_image": seconds, "when": "earlier"}
        name = "genai_int8_static"
        self._log(f"{SAFETY_CHECKER}: measuring a {name} image to hold the checker against")
        raw = run_raw(name, self._models.openvino, self._work, self._params, self._device)
        return {"config": name, "seconds_per_image": raw["seconds_per_image"], "when": "now"}

    def _run(self, name: str) -> dict[str, Any]:
        if name == SAFETY_CHECKER:
            width, height, work = self._params.width, self._params.height, self._work
            runs = max(self._params.runs, SAFETY_RUNS)
            cost = run_safety_cost(self._cache, work / name, width, height, runs, self._log)
            return {**cost, "machine": machine(), "reference": self._safety_reference()}
        if name == CLUSTER:
            # Rounds of a few seconds each: a median of several, even in --quick.
            plan = ClusterPlan(rounds=max(self._params.runs, ClusterPlan.rounds))
            return run_cluster(self._work / name, plan, self._log)
        if name == REQUEST_OVERHEAD:
            return run_request_overhead(PROJECT_ROOT, self._work, self._request_plan, self._log)
        if name in TURNS:
            interleaved = name == INTERLEAVED
            with_stock = interleaved and self._models.diffusers is not None
            return run_interleaved(
                self._models,
                self._params if interleaved else self._overhead_params,
                self._work,
                self._device,
                self._log,
                with_stock=with_stock and _optimum_installed(),
            )
        if name in EDIT_MODES:
            engine, openvino = EDIT_MODES[name], self._models.openvino
            return run_edit_modes(engine, openvino, self._work, self._params, self._device)
        if name in SERVICE_ENGINES:
            lcm = name == "lcm_service_http"
            model = self._models.lcm_openvino if lcm else self._models.openvino
            assert model is not None  # _skip_reason ruled the missing one out
            return run_service(
                name,
                model,
                SERVICE_ENGINES[name],
                self._lcm_params if lcm else self._params,
                self._work,
                health_probe=name == "service_http",
                scaling=self._scaling if name == "service_http" else (),
                log=self._log,
            )
        model_dir = self._models.openvino
        if name == "stock_diffusers_fp32":
            assert self._models.diffusers is not None
            model_dir = self._models.diffusers
        elif name == "genai_fp16_static":
            assert self._models.fp16_openvino is not None
            model_dir = self._models.fp16_openvino
        elif name not in RAW_CONFIGS and not name.startswith("optimum"):
            raise ValueError(f"unknown configuration {name!r}")
        return run_raw(name, model_dir, self._work, self._params, self._device)
