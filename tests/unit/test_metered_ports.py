"""The port decorators count what passes through them and change nothing else."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from adapters.metered_ports import (
    MeteredHistoryStore,
    MeteredImageStore,
    MeteredModelStore,
    metered_loader,
)
from adapters.service_metrics import ServiceMetrics
from application.ports import DownloadProgress, ModelStatus, RenderedImage
from tests.support.fakes import FakeBackend, FakeHistoryStore, FakeImageStore, FakeModelStore


def value(metrics: ServiceMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def record(
    status: str, duration_ms: int | None = 1500, error: str | None = None
) -> dict[str, object]:
    return {
        "job_id": "job1",
        "status": status,
        "duration_ms": duration_ms,
        "error": {"type": error, "message": "m", "remedies": []} if error else None,
    }


def test_a_job_counts_once_when_its_record_first_turns_final() -> None:
    metrics, inner = ServiceMetrics(), FakeHistoryStore()
    store = MeteredHistoryStore(inner, metrics)
    store.write("job1", record("queued", duration_ms=None))
    store.write("job1", record("running", duration_ms=None))
    assert value(metrics, "local_sd_jobs_total", status="succeeded") == 0
    store.write("job1", record("succeeded"))
    store.write("job1", record("succeeded"))  # written again: still one job
    assert value(metrics, "local_sd_jobs_total", status="succeeded") == 1
    assert value(metrics, "local_sd_job_duration_seconds_count", status="succeeded") == 1
    assert value(metrics, "local_sd_job_duration_seconds_sum", status="succeeded") == 1.5
    assert inner.records["job1"]["status"] == "succeeded"


def test_failures_count_by_error_type_and_unstarted_jobs_have_no_duration() -> None:
    metrics = ServiceMetrics()
    store = MeteredHistoryStore(FakeHistoryStore(), metrics)
    store.write("a", record("failed", error="timeout"))
    store.write("b", record("cancelled", duration_ms=None))
    assert value(metrics, "local_sd_job_failures_total", type="timeout") == 1
    assert value(metrics, "local_sd_job_failures_total", type="generation_failed") == 0
    assert value(metrics, "local_sd_jobs_total", status="failed") == 1
    assert value(metrics, "local_sd_jobs_total", status="cancelled") == 1
    assert value(metrics, "local_sd_job_duration_seconds_count", status="cancelled") is None


def test_a_record_that_fails_to_write_is_not_counted_and_the_retry_is() -> None:
    metrics, inner = ServiceMetrics(), FakeHistoryStore(write_errors=[OSError("disk full")])
    store = MeteredHistoryStore(inner, metrics)
    with pytest.raises(OSError, match="disk full"):
        store.write("job1", record("succeeded"))
    assert value(metrics, "local_sd_jobs_total", status="succeeded") == 0
    store.write("job1", record("succeeded"))
    assert value(metrics, "local_sd_jobs_total", status="succeeded") == 1


def test_deleting_a_record_forgets_the_job_and_is_passed_on() -> None:
    metrics, inner = ServiceMetrics(), FakeHistoryStore()
    store = MeteredHistoryStore(inner, metrics)
    store.write("job1", record("succeeded"))
    assert store.delete("job1") is True
    assert inner.records == {}
    assert store.read_all() == []


def test_a_saved_image_observes_its_engine_stages_and_the_png_write() -> None:
    metrics, inner = ServiceMetrics(), FakeImageStore()
    store = MeteredImageStore(inner, metrics)
    timings = {
        "text_encoder": 20.0,
        "unet_per_call": 2500.0,
        "unet_calls": 21.0,
        "vae_decode": 800.0,
    }
    image = RenderedImage(8, 8, bytes(192), 1, timings)
    store.save("a.png", image, {"parameters": "x"})
    assert inner.saved["a.png"] == (image, {"parameters": "x"})
    for stage, seconds in (("text_encoder", 0.02), ("unet_step", 2.5), ("vae_decode", 0.8)):
        assert value(metrics, "local_sd_stage_duration_seconds_count", stage=stage) == 1
        assert value(metrics, "local_sd_stage_duration_seconds_sum", stage=stage) == seconds
    assert value(metrics, "local_sd_stage_duration_seconds_count", stage="png_write") == 1
    assert store.directory == inner.directory
    assert store.delete("a.png") is True and inner.saved == {}


def test_an_image_without_engine_timings_observes_the_png_write_only() -> None:
    metrics = ServiceMetrics()
    MeteredImageStore(FakeImageStore(), metrics).save(
        "a.png", RenderedImage(8, 8, bytes(192), 1), {}
    )
    assert value(metrics, "local_sd_stage_duration_seconds_count", stage="png_write") == 1
    assert value(metrics, "local_sd_stage_duration_seconds_count", stage="unet_step") == 0


class ReportingModelStore(FakeModelStore):
    """Reports running byte totals as a download's threads do: not always in order."""

    def __init__(self, reports: list[tuple[int, int]]) -> None:
        super().__init__(cached=False)
        self.reports = reports

    def download(
        self, force: bool = False, on_progress: DownloadProgress | None = None
    ) -> ModelStatus:
        assert on_progress is not None
        for done, total in self.reports:
            on_progress(done, total)
        return super().download(force)


