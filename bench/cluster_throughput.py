"""What "several machines, one queue" costs: jobs per minute with 1, 2 and 4 workers, the
cluster's own time per job, and the latency it adds to a progress event.

Why mock workers: their steps are paced (``MOCK_STEP_SECONDS``), so a render's own time is
known exactly and whatever the wall time holds beyond it is the cluster's: HTTP, the
service's queue, SAQ on Redis, the service reading each render every 0.1 s, the pixels'
way back and the PNG. No model is needed.

For each worker count N: a fresh `redis-server` on loopback, N `local-sd worker` processes
(``USE_MOCKS=true``), the service with ``QUEUE_URL`` and ``LOCAL_WORKER=false`` (every
image is a worker's); once `/health` lists N workers, one unmeasured wave of N short jobs,
then ``rounds`` rounds of M jobs posted at once by one client, each round timed until the
last job is seen succeeded (polled every 20 ms); the median round is reported.

Progress latency: through 1 worker, and on the embedded service (no ``QUEUE_URL``, the same
pacing), a few jobs' event streams are read, each job queued behind a short one so its
stream sees ``started`` live. Each ``progress`` event's lag = received - ``started``
received - step x step seconds; the cluster's median less the embedded one is what the
cluster adds. Once at the 0.1 s steps, which beat in time with the service's 0.1 s reads
of a render (the lag is then one phase of those reads for a whole job), and once at steps
off that beat, whose lags sweep every phase, as an engine's uneven steps do.
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.machine import code_state, machine
from bench.stats import median
from tests.support.cluster_workers import running_worker
from tests.support.live_server import LiveServer, live_server
from tests.support.redis_server import running_redis
from tests.support.sse import parse_events

Event = tuple[float, str, dict[str, Any]]  # (perf_counter when received, kind, data)
FINAL = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class ClusterPlan:
    worker_counts: tuple[int, ...] = (1, 2, 4)
    jobs: int = 8  # posted at once, per round
    steps: int = 20
    size: int = 256
    step_seconds: float = 0.1
    rounds: int = 3
    latency_jobs: int = 3  # streamed jobs per service, their progress events pooled
    blocker_steps: int = 10  # the job each streamed one waits behind
    # Off the beat of the service's 0.1 s reads of a render: their phase sweeps the step.
    drifting_step_seconds: float = 0.13


def missing() -> str | None:
    """Why this machine cannot run the cluster, or None."""
    if shutil.which("redis-server") is None:
        return "needs redis-server (Debian: apt-get install redis-server)"
    if importlib.util.find_spec("saq") is None:
        return 'needs the cluster extra: pip install -e ".[cluster]"'
    return None


def progress_lags_ms(events: Sequence[Event], step_seconds: float) -> list[float]:
    """Each ``progress`` event's lag behind its step's pacing, from ``started``'s arrival."""
    started = next((t for t, kind, _ in events if kind == "started"), None)
    if started is None:
        raise RuntimeError("the stream never saw `started`: the job began before it opened")
    return [
        (t - started - data["step"] * step_seconds) * 1000
        for t, kind, data in events
        if kind == "progress" and t >= started
    ]


def throughput_row(workers: int, walls: Sequence[float], plan: ClusterPlan) -> dict[str, Any]:
    """The median round's figures; the overhead is the worker-seconds a job took beyond its
    paced steps: (wall x N / M - steps x step seconds)."""
    wall = median(walls)
    own = wall * workers / plan.jobs - plan.steps * plan.step_seconds
    return {
        "workers": workers,
        "rounds_seconds": list(walls),
        "wall_seconds": wall,
        "jobs_per_minute": plan.jobs / wall * 60,
        "overhead_ms_per_job": own * 1000,
    }


def run_cluster(work: Path, plan: ClusterPlan, log: Callable[[str], None]) -> dict[str, Any]:
    shutil.rmtree(work, ignore_errors=True)  # fresh galleries and logs
    work.mkdir(parents=True)
    rows = []
    for n in plan.worker_counts:
        with (
            _cluster(work / f"{n}-workers", n, plan.step_seconds) as server,
            _client(server) as http,
        ):
            _wave(http, plan, n, steps=2)  # warm-up: each worker's first job
            walls = [_wave(http, plan, plan.jobs, plan.steps) for _ in range(plan.rounds)]
        rows.append(row := throughput_row(n, walls, plan))
        rounds = ", ".join(f"{s:.2f}" for s in row["rounds_seconds"])
        log(f"  {n} worker(s): {row['jobs_per_minute']:.1f} jobs/min, overhead "
            f"{row['overhead_ms_per_job']:.0f} ms/job (rounds {rounds} s)")  # fmt: skip
    latency = []
    for pace in (plan.step_seconds, plan.drifting_step_seconds):
        latency.append(found := _latency(work / f"latency-{pace:g}s", plan, pace))
        log(f"  a progress event at {pace:g} s steps: {found['added_ms']:+.0f} ms in the cluster")
    return {
        "plan": asdict(plan),
        "throughput": rows,
        "progress_latency": latency,
        "machine": machine(),
        "code": code_state(),
    }


