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
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import structlog

from application.ports import ModelStatus
from application.readiness import Readiness
from domain.errors import Problem, Remedy
from entrypoints.queue_address import redacted
from entrypoints.settings import Settings

if TYPE_CHECKING:
    from saq.queue.redis import RedisQueue

log = structlog.get_logger("cluster")

LOOK_SECONDS = 2.0
"""How often the link looks at Redis and the registered workers."""
CHILD_STOP_SECONDS = 30.0


class ClusterLink:
    def __init__(
        self,
        settings: Settings,
        readiness: Readiness,
        model_status: Callable[[], ModelStatus],
        on_workers: Callable[[list[dict[str, Any]]], None] = lambda workers: None,
    ) -> None:
        assert settings.queue_url is not None
        self._url = settings.queue_url.get_secret_value()
        self._settings = settings
        self._readiness = readiness
        self._local: subprocess.Popen[bytes] | None = None
        self._model_status = model_status
        self.model: dict[str, str | None] = {"repo_id": settings.model_repo_id, "revision": None}
        """The model every worker must have (its revision once this PC's copy is read)."""
        self._refused: set[str] = set()
        self._on_workers = on_workers
        """Told the workers listed after each look (the metrics)."""
        self.workers: dict[str, dict[str, Any]] = {}
        """The registered workers by id: their description and SAQ's counts."""

    async def run(self) -> None:
        """Until cancelled; never raises for Redis's or a worker's trouble."""
        try:
            from adapters.cluster_models import open_queue, registrations
            from adapters.saq_remote_backend import RemoteBackend
            from adapters.saq_render_worker import REGISTER_SECONDS
        except ImportError as error:
            log.error("cluster_extra_missing", error=str(error))
            self._readiness.mark_unavailable(
                Problem(
                    "QUEUE_URL is set, but the shared queue's engine (SAQ and redis-py) "
                    "is not installed.",
                    (Remedy.INSTALL_CLUSTER,),
                )
            )
            return

        status = await asyncio.to_thread(self._model_status)
        # The revision of this PC's copy when it has one; else any revision of the repository.
        self.model = {
            "repo_id": self._settings.model_repo_id,
            "revision": status.revision if status.cached else None,
        }
        if self._settings.local_worker:
            self._local = start_local_worker()
        queue = open_queue(self._url, self._settings.model_repo_id)
        loop = asyncio.get_running_loop()
        attached: RemoteBackend | None = None
        trouble: str | None = None
        try:
            while True:
                try:
                    info = await queue.info()
                    await queue.sweep(lock=int(LOOK_SECONDS))
                    others = await self._publish_and_look_around(queue)
                    renewed = await registrations(queue, REGISTER_SECONDS + 1)
                except Exception as error:  # redis-py's errors, a refused or lost connection
                    attached = None
                    self.workers = {}
                    self._on_workers([])
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
                self.workers = self._accepted(_described(info.get("workers") or {}), others)
                for worker_id, worker in self.workers.items():
                    worker["renewed_at"] = renewed.get(worker_id)
                self._on_workers(self.describe()["workers"])
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
                        retry_below_share=self._settings.worker_lost_retry_below,
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

    async def _publish_and_look_around(self, queue: RedisQueue) -> dict[str, dict[str, Any]]:
        """Publish this service's model for the workers; the workers on other models' queues."""
        from adapters.cluster_models import publish_service_model, workers_elsewhere

        await publish_service_model(queue, self.model)
        return await workers_elsewhere(queue)

    def _accepted(
        self, workers: dict[str, dict[str, Any]], others: dict[str, dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """The workers with this service's model; the others are refused, logged once each."""
        from adapters.cluster_models import mismatch

        accepted = {}
        for worker_id, worker in {**others, **workers}.items():
            why = mismatch(self.model, worker.get("model") or {})
            if why is None and worker_id in workers:
                accepted[worker_id] = worker
            elif worker_id not in self._refused:
                self._refused.add(worker_id)
                log.warning(
                    "worker_refused",
                    worker_id=worker_id,
                    host=worker.get("host"),
                    reason=f"it has {why}",
                    service_model=self.model,
                )
        return accepted

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
                # Its registration's last renewal: a worker beats at least this often.
                "last_heartbeat": _iso(worker.get("renewed_at")),
            }
            for worker_id, worker in sorted(self.workers.items())
        ]
        devices: dict[str, int] = {}
        for worker in workers:
            kind = str(worker["device"] or "?").split(".")[0]
            devices[kind] = devices.get(kind, 0) + 1
        return {
            "queue": redacted(self._url),
            "model": self.model,
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


def _iso(epoch_seconds: object) -> str | None:
    if not isinstance(epoch_seconds, float | int):
        return None
    return datetime.fromtimestamp(epoch_seconds, timezone.utc).isoformat(timespec="seconds")


def start_local_worker() -> subprocess.Popen[bytes]:
    """`local-sd worker` beside this server, with its settings (the same environment)."""
    command = [sys.executable, "-m", "entrypoints.cli", "worker"]
    child = subprocess.Popen(command, env=os.environ.copy())
    log.info("local_worker_started", pid=child.pid)
    return child