def test_download_bytes_count_what_is_new_in_each_total_and_reach_the_caller() -> None:
    metrics = ServiceMetrics()
    reports = [(100, 1000), (400, 1000), (300, 1000), (1000, 1000), (1000, 1000)]
    seen: list[tuple[int, int]] = []
    store = MeteredModelStore(ReportingModelStore(reports), metrics)
    assert store.download(on_progress=lambda done, total: seen.append((done, total))).cached
    assert value(metrics, "local_sd_model_download_bytes_total") == 1000
    assert seen == reports


class ThreadedModelStore(FakeModelStore):
    """Reports every total from 1 to ``size`` bytes from four threads at once."""

    def __init__(self, size: int) -> None:
        super().__init__(cached=False)
        self.size = size

    def download(
        self, force: bool = False, on_progress: DownloadProgress | None = None
    ) -> ModelStatus:
        assert on_progress is not None
        report = on_progress
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda done: report(done, self.size), range(1, self.size + 1)))
        return super().download(force)


def test_download_bytes_count_without_a_callback_and_from_many_threads() -> None:
    metrics = ServiceMetrics()
    assert MeteredModelStore(ThreadedModelStore(5000), metrics).download().cached
    assert value(metrics, "local_sd_model_download_bytes_total") == 5000


def test_a_model_load_observes_its_time_and_a_failed_one_nothing() -> None:
    metrics, backend = ServiceMetrics(), FakeBackend()
    assert metered_loader(lambda: backend, metrics)() is backend
    assert value(metrics, "local_sd_model_load_seconds_count") == 1

    def broken() -> FakeBackend:
        raise RuntimeError("no device")

    with pytest.raises(RuntimeError):
        metered_loader(broken, metrics)()
    assert value(metrics, "local_sd_model_load_seconds_count") == 1


def test_unknown_methods_share_one_label() -> None:
    metrics = ServiceMetrics()
    for method in ("BREW", "PROPFIND", "GET"):
        metrics.request_answered("unmatched", method, 405)
    assert (
        value(
            metrics, "local_sd_http_requests_total", route="unmatched", method="other", status="405"
        )
        == 2
    )
    assert (
        value(
            metrics, "local_sd_http_requests_total", route="unmatched", method="GET", status="405"
        )
        == 1
    )


def test_scrape_time_gauges_read_their_sources_at_each_scrape() -> None:
    metrics, waiting = ServiceMetrics(), [0]
    metrics.watch(queue_depth=lambda: waiting[0], running_jobs=lambda: 1, ready=lambda: 0)
    assert value(metrics, "local_sd_queue_depth") == 0
    waiting[0] = 3
    assert value(metrics, "local_sd_queue_depth") == 3
    assert value(metrics, "local_sd_running_jobs") == 1
    assert value(metrics, "local_sd_ready") == 0
