"""`--merge`: re-measuring some configurations keeps the rest of an earlier results.json."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bench.run import collect


def _config(seconds: float) -> dict[str, Any]:
    state = {"matmul_gflops": 100.0, "load_average_1min": 0.1}
    return {"seconds_per_image": seconds, "machine_before": state}


def test_merging_keeps_earlier_configurations_and_lays_new_ones_over_them() -> None:
    base: dict[str, Any] = {
        "generated_at": "2026-11-01T00:00:00+00:00",
        "command": "make bench",
        "wall_seconds": 100.0,
        "configs": {"stock_diffusers_fp32": _config(300.0), "service_http": _config(120.0)},
        "interleaved": None,
        "skipped": {"genai_fp16_static": "no fp16 export"},
        "scaling": [{"width": 256, "height": 256, "steps": 20, "seconds_per_image": 30.0}],
        "health_p99_ms_during_generation": 19.0,
        "restart_to_ready_seconds": {"cold": 20.0, "cached": 5.0},
    }
    turns = {
        "members": ["genai_int8_static", "service_http", "stock_diffusers_fp32"],
        "rounds": [],
        "service_over_raw": [1.01, 0.99],
        "stock_over_service": [3.0, 3.2],
    }
    suite = SimpleNamespace(
        configs={"service_http": _config(100.0)},
        turns={"interleaved": turns},
        skipped={},
        failed={},
    )
    context = {"command": "python -m bench.run --merge", "machine": {}, "params": {}}

    merged = collect(suite, context, 10.0, base)  # type: ignore[arg-type]

    assert merged["configs"]["stock_diffusers_fp32"]["seconds_per_image"] == 300.0
    assert merged["configs"]["service_http"]["seconds_per_image"] == 100.0
    assert merged["interleaved"] == turns
    assert merged["scaling"] == base["scaling"]  # not re-measured: kept
    assert merged["restart_to_ready_seconds"] == base["restart_to_ready_seconds"]
    assert merged["skipped"] == base["skipped"]
    assert "make bench" in merged["command"] and "--merge" in merged["command"]
    assert merged["ratios"]["stock_over_service_http"]["value"] == 3.0
    assert merged["ratios"]["service_http_over_raw_openvino_in_turns"]["value"] == 1.0
    assert merged["ratios"]["stock_over_service_http_in_turns"]["value"] == 3.1
