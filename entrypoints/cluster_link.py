"""With QUEUE_URL: the API node's link to the shared queue and the workers on it.

While Redis answers and at least one worker is registered, the service's backend is a
`RemoteBackend` (each image rendered by whichever worker is free); otherwise the service
is unavailable with the reason and what to do, and recovers by itself when Redis or a
worker comes back. The link also sweeps renders whose worker died, since when every worker
is gone no worker is left to do it. With LOCAL_WORKER=true it runs a worker of its own as
a child process, the same `local-sd worker` any other PC runs.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import structlog

from application.readiness import Readiness
from domain.errors import Problem, Remedy
from entrypoints.queue_address import redacted
from entrypoints.settings import Settings

log = structlog.get_logger("cluster")

LOOK_SECONDS = 2.0
"""How often the link looks at Redis and the registered workers."""
CHILD_STOP_SECONDS = 30.0


class ClusterLink:
    def __init__(self, settings: Settings, readiness: Readiness) -> None:
        assert settings.queue_url is not None
        self._url = settings.queue_url.get_secret_value()
        self._settings = settings
        self._readiness = readiness
        self._local: subprocess.Popen[bytes] | None = None
        self.workers: dict[str, dict[str, Any]] = {}
        """The registered workers by id: their description and SAQ's counts."""

    async def run(self) -> None:
        """Until cancelled; never raises for Redis's or a worker's trouble."""
        from adapters.saq_remote_backend import RemoteBackend
        from adapters.saq_render_worker import open_queue

        if self._settings.local_worker:
            self._local = start_local_worker()
        queue = open_queue(self._url)
        loop = asyncio.get_running_loop()
        attached: RemoteBackend | None = None
        trouble: str | None = None
        try:
            while True:
                try:
                    info = await queue.info()
                    await queue.sweep(lock=int(LOOK_SECONDS))
                except Exception as error:  # redis-py's errors, a refused or lost connection
                    attached = None
                    self.workers = {}
                    reason = f"{type(error).__name__}: {error}"
                    if reason != trouble:
                        log.warning("queue_unreachable", queue=redacted(self._url), error=reason)
                        trouble = reason
                    self._readiness.mark_unavailable(
                        Problem(
                            f"The shared queue at {redacted(self._url)} does not answer.",
                            (Remedy.CHECK_QUEUE_SERVER,),
                        )
                    )
                    await asyncio.sleep(LOOK_SECONDS)
                    continue
                if trouble is not None:
                    log.info("queue_reachable", queue=redacted(self._url))
                    trouble = None
                self.workers = _described(info.get("workers") or {})
                if not self.workers:
                    if attached is not None or self._readiness.backend is None:
                        attached = None
                        self._readiness.mark_unavailable(
                            Problem(
                                "No worker is connected to the shared queue.",
                                (Remedy.START_WORKER,),
                            )
                        )
                elif attached is None:
                    first = next(iter(self.workers.values()))
                    attached = RemoteBackend(
                        queue,
                        loop,
                        first,
                        heartbeat_seconds=self._settings.worker_heartbeat_seconds,
                    )
                    attached.parallel_jobs = len(self.workers)
                    self._readiness.attach(attached)
                    log.info("cluster_ready", workers=len(self.workers), device=first["device"])
                elif attached.parallel_jobs != len(self.workers):
                    log.info("cluster_workers", workers=len(self.workers))
                    attached.parallel_jobs = len(self.workers)
                    self._readiness.capacity_changed()
                await asyncio.sleep(LOOK_SECONDS)
        finally:
            await queue.disconnect()
            await asyncio.to_thread(self.stop_local_worker)

    def describe(self) -> dict[str, Any]:
        """For `/health`: the queue (without its password) and each worker registered now.

        A worker is listed while its registration, renewed every 5 s, has not expired (6 s):
        its heartbeat is at most that old.
        """
        workers = [
            {
                "id": worker_id,
                "host": worker.get("host"),
                "device": worker.get("device"),
                "provider": worker.get("provider"),
                "model": worker.get("model"),
                "images_done": (worker.get("stats") or {}).get("complete", 0),
                "images_failed": (worker.get("stats") or {}).get("failed", 0),
                "uptime_seconds": round((worker.get("stats") or {}).get("uptime", 0) / 1000),
            }
            for worker_id, worker in sorted(self.workers.items())
        ]
        devices: dict[str, int] = {}
        for worker in workers:
            kind = str(worker["device"] or "?").split(".")[0]
            devices[kind] = devices.get(kind, 0) + 1
        return {
            "queue": redacted(self._url),
            "local_worker": self._settings.local_worker,
            "workers": workers,
            "devices": devices,
        }

    def stop_local_worker(self) -> None:
        child, self._local = self._local, None
        if child is None or child.poll() is not None:
            return
        child.terminate()  # SIGTERM; on Windows TerminateProcess
        try:
            child.wait(CHILD_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _described(workers: dict[str, Any]) -> dict[str, dict[str, Any]]:
    described = {}
    for worker_id, info in workers.items():
        metadata = (info or {}).get("metadata")
        if isinstance(metadata, dict) and "device" in metadata:
            described[worker_id] = {**metadata, "stats": info.get("stats") or {}}
    return described


def start_local_worker() -> subprocess.Popen[bytes]:
    """`local-sd worker` beside this server, with its settings (the same environment)."""
    command = [sys.executable, "-m", "entrypoints.cli", "worker"]
    child = subprocess.Popen(command, env=os.environ.copy())
    log.info("local_worker_started", pid=child.pid)
    return child
