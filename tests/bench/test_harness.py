"""The benchmark harness end to end on the tiny models, so `make bench` does not rot.

Two steps at 64x64, one run each: raw openvino-genai in its worker process, the service
as a uvicorn process (genai), and the LCM service. Structure only: no timed assertions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.run import main

pytestmark = [pytest.mark.openvino, pytest.mark.server]

CONFIGS = ("genai_int8_dynamic", "service_http", "lcm_service_http")


def test_harness_writes_results_and_tables(
    tiny_model_dir: Path, tiny_lcm_model_dir: Path, tmp_path: Path
) -> None:
    results_path, markdown_path = tmp_path / "results.json", tmp_path / "BENCHMARKS.md"
    code = main(
        [
            *("--configs", ",".join((*CONFIGS, "interleaved", "service_overhead"))),
            *("--overhead-rounds", "2"),
            *("--model-dir", str(tiny_model_dir)),
            *("--lcm-model-dir", str(tiny_lcm_model_dir)),
            *("--width", "64", "--height", "64", "--steps", "2", "--runs", "1"),
            *("--lcm-steps", "2"),
            *("--scale-sizes", "64,96", "--scale-steps", "2,3"),
            *("--work", str(tmp_path / "work")),
            *("--results", str(results_path), "--markdown", str(markdown_path)),
        ]
    )

    results = json.loads(results_path.read_text(encoding="utf-8"))
    assert (code, results["failed"]) == (0, {})
    assert set(results["configs"]) == set(CONFIGS)
    for name, config in results["configs"].items():
        assert isinstance(config["seconds_per_image"], float), name
        assert config["seconds_per_image"] > 0, name
        assert isinstance(config["peak_rss_bytes"], int), name
        assert config["peak_rss_bytes"] > 0, name
        assert len(config["runs_seconds"]) == 1, name
    raw = results["configs"]["genai_int8_dynamic"]
    assert raw["unet_calls_per_image"] == 3  # PNDM: N + 1 UNet calls for N steps
    for stage in ("text_encoder_seconds", "vae_decode_seconds", "png_seconds"):
        assert isinstance(raw[stage], float), stage
    assert isinstance(raw["load_seconds_cold"], float)
    assert isinstance(raw["load_seconds_cached"], float)
    service = results["configs"]["service_http"]
    assert service["device"]  # the one that ran it: the GPU asked for, or the CPU fallback
    assert service["generation_seconds"] is not None
    assert isinstance(results["health_p99_ms_during_generation"], float)
    assert set(results["restart_to_ready_seconds"]) == {"cold", "cached"}
    assert [(p["width"], p["steps"]) for p in results["scaling"]] == [(64, 2), (96, 2), (64, 3)]
    assert results["machine"]["versions"]["openvino"]
    assert results["machine"]["cpu_model"]
    assert "service_http_over_fastest_raw_openvino" in results["ratios"]
    assert isinstance(results["preview_ms"], float)
    assert "preview_over_unet_step" in results["ratios"]
    # No PyTorch pipeline was given, so the turns are the service and raw genai alone.
    turns = results["interleaved"]
    assert turns["members"] == ["genai_int8_static", "service_http"]
    assert len(turns["rounds"]) == 1 and len(turns["service_over_raw"]) == 1
    assert "service_http_over_raw_openvino_in_turns" in results["ratios"]
    short = results["service_overhead"]
    assert short["members"] == ["genai_int8_static", "service_http"]
    assert len(short["rounds"]) == 2 and short["params"]["steps"] == 2
    assert "service_http_over_raw_openvino_short_turns" in results["ratios"]

    markdown = markdown_path.read_text(encoding="utf-8")
    assert "## Machine" in markdown and "## Seconds per image" in markdown
    for name in CONFIGS:
        assert f"| `{name}` |" in markdown
    assert "## Targets" in markdown and "## How the service's cost grows" in markdown
    assert "## In turns" in markdown and "## A live preview's cost" in markdown
