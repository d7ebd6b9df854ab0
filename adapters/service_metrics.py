"""The service's Prometheus metrics: one registry per app, the families in it, and the scrape.

A registry per app rather than the library's global one: tests build many apps in one
process, and two servers in one process must not count each other's jobs. Every label
takes values from a closed set (statuses, error types, stages, route templates), so
nothing a client sends can grow the registry.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from domain.job import JobErrorType, JobStatus

PREFIX = "local_sd"

TEXT_ENCODER, UNET_STEP, VAE_DECODE, PNG_WRITE = (
    "text_encoder",
    "unet_step",
    "vae_decode",
    "png_write",
)
STAGES = (TEXT_ENCODER, UNET_STEP, VAE_DECODE, PNG_WRITE)

FINAL_STATUSES = tuple(status.value for status in JobStatus if status.is_final)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
OTHER_METHOD = "other"
"""Any method not in METHODS: the method is the client's to choose, the label set is not."""

# From a few ms (a text encoder, a small PNG) to a minute (a UNet step on a slow CPU).
_STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# From a second (a small image on a GPU) to half an hour (a batch of four at 1024 on a CPU).
_JOB_BUCKETS = (1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800)
# From a cached compile (about a second) to a first GPU compile (minutes).
_LOAD_BUCKETS = (1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self._jobs = Counter(
            f"{PREFIX}_jobs",
            "Jobs that reached a final status, by that status.",
            ["status"],
            registry=registry,
        )
        self._failures = Counter(
            f"{PREFIX}_job_failures",
            "Failed jobs, by the error type their record names.",
            ["type"],
            registry=registry,
        )
        self._job_seconds = Histogram(
            f"{PREFIX}_job_duration_seconds",
            "From a job's start to its end (jobs that never started are not observed).",
            ["status"],
            buckets=_JOB_BUCKETS,
            registry=registry,
        )
        self._stage_seconds = Histogram(
            f"{PREFIX}_stage_duration_seconds",
            "One observation per image and stage: the text encoder, the median UNet step "
            "(as the engine reports them; placeholder images report none), the VAE decode, "
            "and writing the PNG.",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=registry,
        )
        self._load_seconds = Histogram(
            f"{PREFIX}_model_load_seconds",
            "Reading the model and compiling it for the device, per successful load.",
            buckets=_LOAD_BUCKETS,
            registry=registry,
        )
        self._download_bytes = Counter(
            f"{PREFIX}_model_download_bytes",
            "Bytes of model files downloaded from the hub.",
            registry=registry,
        )
        self._requests = Counter(
            f"{PREFIX}_http_requests",
            "HTTP requests answered, by route template (or 'unmatched'), method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self._request_series: dict[tuple[str, str, int], Counter] = {}
        self._queue_depth = Gauge(
            f"{PREFIX}_queue_depth", "Jobs waiting in the queue.", registry=registry
        )
        self._running = Gauge(f"{PREFIX}_running_jobs", "Jobs running now.", registry=registry)
        self._ready = Gauge(
            f"{PREFIX}_ready", "1 when a backend can generate now, else 0.", registry=registry
        )
        self._workers = Gauge(
            f"{PREFIX}_workers",
            "Workers connected to the shared queue, by worker, host and device.",
            ["worker", "host", "device"],
            registry=registry,
        )
        self._worker_images = Gauge(
            f"{PREFIX}_worker_images_done",
            "Images each connected worker has made since it started.",
            ["worker"],
            registry=registry,
        )
        # Every known series from the first scrape, at zero: a rate over a series that
        # appears only with its first event misses that event.
        for status in FINAL_STATUSES:
            self._jobs.labels(status)
        for error_type in JobErrorType:
            self._failures.labels(error_type.value)
        for stage in STAGES:
            self._stage_seconds.labels(stage)

    def watch(
        self,
        *,
        queue_depth: Callable[[], float],
        running_jobs: Callable[[], float],
        ready: Callable[[], float],
    ) -> None:
        """Read these at each scrape: nothing has to tell the metrics when they change."""
        self._queue_depth.set_function(queue_depth)
        self._running.set_function(running_jobs)
        self._ready.set_function(ready)

    def workers_seen(self, workers: list[dict[str, object]]) -> None:
        """The workers connected now (ClusterLink's look): a series per worker, gone with it."""
        self._workers.clear()
        self._worker_images.clear()
        for worker in workers:
            worker_id = str(worker["id"])
            self._workers.labels(worker_id, str(worker["host"]), str(worker["device"])).set(1)
            self._worker_images.labels(worker_id).set(float(str(worker["images_done"])))

    def job_finished(
        self, status: str, duration_seconds: float | None, error_type: str | None
    ) -> None:
        self._jobs.labels(status).inc()
        if duration_seconds is not None:
            self._job_seconds.labels(status).observe(duration_seconds)
        if error_type is not None:
            self._failures.labels(error_type).inc()

    def stage_took(self, stage: str, seconds: float) -> None:
        self._stage_seconds.labels(stage).observe(seconds)

    def model_loaded(self, seconds: float) -> None:
        self._load_seconds.observe(seconds)

    def downloaded(self, n_bytes: int) -> None:
        self._download_bytes.inc(n_bytes)

    def request_answered(self, route: str, method: str, status: int) -> None:
        if method not in METHODS:
            method = OTHER_METHOD
        # Every request passes here: a dict lookup instead of `labels`, which checks and
        # converts its values and takes a lock each time (13 us per request down to 6, here).
        key = (route, method, status)
        series = self._request_series.get(key)
        if series is None:
            series = self._request_series[key] = self._requests.labels(route, method, str(status))
        series.inc()

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The registry in the format the scraper's Accept header asks for, and its type."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type