def _latency(folder: Path, plan: ClusterPlan, pace: float) -> dict[str, Any]:
    """Progress events' lags at ``pace`` through one worker, then on the embedded service."""
    lags = {}
    with _cluster(folder / "cluster", 1, pace) as server, _client(server) as http:
        lags["cluster"] = _stream_lags(http, plan, pace)
    embedded = {**_common_env(folder / "embedded"), "USE_MOCKS": "true"}
    embedded["MOCK_STEP_SECONDS"] = str(pace)
    with live_server(embedded, folder / "embedded.log") as server, _client(server) as http:
        lags["embedded"] = _stream_lags(http, plan, pace)
    found: dict[str, dict[str, Any]] = {
        name: {"median_ms": median(ms), "lags_ms": ms} for name, ms in lags.items()
    }
    added = found["cluster"]["median_ms"] - found["embedded"]["median_ms"]
    return {"step_seconds": pace, **found, "added_ms": added}


def _client(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=60)


def _common_env(folder: Path) -> dict[str, str]:
    (folder / "model").mkdir(parents=True, exist_ok=True)  # empty: the service has no model
    return {
        "GENERATED_DIR": str(folder / "generated"),
        "MODEL_DIR": str(folder / "model"),
        "MAX_QUEUE": "256",
        "MAX_QUEUED_PER_CLIENT": "256",
    }


@contextmanager
def _cluster(folder: Path, workers: int, pace: float) -> Iterator[LiveServer]:
    """redis-server, ``workers`` mock workers and the service, once /health lists them."""
    with ExitStack() as stack:
        redis = stack.enter_context(running_redis(folder / "redis"))
        env = {"QUEUE_URL": redis.url, "USE_MOCKS": "true"}
        env["MOCK_STEP_SECONDS"] = str(pace)
        for i in range(workers):
            stack.enter_context(running_worker(env, folder / f"worker-{i}.log"))
        served = {**_common_env(folder), "QUEUE_URL": redis.url, "LOCAL_WORKER": "false"}
        server = stack.enter_context(live_server(served, folder / "server.log"))
        server.wait_for_health(
            lambda h: len((h.get("cluster") or {}).get("workers") or []) == workers,
            f"/health to list {workers} worker(s)",
            timeout=90,
        )
        server.wait_until_ready(timeout=60)
        yield server


def _submit(http: httpx.Client, plan: ClusterPlan, seed: int, steps: int) -> str:
    body = {"prompt": "a lighthouse at dusk", "seed": seed, "num_inference_steps": steps}
    answer = http.post("/jobs", json={**body, "width": plan.size, "height": plan.size})
    if answer.status_code != 202:
        raise RuntimeError(f"POST /jobs answered {answer.status_code}: {answer.text[:300]}")
    job_id: str = answer.json()["job_id"]
    return job_id


def _wave(http: httpx.Client, plan: ClusterPlan, jobs: int, steps: int) -> float:
    """Seconds from the first POST until all ``jobs`` are seen succeeded."""
    started = time.perf_counter()
    ids = [_submit(http, plan, seed, steps) for seed in range(jobs)]
    for job_id in ids:  # they end roughly in order: one job polled at a time
        while (job := http.get(f"/jobs/{job_id}").json())["status"] in ("queued", "running"):
            time.sleep(0.02)
        if job["status"] != "succeeded":
            raise RuntimeError(f"job {job_id} ended {job['status']}: {job.get('error')}")
    return time.perf_counter() - started


def _stream_lags(http: httpx.Client, plan: ClusterPlan, pace: float) -> list[float]:
    lags: list[float] = []
    for seed in range(plan.latency_jobs):
        _submit(http, plan, 1000 + seed, plan.blocker_steps)  # holds the only slot a while
        job_id = _submit(http, plan, seed, plan.steps)
        events: list[Event] = []
        with http.stream("GET", f"/jobs/{job_id}/events") as stream:
            for event in parse_events(stream.iter_lines()):
                events.append((time.perf_counter(), event.kind, event.data))
                if event.kind in FINAL:
                    break
        if events[-1][1] != "succeeded":
            raise RuntimeError(f"streamed job {job_id} ended {events[-1][1]}: {events[-1][2]}")
        lags += progress_lags_ms(events, pace)
    return lags
