"""The three-mode bench rows: their inputs, their section, and the worker on the tiny model.

Structure only: no timed assertions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.configs import DEFAULT_CONFIGS, Params
from bench.edit_modes import centred_mask, modes, synthetic_rgb
from bench.edit_modes_report import edit_modes_section, edit_modes_targets
from bench.run import main
from domain.input_image import EditMode

GIB = 2**30


def test_inputs_are_deterministic_and_the_mask_repaints_the_middle_only() -> None:
    assert synthetic_rgb(64, 48) == synthetic_rgb(64, 48)
    assert len(synthetic_rgb(64, 48)) == 64 * 48 * 3
    mask = np.frombuffer(centred_mask(64, 48), dtype=np.uint8).reshape(48, 64)
    assert mask[24, 32] == 255 and mask[0, 0] == 0 and mask[47, 63] == 0
    assert 0 < (mask > 127).mean() < 0.5  # an ellipse inside the middle half of each side


def test_the_modes_are_text_then_image_to_image_at_half_then_inpainting() -> None:
    params = Params(width=64, height=64, steps=20)
    planned = modes(params)
    assert [m.request.mode for m in planned] == list(EditMode)
    assert [m.request.denoising_steps for m in planned] == [20, 10, 15]
    text, img2img, inpainting = planned
    assert text.edit is None
    assert img2img.edit is not None and img2img.edit.mask is None
    assert inpainting.edit is not None and inpainting.edit.mask is not None
    assert (inpainting.request.width, inpainting.request.height) == (64, 64)


def _run(ratio: float) -> dict[str, Any]:
    def mode(name: str, strength: float | None, steps: int, seconds: float) -> dict[str, Any]:
        return {
            "mode": name,
            "strength": strength,
            "denoising_steps": steps,
            "seconds_per_image": seconds,
            "seconds_over_text_to_image": None if strength is None else seconds / 100,
            "unet_call_seconds": 4.5,
            "unet_calls_per_image": steps + 1,
            "text_encoder_seconds": 0.1,
            "vae_encode_seconds": None if strength is None else 2.5,
            "vae_decode_seconds": 5.0,
            "warmup_seconds": seconds + 20,
            "peak_rss_bytes": 5 * GIB,
        }

    return {
        "engine": "genai",
        "device": "CPU",
        "width": 512,
        "height": 512,
        "steps": 20,
        "guidance_scale": 7.5,
        "runs": 2,
        "load_seconds": 19.0,
        "modes": [
            mode("text_to_image", None, 20, 100.0),
            mode("image_to_image", 0.5, 10, 55.0),
            mode("inpainting", 0.75, 15, 80.0),
        ],
        "text_alone_peak_rss_bytes": 5 * GIB,
        "all_modes_peak_rss_bytes": int(5 * GIB * ratio),
        "all_modes_over_text_alone": ratio,
    }


def test_the_section_has_a_row_per_mode_and_the_memory_figure() -> None:
    lines = edit_modes_section({"edit_modes": _run(1.04)})
    text = "\n".join(lines)
    assert "## Editing images: three modes on one loaded engine" in text
    rows = [line for line in lines if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[0] for row in rows] == [
        "| text-to-image",
        "| image-to-image",
        "| inpainting",
    ]
    assert "| 0.5 | 10 | 55.00 | 0.550 | 4.50 x 11 |" in rows[1]
    assert "1.040 of it, within the 10 %" in text
    assert edit_modes_section(None) == [] and edit_modes_section({}) == []
    text_only = {"genai_int8_static": {"peak_rss_bytes": 4 * GIB}}
    against = "\n".join(edit_modes_section({"edit_modes": _run(1.04)}, text_only))
    assert "peaked at 4.00 GiB; `edit_modes` serving text-to-image alone at 5.00 GiB" in against
    assert "(1.250 of it), all three modes at 5.20 GiB (1.300 of it)" in against


def test_the_memory_target_is_met_within_ten_percent_only() -> None:
    met = edit_modes_targets({"edit_modes": {"edit_modes": _run(1.08)}})
    missed = edit_modes_targets({"edit_modes": {"edit_modes": _run(1.2)}})
    key = "edit_modes_peak_rss_all_modes_over_text_alone"
    assert (met[key]["met"], missed[key]["met"]) == (True, False)
    assert "**not within**" in "\n".join(edit_modes_section({"edit_modes": _run(1.2)}))
    assert edit_modes_targets({}) == {}


def test_make_bench_runs_the_modes_next_to_text_to_image() -> None:
    assert "edit_modes" in DEFAULT_CONFIGS and "edit_modes_optimum" not in DEFAULT_CONFIGS
    assert DEFAULT_CONFIGS.index("edit_modes") > DEFAULT_CONFIGS.index("genai_int8_static")


@pytest.mark.openvino
def test_the_worker_serves_the_three_modes_on_the_tiny_model(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    results_path, markdown_path = tmp_path / "results.json", tmp_path / "BENCHMARKS.md"
    code = main(
        [
            *("--configs", "edit_modes"),
            *("--model-dir", str(tiny_model_dir)),
            *("--width", "64", "--height", "64", "--steps", "4", "--runs", "1"),
            *("--work", str(tmp_path / "work")),
            *("--results", str(results_path), "--markdown", str(markdown_path)),
        ]
    )
    results = json.loads(results_path.read_text(encoding="utf-8"))
    assert (code, results["failed"]) == (0, {})
    run = results["edit_modes"]["edit_modes"]
    assert [m["mode"] for m in run["modes"]] == [mode.value for mode in EditMode]
    assert [m["denoising_steps"] for m in run["modes"]] == [4, 2, 3]
    for mode in run["modes"]:
        assert mode["seconds_per_image"] > 0 and len(mode["runs_seconds"]) == 1
        assert mode["unet_calls_per_image"] >= mode["denoising_steps"]
        assert mode["peak_rss_bytes"] > 0
    assert [m["vae_encode_seconds"] is not None for m in run["modes"]] == [False, True, True]
    peaks = [m["peak_rss_bytes"] for m in run["modes"]]
    assert peaks == sorted(peaks)  # a peak so far never falls
    assert run["all_modes_over_text_alone"] == run["peak_rss_bytes"] / peaks[0]
    assert "edit_modes_peak_rss_all_modes_over_text_alone" in results["ratios"]
    assert not (tmp_path / "work" / "ov-cache" / "edit_modes").exists()
    markdown = markdown_path.read_text(encoding="utf-8")
    assert "## Editing images: three modes on one loaded engine" in markdown
