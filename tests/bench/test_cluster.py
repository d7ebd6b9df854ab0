"""The cluster's part of `make bench`: how its figures are reckoned, its section, that it
skips without redis-server, that measuring it alone keeps the rest of results.json, and
(with redis-server) a small real run: mock workers, the service and Redis, all on loopback."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bench.cluster_report import cluster_section
from bench.cluster_throughput import ClusterPlan, progress_lags_ms, run_cluster, throughput_row
from bench.configs import DEFAULT_CONFIGS, MODEL_FREE, Params
from bench.report import markdown
from bench.run import collect
from bench.suite import Suite

PLAN = ClusterPlan()  # 8 jobs of 20 steps of 0.1 s a round


def _latency(pace: float, embedded_ms: float, cluster_ms: float) -> dict[str, Any]:
    return {
        "step_seconds": pace,
        "embedded": {"median_ms": embedded_ms, "lags_ms": [embedded_ms] * 20},
        "cluster": {"median_ms": cluster_ms, "lags_ms": [cluster_ms] * 19},
        "added_ms": cluster_ms - embedded_ms,
    }


def _section(cpu: str = "Header CPU") -> dict[str, Any]:
    return {
        "plan": {**PLAN.__dict__},
        "throughput": [
            throughput_row(1, [16.8, 17.0, 17.4], PLAN),
            throughput_row(2, [8.5], PLAN),
        ],
        "progress_latency": [_latency(0.1, 4.0, 108.0), _latency(0.13, 9.0, 70.0)],
        "machine": {"cpu_model": cpu, "usable_cpus": 2, "cpu_flags_of_note": []},
        "code": {"commit": "abc1234", "uncommitted": []},
    }


def test_the_overhead_is_a_worker_s_time_per_job_beyond_its_paced_steps() -> None:
    one = throughput_row(1, [16.8, 17.0, 17.4], PLAN)
    two = throughput_row(2, [8.5], PLAN)

    assert one["wall_seconds"] == 17.0  # the median round
    assert one["jobs_per_minute"] == pytest.approx(8 / 17.0 * 60)
    assert one["overhead_ms_per_job"] == pytest.approx((17.0 / 8 - 2.0) * 1000)  # 125
    assert two["overhead_ms_per_job"] == pytest.approx((8.5 * 2 / 8 - 2.0) * 1000)  # 125


def test_a_progress_event_s_lag_counts_from_started_and_its_step_s_pacing() -> None:
    events: list[tuple[float, str, dict[str, Any]]] = [
        (10.0, "queued", {"queue_position": 1}),
        (11.0, "started", {"device": "mock"}),
        (11.15, "progress", {"step": 1, "total": 2}),
        (11.22, "progress", {"step": 2, "total": 2}),
        (11.3, "succeeded", {}),
    ]

    assert progress_lags_ms(events, 0.1) == pytest.approx([50.0, 20.0])
    with pytest.raises(RuntimeError, match="started"):
        progress_lags_ms(events[2:], 0.1)


def test_the_section_has_a_row_per_worker_count_and_per_pace() -> None:
    text = "\n".join(
        cluster_section({"cluster": _section(), "machine": {"cpu_model": "Header CPU"}})
    )

    assert "## Several machines, one queue" in text
    assert "| 1 | 17.00 (16.80, 17.00, 17.40) | 28.2 | 1.00 (1) | 125 ms |" in text
    assert "| 2 | 8.50 (8.50) | 56.5 | 2.00 (2) | 125 ms |" in text
    assert "| 0.1 s | 4 ms (20 events) | 108 ms (19 events) | **104 ms** |" in text
    assert "| 0.13 s | 9 ms (20 events) | 70 ms (19 events) | **61 ms** |" in text
    assert "the PNG the service writes" in text and "every 0.1 s" in text
    assert "`abc1234`" in text and "another host" not in text
    assert cluster_section({"cluster": None}) == []


def test_measuring_the_cluster_alone_keeps_the_header_machine_and_the_tables() -> None:
    state = {"matmul_gflops": 100.0, "load_average_1min": 0.1}
    service = {"seconds_per_image": 100.0, "machine_before": state, "runs_seconds": [100.0]}
    base: dict[str, Any] = {
        "generated_at": "2026-11-01T00:00:00+00:00",
        "command": "make bench",
        "wall_seconds": 100.0,
        "machine": {"cpu_model": "Header CPU", "cpu_flags_of_note": [], "usable_cpus": 2},
        "params": Params().to_json(),
        "lcm_params": {"steps": 4, "guidance_scale": 1.0},
        "model": {"description": "full size"},
        "configs": {"service_http": service},
        "restart_to_ready_seconds": {"cold": 20.0, "cached": 5.0},
        "skipped": {},
        "failed": {},
    }
    suite = SimpleNamespace(
        configs={}, turns={"cluster": _section("Other CPU")}, skipped={}, failed={}
    )
    context = {"command": "python -m bench.run --configs cluster --merge", "machine": {}}

    merged = collect(suite, context, 10.0, base)  # type: ignore[arg-type]

    assert merged["machine"]["cpu_model"] == "Header CPU"
    assert merged["configs"] == base["configs"]
    assert merged["restart_to_ready_seconds"] == base["restart_to_ready_seconds"]
    assert merged["cluster"]["throughput"][1]["workers"] == 2
    merged["machine"].update(logical_cpus=2, memory_bytes=2**34, versions={})
    text = markdown(merged)
    assert "**Measured on another host than the rows above: Other CPU" in text
    nothing = SimpleNamespace(configs={}, turns={}, skipped={}, failed={})
    again = collect(nothing, context, 1.0, merged)  # type: ignore[arg-type]
    assert again["cluster"] == merged["cluster"]


def test_make_bench_runs_it_without_a_model_and_skips_it_without_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "cluster" in DEFAULT_CONFIGS and "cluster" in MODEL_FREE
    monkeypatch.setattr(shutil, "which", lambda name: None)
    suite = Suite(None, Params(), Params(), tmp_path, "CPU", [], lambda message: None)

    suite.run("cluster")

    assert suite.skipped["cluster"].startswith("needs redis-server")
    assert suite.failed == {} and suite.turns == {}


@pytest.mark.cluster
@pytest.mark.server
def test_a_small_real_run_measures_every_worker_count_and_both_paces(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server (Debian: apt-get install redis-server)")
    plan = ClusterPlan(
        worker_counts=(1, 2),
        jobs=2,
        steps=3,
        step_seconds=0.05,
        drifting_step_seconds=0.07,
        rounds=1,
        latency_jobs=1,
        blocker_steps=4,
    )

    found = run_cluster(tmp_path / "cluster", plan, lambda message: None)

    assert [row["workers"] for row in found["throughput"]] == [1, 2]
    for row in found["throughput"]:
        # At least the paced steps: 2 jobs of 3 x 0.05 s, one after another or side by side.
        assert row["wall_seconds"] >= 2 * 0.15 / row["workers"]
    assert [pace["step_seconds"] for pace in found["progress_latency"]] == [0.05, 0.07]
    for pace in found["progress_latency"]:
        assert pace["cluster"]["lags_ms"] and pace["embedded"]["lags_ms"]
    assert found["code"]["commit"]
