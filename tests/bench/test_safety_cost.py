"""The safety checker's part of `make bench`: what is timed, how the share is reckoned, and
that measuring it alone keeps the rest of results.json. A hand-written checker and clock
stand in for the full-size one: no model is built here."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from application.ports import RenderedImage
from bench.report import markdown, ratios
from bench.run import collect
from bench.safety_cost import noise_images, summary, time_checks


class CountingChecker:
    """Takes one clock tick per image it is asked about; records every call's size."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[int] = []

    def check(self, images: Sequence[RenderedImage]) -> list[None]:
        self.calls.append(len(images))
        self.clock.now += 0.1 * len(images)
        return [None] * len(images)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _process(times: dict[str, list[float]], load: float) -> dict[str, Any]:
    return {
        "load_seconds": load,
        "first_check_seconds": 0.5,
        "rss_before": 100 * 2**20,
        "rss_after": 400 * 2**20,
        "peak_after": 500 * 2**20,
        "times": times,
    }


def _section(one_ms: float, reference: dict[str, Any] | None) -> dict[str, Any]:
    cold = _process({}, 9.0)
    cached = _process({"one_image_ms": [one_ms] * 3, "batch_ms": [4 * one_ms] * 3}, 1.0)
    return {
        **summary(cold, cached),
        "device": "CPU",
        "width": 512,
        "height": 512,
        "runs": 3,
        "build": None,
        "machine": {"cpu_model": "Other CPU", "usable_cpus": 2, "cpu_flags_of_note": ["avx2"]},
        "reference": reference,
    }


def _results(safety: dict[str, Any]) -> dict[str, Any]:
    state = {"matmul_gflops": 100.0, "load_average_1min": 0.1}
    service = {"seconds_per_image": 100.0, "machine_before": state, "runs_seconds": [100.0]}
    return {
        "generated_at": "2026-11-01T00:00:00+00:00",
        "command": "make bench",
        "wall_seconds": 100.0,
        "machine": {
            "cpu_model": "Header CPU",
            "cpu_flags_of_note": [],
            "usable_cpus": 2,
            "logical_cpus": 2,
            "memory_bytes": 2**34,
            "versions": {},
        },
        "model": {"description": "full size"},
        "params": {
            "prompt": "p",
            "seed": 1,
            "width": 512,
            "height": 512,
            "steps": 20,
            "guidance_scale": 7.5,
            "runs": 1,
        },
        "lcm_params": {"steps": 4, "guidance_scale": 1.0},
        "configs": {"service_http": service},
        "safety_checker": safety,
        "skipped": {},
        "failed": {},
    }


def test_the_warm_up_of_each_size_is_left_out_and_the_sizes_alternate() -> None:
    clock = FakeClock()
    checker = CountingChecker(clock)

    times = time_checks(checker, noise_images(16, 8, 4), runs=3, clock=clock)

    assert checker.calls == [1, 4, 1, 4, 1, 4, 1, 4]
    assert [round(t) for t in times["one_image_ms"]] == [100, 100, 100]
    assert [round(t) for t in times["batch_ms"]] == [400, 400, 400]


def _reported(results: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The share's row among the targets, and BENCHMARKS.md."""
    results["ratios"] = ratios(results["configs"], results)
    return results["ratios"]["safety_check_over_service_image"], markdown(results)


def test_noise_images_have_the_run_size_in_rgb_bytes() -> None:
    images = noise_images(24, 16, 2)

    assert [(i.width, i.height, len(i.rgb), i.seed) for i in images] == [
        (24, 16, 24 * 16 * 3, 0),
        (24, 16, 24 * 16 * 3, 1),
    ]


def test_summary_gives_medians_per_image_and_the_memory_the_load_added() -> None:
    figures = _section(250.0, None)

    assert figures["one_image_ms"] == 250.0
    assert figures["batch_per_image_ms"] == 250.0
    assert figures["compile_seconds_cold"] == 9.0
    assert figures["load_seconds_cached"] == 1.0
    assert figures["rss_added_bytes"] == 300 * 2**20
    assert figures["peak_rss_added_bytes"] == 400 * 2**20


def test_the_share_is_held_against_the_image_measured_on_the_same_machine() -> None:
    reference = {"config": "genai_int8_static", "seconds_per_image": 500.0, "when": "now"}
    row, text = _reported(_results(_section(2000.0, reference)))

    assert (row["value"], row["met"]) == (0.004, True)
    assert row["against"].startswith("genai_int8_static")
    assert "## The safety checker" in text
    assert "**Measured on another host than the rows above: Other CPU" in text


def test_without_its_own_reference_the_share_uses_the_service_row() -> None:
    row, text = _reported(_results(_section(6000.0, None)))

    assert (row["value"], row["met"]) == (0.06, False)
    assert "measured at another time" in text


def test_measuring_the_checker_alone_keeps_the_header_machine_and_the_tables() -> None:
    base = _results({})
    del base["safety_checker"]
    reference = {"config": "genai_int8_static", "seconds_per_image": 500.0, "when": "now"}
    suite = SimpleNamespace(
        configs={}, turns={"safety_checker": _section(1000.0, reference)}, skipped={}, failed={}
    )
    context: dict[str, Any] = {
        "command": "python -m bench.run --configs safety_checker --merge",
        "machine": {"cpu_model": "Other CPU"},
    }

    merged = collect(suite, context, 10.0, base)  # type: ignore[arg-type]

    assert merged["machine"]["cpu_model"] == "Header CPU"
    assert merged["configs"] == base["configs"]
    assert merged["safety_checker"]["one_image_ms"] == 1000.0
    assert merged["ratios"]["safety_check_over_service_image"]["value"] == 0.002
