"""Several machines, one queue: a real service, real `local-sd worker` processes, a real
redis-server, talking through SAQ exactly as on a classroom's PCs (one loopback here).

The workers run the mock backend, paced so that a render lasts long enough to be watched,
cancelled or cut off. The service has no backend of its own (LOCAL_WORKER=false): every
image it stores was rendered by a worker and came back through Redis.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from adapters.mock_backend import MockBackend
from domain.generation_request import GenerationRequest
from tests.support.cluster_workers import WorkerProcess, running_worker
from tests.support.live_server import LiveServer, live_server
from tests.support.redis_server import RedisServer, running_redis
from tests.support.sse import parse_events
from tests.support.waiting import wait_until

STEP_SECONDS = "0.05"


def worker_env(redis: RedisServer) -> dict[str, str]:
    return {"QUEUE_URL": redis.url, "USE_MOCKS": "true", "MOCK_STEP_SECONDS": STEP_SECONDS}


def service_env(redis: RedisServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "QUEUE_URL": redis.url,
        "LOCAL_WORKER": "false",
        "GENERATED_DIR": str(tmp_path / "generated"),
        "MODEL_DIR": str(tmp_path / "model"),
        "WORKER_HEARTBEAT_SECONDS": "3",
        # A preview at every step the service sees: it reads a render every 0.1 s.
        "PREVIEW_EVERY": "1",
        **extra,
    }


class Cluster:
    def __init__(self, server: LiveServer, workers: list[WorkerProcess]) -> None:
        self.server = server
        self.workers = workers
        self.http = httpx.Client(base_url=server.base_url, timeout=60)
        self.server_queue_url = ""

    def submit(self, **params: Any) -> str:
        answer = self.http.post("/jobs", json={"prompt": "a lighthouse", **params})
        assert answer.status_code == 202, answer.text
        job_id: str = answer.json()["job_id"]
        return job_id

    def job(self, job_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(f"/jobs/{job_id}").json()
        return body

    def wait_final(self, job_id: str, timeout: float = 60) -> dict[str, Any]:
        return wait_until(
            lambda: (
                job if (job := self.job(job_id))["status"] not in ("queued", "running") else None
            ),
            f"job {job_id} to end",
            timeout=timeout,
            interval=0.1,
            context=self.logs,
        )

    def wait_for_step(self, job_id: str, step: int, what: str) -> None:
        wait_until(
            lambda: (self.job(job_id)["progress"] or {}).get("step", 0) >= step,
            what,
            timeout=30,
            context=self.logs,
        )

    def rendering_worker(self) -> WorkerProcess:
        """The worker that took the first render."""
        return wait_until(
            lambda: next((w for w in self.workers if w.events("render_started")), None),
            "a worker to take the render",
            timeout=30,
            context=self.logs,
        )

    def logs(self) -> str:
        parts = [f"--- server\n{self.server.log()}"]
        parts += [f"--- worker {i}\n{w.log()}" for i, w in enumerate(self.workers)]
        return "\n".join(parts)

    def png(self, url: str) -> tuple[np.ndarray, dict[str, Any]]:
        answer = self.http.get(url)
        assert answer.status_code == 200
        picture = Image.open(io.BytesIO(answer.content))
        provenance = json.loads(picture.text["provenance"])  # type: ignore[attr-defined]
        return np.asarray(picture.convert("RGB")), provenance


@pytest.fixture
def cluster(redis_server: RedisServer, tmp_path: Path) -> Iterator[Cluster]:
    """The service and two mock workers, ready."""
    with ExitStack() as stack:
        workers = [
            stack.enter_context(running_worker(worker_env(redis_server), tmp_path / f"w{i}.log"))
            for i in range(2)
        ]
        server = stack.enter_context(
            live_server(service_env(redis_server, tmp_path), tmp_path / "server.log")
        )
        server.wait_until_ready(timeout=60)
        wait_until(lambda: all(w.worker_id for w in workers), "both workers to start", timeout=60)
        found = Cluster(server, workers)
        found.server_queue_url = redis_server.url
        yield found
        found.http.close()


def test_jobs_spread_over_the_workers_and_come_back_as_the_local_pixels(
    cluster: Cluster,
) -> None:
    params: dict[str, Any] = {
        "num_inference_steps": 20,
        "num_images": 2,
        "width": 256,
        "height": 256,
    }
    job_ids = [cluster.submit(seed=seed, **params) for seed in (11, 21, 31, 41)]
    jobs = [cluster.wait_final(job_id) for job_id in job_ids]

    assert [job["status"] for job in jobs] == ["succeeded"] * 4, cluster.logs()
    local = MockBackend()
    ran_on = set()
    for job in jobs:
        request = GenerationRequest(prompt="a lighthouse", seed=job["seed"], **params)
        for image in job["images"]:
            pixels, provenance = cluster.png(image["url"])
            expected = local.generate(request, image["seed"], lambda *_: None, lambda: False)
            # Lossless both ways: the same bytes as this PC's own mock would have made.
            assert pixels.tobytes() == expected.rgb
            ran_on.add(provenance["engine"]["worker"].split("(")[1].rstrip(")"))
    # Two jobs ran at once, each on a worker of its own: both workers took some.
    assert ran_on == {w.worker_id for w in cluster.workers}
    health = cluster.server.health()
    assert health["queue"]["running"] == 0
    listed = health["cluster"]["workers"]
    assert {w["id"] for w in listed} == ran_on
    assert health["cluster"]["devices"] == {"mock": 2}
    assert all(w["host"] and w["model"]["repo_id"] for w in listed)
    for worker in listed:
        beat = datetime.fromisoformat(worker["last_heartbeat"])
        assert abs((datetime.now(timezone.utc) - beat).total_seconds()) < 10
    assert health["cluster"]["queue"] == cluster.server_queue_url
    metrics = cluster.http.get("/metrics").text
    for worker in cluster.workers:
        assert 'local_sd_workers{device="mock",host=' in metrics
        assert f'worker="{worker.worker_id}"}} 1.0' in metrics


def test_progress_and_previews_stream_from_a_worker(cluster: Cluster) -> None:
    # 20 steps of 0.05 s: the service reads the render's state every 0.1 s, so it sees
    # about every other step, and a preview (every 5th step) only when it sees that step.
    job_id = cluster.submit(num_inference_steps=20, seed=2, width=256, height=256)
    kinds: list[str] = []
    previews = 0
    with cluster.http.stream("GET", f"/jobs/{job_id}/events") as stream:
        for event in parse_events(stream.iter_lines()):
            kinds.append(event.kind)
            if event.kind == "preview":
                previews += 1
                assert event.data["image"].startswith("data:image/jpeg;base64,")
            if event.kind in ("succeeded", "failed", "cancelled"):
                break
    assert kinds[-1] == "succeeded", cluster.logs()
    assert kinds.count("progress") >= 3
    assert previews >= 1


def test_cancel_stops_a_render_running_on_a_worker(cluster: Cluster) -> None:
    job_id = cluster.submit(num_inference_steps=100, seed=3, width=256, height=256)
    cluster.wait_for_step(job_id, 3, "the remote render to make progress")

    assert cluster.http.delete(f"/jobs/{job_id}").status_code == 200
    job = cluster.wait_final(job_id, timeout=15)

    assert job["status"] == "cancelled"
    assert job["progress"]["step"] < 100
    wait_until(
        lambda: any(w.events("render_stopped") for w in cluster.workers),
        "the worker to stop its render",
        timeout=10,
        context=cluster.logs,
    )
    # The worker is free again: the next job runs.
    assert cluster.wait_final(cluster.submit(num_inference_steps=3))["status"] == "succeeded"


def test_a_killed_worker_s_render_runs_again_on_the_other(cluster: Cluster) -> None:
    job_id = cluster.submit(num_inference_steps=100, seed=4, width=256, height=256)
    rendering = cluster.rendering_worker()
    cluster.wait_for_step(job_id, 5, "some steps")
    rendering.kill()

    # Under half of its steps had run: it runs again, whole, on the worker left.
    job = cluster.wait_final(job_id, timeout=90)

    assert job["status"] == "succeeded", cluster.logs()
    (survivor,) = [w for w in cluster.workers if w is not rendering]
    _, provenance = cluster.png(job["images"][0]["url"])
    assert survivor.worker_id is not None and survivor.worker_id in provenance["engine"]["worker"]


def test_a_worker_killed_past_half_its_steps_fails_the_job_as_interrupted(
    cluster: Cluster,
) -> None:
    job_id = cluster.submit(num_inference_steps=100, seed=5, width=256, height=256)
    rendering = cluster.rendering_worker()
    cluster.wait_for_step(job_id, 60, "most of the steps")
    rendering.kill()

    # Past half: making it again would cost more than it saves; never stuck as running.
    job = cluster.wait_final(job_id, timeout=60)

    assert job["status"] == "failed", cluster.logs()
    assert job["error"]["type"] == "interrupted"
    assert "stopped answering at step" in job["error"]["message"]
    assert job["images"] == []
    (survivor,) = [w for w in cluster.workers if w is not rendering]
    assert not survivor.events("render_started")  # not made twice
    assert cluster.wait_final(cluster.submit(num_inference_steps=3))["status"] == "succeeded"


def test_redis_going_away_is_a_reason_and_its_return_heals(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    redis_server.stop()
    health = cluster.server.wait_for_health(
        lambda h: h["status"] != "ok", "the service to notice", timeout=20
    )
    assert "does not answer" in health["reason"] and "QUEUE_URL" in health["reason"]
    assert redis_server.url.split("@")[-1].split("/")[0] in health["reason"]
    refused = cluster.http.post("/jobs", json={"prompt": "a lighthouse"})
    assert refused.status_code == 503
    assert "does not answer" in refused.json()["error"]["message"]

    redis_server.start()
    cluster.server.wait_for_health(lambda h: h["status"] == "ok", "recovery", timeout=60)
    job = cluster.wait_final(cluster.submit(num_inference_steps=3), timeout=60)
    assert job["status"] == "succeeded", cluster.logs()


def test_without_a_worker_the_service_says_how_to_start_one(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with live_server(service_env(redis_server, tmp_path), tmp_path / "server.log") as server:
        health = server.wait_for_health(
            lambda h: "worker" in (h.get("reason") or ""), "the reason", timeout=20
        )
        assert "local-sd worker" in health["reason"]
        answer = httpx.post(f"{server.base_url}/jobs", json={"prompt": "x"}, timeout=10)
        assert answer.status_code == 503

        # A worker that comes later is found without a restart.
        with running_worker(worker_env(redis_server), tmp_path / "late.log"):
            server.wait_until_ready(timeout=30)


def test_local_worker_runs_beside_the_service(redis_server: RedisServer, tmp_path: Path) -> None:
    env = {**service_env(redis_server, tmp_path), "LOCAL_WORKER": "true", "USE_MOCKS": "true"}
    with live_server(env, tmp_path / "server.log") as server:
        server.wait_until_ready(timeout=60)
        answer = httpx.post(
            f"{server.base_url}/image",
            json={"prompt": "x", "num_inference_steps": 2, "width": 128, "height": 128},
            timeout=60,
        )
        assert answer.status_code == 200, server.log()
        log = server.log()
    (started,) = [json.loads(line) for line in log.splitlines() if "local_worker_started" in line]
    # The child went with the server.
    with pytest.raises(ProcessLookupError):
        os.kill(int(started["pid"]), 0)


def test_a_worker_with_another_model_is_refused_on_both_sides(
    cluster: Cluster, redis_server: RedisServer, tmp_path: Path
) -> None:
    other = {**worker_env(redis_server), "MODEL_REPO_ID": "OpenVINO/another-model"}
    with running_worker(other, tmp_path / "other.log") as stranger:
        code = stranger.process.wait(timeout=30)
        (said,) = stranger.events("worker_refused")
    assert code == 1
    assert "OpenVINO/another-model" in said["reason"]
    assert said["service_model"]["repo_id"] == "OpenVINO/stable-diffusion-v1-5-int8-ov"
    assert "make download" in said["fix"]
    server_said = wait_until(
        lambda: [
            json.loads(line)
            for line in cluster.server.log().splitlines()
            if '"worker_refused"' in line
        ],
        "the service's line",
        timeout=15,
    )
    assert server_said[0]["worker_id"] == stranger.worker_id
    assert "OpenVINO/another-model" in server_said[0]["reason"]
    # The two workers with the service's model go on; the refused one never counted.
    listed = {w["id"] for w in cluster.server.health()["cluster"]["workers"]}
    assert listed == {w.worker_id for w in cluster.workers}
    assert cluster.wait_final(cluster.submit(num_inference_steps=3))["status"] == "succeeded"


def test_keys_and_client_limits_hold_for_the_whole_cluster(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    env = service_env(
        redis_server,
        tmp_path,
        API_KEYS="anna:key-of-anna-0001,ben:key-of-ben-0002",
        MAX_QUEUED_PER_CLIENT="1",
    )
    with ExitStack() as stack:
        workers = [
            stack.enter_context(running_worker(worker_env(redis_server), tmp_path / f"w{i}.log"))
            for i in range(2)
        ]
        server = stack.enter_context(live_server(env, tmp_path / "server.log"))
        server.wait_until_ready(timeout=60)
        wait_until(lambda: all(w.worker_id for w in workers), "both workers", timeout=60)
        anna = httpx.Client(
            base_url=server.base_url, headers={"Authorization": "Bearer key-of-anna-0001"}
        )
        ben = httpx.Client(
            base_url=server.base_url, headers={"Authorization": "Bearer key-of-ben-0002"}
        )
        stack.callback(anna.close)
        stack.callback(ben.close)
        long = {"prompt": "x", "num_inference_steps": 60, "width": 128, "height": 128}

        assert httpx.post(f"{server.base_url}/jobs", json=long).status_code == 401
        first = anna.post("/jobs", json=long)
        second = anna.post("/jobs", json=long)
        assert first.status_code == second.status_code == 202
        # Both of Anna's jobs run, one on each worker: nothing of hers waits yet.
        wait_until(
            lambda: all(
                anna.get(f"/jobs/{a.json()['job_id']}").json()["status"] == "running"
                for a in (first, second)
            ),
            "both running",
            timeout=30,
        )
        waiting = anna.post("/jobs", json=long)
        assert waiting.status_code == 202
        refused = anna.post("/jobs", json=long)
        assert refused.status_code == 429
        assert refused.json()["error"]["type"] == "client_queue_full"
        # Another client's limit is their own; and one client never sees another's jobs.
        assert ben.post("/jobs", json=long).status_code == 202
        assert ben.get(f"/jobs/{first.json()['job_id']}").status_code == 404


def test_an_image_in_the_making_survives_a_restart_of_a_redis_that_persists(
    tmp_path: Path, redis_executable: str
) -> None:
    with ExitStack() as stack:
        redis = stack.enter_context(running_redis(tmp_path / "redis", persist=True))
        worker = stack.enter_context(running_worker(worker_env(redis), tmp_path / "w.log"))
        server = stack.enter_context(
            live_server(service_env(redis, tmp_path), tmp_path / "server.log")
        )
        server.wait_until_ready(timeout=60)
        cluster = Cluster(server, [worker])
        stack.callback(cluster.http.close)
        job_id = cluster.submit(num_inference_steps=100, seed=8, width=128, height=128)
        cluster.wait_for_step(job_id, 10, "some steps")

        redis.stop()
        redis.start()

        job = cluster.wait_final(job_id, timeout=90)
        assert job["status"] == "succeeded", cluster.logs()
        assert len(worker.events("render_started")) == 1  # made once, not again
