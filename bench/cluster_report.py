"""The cluster's section of BENCHMARKS.md (bench/cluster_throughput.py).

No target row: no bound was set for the cluster; the figures say what a queue on Redis
costs a job, for a reader weighing one PC against several.
"""

from __future__ import annotations

from typing import Any

from bench.report_sections import other_host


def cluster_section(results: dict[str, Any]) -> list[str]:
    cluster = results.get("cluster")
    if not cluster or not cluster.get("throughput"):
        return []
    plan, rows = cluster["plan"], cluster["throughput"]
    work_ms = plan["steps"] * plan["step_seconds"] * 1000
    lines = [
        "## Several machines, one queue",
        "",
        f"Mock workers (`USE_MOCKS=true`, each step paced to {plan['step_seconds']:g} s, so "
        f"a {plan['steps']}-step render is {work_ms / 1000:g} s of work) on a fresh loopback "
        "`redis-server`, and the service with `QUEUE_URL` and `LOCAL_WORKER=false`: every "
        "image is made by a `local-sd worker` process and comes back through Redis (SAQ). "
        f"A round posts {plan['jobs']} jobs of {plan['steps']} steps at "
        f"{plan['size']}x{plan['size']} at once (`POST /jobs`, one client) and ends when the "
        f"last is seen succeeded; the median of {plan['rounds']} rounds, after a warm-up job "
        "per worker.",
        "",
        *_machine_note(results, cluster),
        *_one_host(cluster, max(rows, key=lambda row: row["workers"])["workers"]),
        f"| workers | s per round ({plan['jobs']} jobs) | jobs per minute "
        "| over 1 worker's (ideal) | the cluster's own time per job |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    one = next((r["jobs_per_minute"] for r in rows if r["workers"] == 1), None)
    for row in rows:
        rounds = ", ".join(f"{s:.2f}" for s in row["rounds_seconds"])
        scale = f"{row['jobs_per_minute'] / one:.2f} ({row['workers']})" if one else "-"
        lines.append(
            f"| {row['workers']} | {row['wall_seconds']:.2f} ({rounds}) "
            f"| {row['jobs_per_minute']:.1f} | {scale} | {row['overhead_ms_per_job']:.0f} ms |"
        )
    lines += [
        "",
        "The cluster's own time per job is (round seconds x workers / jobs - "
        f"{plan['steps']} x {plan['step_seconds']:g} s): what a job held a worker beyond its "
        "paced steps. It includes the HTTP requests, the service's queue, SAQ's enqueue and "
        "a worker's pickup, the pixels' way back, the PNG the service writes, and the "
        "service's reading of each render every 0.1 s (up to 0.1 s to see a finished one, "
        "during which no next job starts on that worker).",
        "",
        *_latency(cluster),
        *_code_note(cluster.get("code") or {}),
    ]
    return lines


def _latency(cluster: dict[str, Any]) -> list[str]:
    paces = cluster.get("progress_latency") or []
    if not paces:
        return []
    plan = cluster["plan"]
    lines = [
        f"A progress event's latency: {plan['latency_jobs']} jobs' `GET /jobs/{{id}}/events` "
        "streams on each service, every job queued behind a short one so that its stream "
        "sees `started` live; for each `progress` event, lag = its arrival - `started`'s "
        "arrival - step x step seconds; medians over the jobs' events.",
        "",
        "| step | embedded (no `QUEUE_URL`) | 1 worker through Redis | added by the cluster |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for pace in paces:
        local, remote = pace["embedded"], pace["cluster"]
        lines.append(
            f"| {pace['step_seconds']:g} s | {local['median_ms']:.0f} ms "
            f"({len(local['lags_ms'])} events) | {remote['median_ms']:.0f} ms "
            f"({len(remote['lags_ms'])} events) | **{pace['added_ms']:.0f} ms** |"
        )
    return [
        *lines,
        "",
        "The service reads a remote render's state every 0.1 s. Steps of 0.1 s beat in time "
        "with those reads: each job's reads keep one phase against its steps, so all of a "
        "job's events wait about as long for a read, anywhere up to 0.1 s, on top of the "
        "way through Redis. Steps off "
        "that beat (an engine's are seconds long and uneven) meet the reads at every phase: "
        "that row is the added latency to expect, on average.",
        "",
    ]


def _one_host(cluster: dict[str, Any], most: int) -> list[str]:
    cores = (cluster.get("machine") or {}).get("usable_cpus")
    if not cores:
        return []
    return [
        f"Every process (the service, Redis and up to {most} workers) shared this one host's "
        f"{cores} usable cores, as no classroom's would: there each worker has a PC of its own.",
        "",
    ]


def _code_note(code: dict[str, Any]) -> list[str]:
    if not code.get("commit"):
        return []
    changed = code.get("uncommitted") or []
    extra = f", with uncommitted changes to {', '.join(changed)}" if changed else ""
    return [f"The service and workers ran the code at `{code['commit']}`{extra}.", ""]


def _machine_note(results: dict[str, Any], cluster: dict[str, Any]) -> list[str]:
    note = other_host(cluster, results.get("machine"))
    return [] if note is None else [f"**{note}**.", ""]
