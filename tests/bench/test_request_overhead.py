"""request_overhead: its statistics, its section of BENCHMARKS.md, --merge, and one tiny live run.

No timed assertions: the live run checks that figures come back, never what they are.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bench.report_sections import request_overhead_section
from bench.request_overhead_stats import ROUTES, summarize
from bench.run import collect, main

HEALTH, LIVE, IMAGE = ROUTES


def _samples() -> dict[str, dict[str, list[list[float]]]]:
    # Two rounds of two requests; the keyed variant is twice the reference in round 1 only.
    reference = {route: [[1.0, 3.0], [2.0, 2.0]] for route in ROUTES}
    keyed = {route: [[2.0, 6.0], [2.0, 2.0]] for route in ROUTES}
    return {"no_keys": reference, "bearer": keyed}


def test_latency_figures_are_observed_values_over_every_round() -> None:
    summary = summarize(_samples(), "no_keys")

    health = summary["variants"]["no_keys"][HEALTH]
    assert health["count"] == 4
    assert (health["p50_ms"], health["p99_ms"], health["max_ms"]) == (2.0, 3.0, 3.0)
    assert health["mean_ms"] == 2.0
    assert health["p99_even_odd_rounds_ms"] == [3.0, 2.0]


def test_ratios_to_the_reference_are_taken_within_each_round() -> None:
    summary = summarize(_samples(), "no_keys")

    assert summary["reference"] == "no_keys"
    assert set(summary["against_reference"]) == {"bearer"}
    ratio = summary["against_reference"]["bearer"][IMAGE]
    assert ratio["rounds"] == 2
    assert ratio["p50_ratio_median"] == 1.5  # the rounds' ratios: 2.0 and 1.0
    low, high = ratio["p50_ratio_middle_half"]
    assert low <= 1.5 <= high


def test_without_the_reference_there_are_no_ratios() -> None:
    summary = summarize(_samples(), "baseline")

    assert summary["against_reference"] == {}
    assert set(summary["variants"]) == {"no_keys", "bearer"}


def _measured() -> dict[str, Any]:
    return {
        "plan": {"requests": 4, "warmup": 1, "per_round": 2, "image": {}},
        "served_from": {"no_keys": "/here", "bearer": "/here"},
        "skipped": {"session": "POST /session answered 404 without a cookie"},
        **summarize(_samples(), "no_keys"),
    }


def test_the_section_has_a_row_per_variant_and_route_and_names_what_was_skipped() -> None:
    lines = request_overhead_section(_measured())

    assert lines[0] == "## Request overhead"
    rows = [line for line in lines if line.startswith("| `")]
    assert len(rows) == 2 * len(ROUTES)
    bearer_image = next(r for r in rows if r.startswith(f"| `bearer` | `{IMAGE}`"))
    assert "| 1.500 (" in bearer_image  # the per-round ratio, with its middle half
    assert "| 2.000 |" in bearer_image  # p99 over the reference's: 6.0 / 3.0
    assert "- `session` not measured: POST /session answered 404 without a cookie" in lines


def test_no_section_when_it_was_not_measured() -> None:
    assert request_overhead_section(None) == []


def _suite(turns: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(configs={}, turns=turns, skipped={}, failed={})


def test_merging_keeps_an_earlier_measurement_and_replaces_it_with_a_new_one() -> None:
    base = {
        "generated_at": "2026-11-01T00:00:00+00:00",
        "command": "make bench",
        "wall_seconds": 100.0,
        "configs": {},
        "request_overhead": {"reference": "old"},
        "scaling": [],
    }
    context = {"command": "python -m bench.run --merge", "machine": {}, "params": {}}

    kept = collect(_suite({}), context, 1.0, base)  # type: ignore[arg-type]
    fresh = _measured()
    replaced = collect(_suite({"request_overhead": fresh}), context, 1.0, base)  # type: ignore[arg-type]

    assert kept["request_overhead"] == {"reference": "old"}
    assert replaced["request_overhead"] == fresh


@pytest.mark.server
def test_bench_run_measures_the_demo_service_without_building_a_model(tmp_path: Path) -> None:
    results_path, markdown_path = tmp_path / "results.json", tmp_path / "BENCHMARKS.md"
    code = main(
        [
            *("--configs", "request_overhead", "--overhead-requests", "4"),
            # A cache with no models in it: a build would start there and take an hour.
            *("--cache", str(tmp_path / "cache"), "--work", str(tmp_path / "work")),
            *("--results", str(results_path), "--markdown", str(markdown_path)),
        ]
    )

    results = json.loads(results_path.read_text(encoding="utf-8"))
    assert (code, results["failed"]) == (0, {})
    overhead = results["request_overhead"]
    assert overhead["reference"] == "no_keys"
    measured = set(overhead["variants"])
    assert "no_keys" in measured
    assert measured | set(overhead["skipped"]) == {"no_keys", "bearer", "session"}
    for name in measured:
        for route in ROUTES:
            figures = overhead["variants"][name][route]
            assert figures["count"] == 4, (name, route)
            assert figures["p50_ms"] > 0 and figures["p99_ms"] >= figures["p50_ms"]
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
    assert "## Request overhead" in markdown_path.read_text(encoding="utf-8")
