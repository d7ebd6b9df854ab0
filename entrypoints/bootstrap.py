"""Wiring: the adapters the settings choose and the object graph built from them, in one place.

`build` returns everything the server runs (`create_app` adds HTTP and the lifespan);
the CLI commands (download, retention) that need only a piece call the same factories,
so no command wires an adapter its own way and a change of adapter reaches all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

from adapters.decode_slots import MAX_CONCURRENT_DECODES
from adapters.edit_pixels import PillowEditPixels
from adapters.file_history_store import FileHistoryStore
from adapters.file_image_store import FileImageStore
from adapters.file_upload_store import FileUploadStore
from adapters.folder_lock import FolderLock
from adapters.hf_model_store import HuggingFaceModelStore, enable_offline_mode
from adapters.metered_ports import (
    MeteredHistoryStore,
    MeteredImageStore,
    MeteredModelStore,
    metered_loader,
)
from adapters.mock_backend import MockBackend
from adapters.no_safety_checker import NoSafetyChecker
from adapters.pillow_image_cover import PillowImageCover
from adapters.service_metrics import ServiceMetrics
from application.generation_service import GenerationService
from application.history import History
from application.model_lifecycle import ModelLifecycle
from application.ports import HistoryStore, ImageBackend, ImageStore, ModelStore, UploadStore
from application.safety_ports import SafetyChecker
from application.safety_screening import SafetyScreening
from application.upload_pruning import UploadPruning
from domain.retention import RetentionPolicy
from entrypoints.calls_in_progress import CallsInProgress
from entrypoints.capped_counts import CappedCounts
from entrypoints.client_limits import SubmissionLimit
from entrypoints.cluster_link import ClusterLink
from entrypoints.network_addresses import is_loopback
from entrypoints.settings import Settings
from entrypoints.skipped_jobs import SkippedJobs


@dataclass(frozen=True)
class Services:
    """The built object graph of one server."""

    settings: Settings
    service: GenerationService
    image_store: ImageStore
    history_store: FileHistoryStore
    upload_store: UploadStore
    """Input images for image-to-image and inpainting."""
    fixed_backend: ImageBackend | None
    """A backend ready at once (the mock, or a test's fake): attached at start."""
    lifecycle: ModelLifecycle | None
    """Otherwise what downloads and loads the model in the background."""
    submissions: SubmissionLimit
    """RATE_LIMIT: how often one client may submit a job."""
    metrics: ServiceMetrics
    """What `GET /metrics` shows; the ports above count into it."""
    folder_lock: FolderLock
    """GENERATED_DIR for this server alone: taken before its records are read."""
    open_streams: CappedCounts
    """MAX_STREAMS_PER_CLIENT: the job event streams each client holds open."""
    image_decoding: Executor
    """Where requests decode and store input images: as many threads as decodes may run
    at once, so uploads waiting their turn hold none of the event loop's shared threads."""
    skipped_jobs: SkippedJobs
    """AUTOMATIC1111's `skip`: jobs cancelled so that their batch goes on."""
    calls_in_progress: CallsInProgress
    """The foreign calls running as jobs, which AUTOMATIC1111's `interrupt` stops."""
    cluster: ClusterLink | None = None
    """With QUEUE_URL: the shared queue, whose workers render the images."""


def build(
    settings: Settings,
    *,
    backend: ImageBackend | None = None,
    model_store: ModelStore | None = None,
    image_store: ImageStore | None = None,
    upload_store: UploadStore | None = None,
    load_backend: Callable[[], ImageBackend] | None = None,
    safety_checker: SafetyChecker | None = None,
) -> Services:
    """Everything the settings choose; tests pass fakes for any port."""
    metrics = ServiceMetrics()
    images = MeteredImageStore(image_store or file_image_store(settings), metrics)
    uploads = upload_store or file_upload_store(settings)
    models = MeteredModelStore(model_store or hub_model_store(settings), metrics)
    records = history_store(settings)
    service = GenerationService(
        images,
        models,
        history_for(settings, images=images, store=MeteredHistoryStore(records, metrics)),
        device_target=settings.openvino_device,
        timeout_seconds=settings.inference_timeout_seconds,
        max_queue=settings.max_queue,
        # On loopback without keys there is one user: their jobs are not capped per client.
        max_queued_per_client=settings.queued_per_client if shared(settings) else None,
        preview_every=settings.preview_every,
        model_dir=settings.model_dir,
        min_free_mb=settings.min_free_disk_mb,
        edit_pixels=PillowEditPixels(uploads),
        upload_pruning=UploadPruning(uploads, retention_policy(settings)),
        safety=safety_screening(settings, safety_checker),
        # One engine runs one job at a time; a cluster as many as it has workers.
        max_parallel_jobs=settings.max_parallel_jobs if settings.queue_url else 1,
    )
    metrics.watch(
        queue_depth=lambda: len(service.queue.waiting),
        running_jobs=lambda: len(service.queue.running_jobs),
        ready=lambda: service.readiness.backend is not None,
    )
    cluster = None
    if backend is None and settings.queue_url is not None:
        # The workers load the model (or the mock); this node only queues and stores.
        cluster = ClusterLink(
            settings, service.readiness, models.status, on_workers=metrics.workers_seen
        )
    elif backend is None and settings.use_mocks:
        backend = MockBackend(settings.mock_step_seconds)
    lifecycle = None
    if backend is None and cluster is None:
        lifecycle = ModelLifecycle(
            service.readiness,
            models,
            metered_loader(load_backend or openvino_loader(settings), metrics),
            auto_download=settings.auto_download_models,
            go_offline=enable_offline_mode,
        )
    return Services(
        settings=settings,
        service=service,
        image_store=images,
        history_store=records,
        upload_store=uploads,
        fixed_backend=backend,
        lifecycle=lifecycle,
        submissions=SubmissionLimit(settings.rate_limit),
        metrics=metrics,
        folder_lock=folder_lock(settings, "a local-sd server"),
        open_streams=CappedCounts(settings.max_streams_per_client),
        image_decoding=ThreadPoolExecutor(MAX_CONCURRENT_DECODES, "image-decoding"),
        skipped_jobs=SkippedJobs(),
        calls_in_progress=CallsInProgress(),
        cluster=cluster,
    )


def shared(settings: Settings) -> bool:
    """Whether several people may use the service: keys are set, or it serves the network."""
    return settings.keys_configured or settings.allow_open_access or not is_loopback(settings.host)


def file_image_store(settings: Settings) -> ImageStore:
    return FileImageStore(settings.generated_dir)


def file_upload_store(settings: Settings) -> UploadStore:
    # Inside GENERATED_DIR, so the folder lock and the data-folder settings cover them too.
    return FileUploadStore(settings.generated_dir / "uploads", settings.max_upload_mb * 2**20)


def folder_lock(settings: Settings, role: str) -> FolderLock:
    """The lock whoever writes GENERATED_DIR's records holds (``role`` names it to others)."""
    return FolderLock(settings.generated_dir, role)


def history_store(settings: Settings) -> FileHistoryStore:
    return FileHistoryStore(settings.generated_dir)


def retention_policy(settings: Settings) -> RetentionPolicy:
    return RetentionPolicy(settings.retention_max_images, settings.retention_max_age_days)


def history_for(
    settings: Settings,
    *,
    images: ImageStore | None = None,
    store: HistoryStore | None = None,
) -> History:
    """The job history in GENERATED_DIR under the configured retention policy.

    The app passes the image store it serves from (a fake in tests) and keeps the
    history store, whose partial files it removes at startup.
    """
    return History(
        store or history_store(settings),
        images or file_image_store(settings),
        retention_policy(settings),
    )


def safety_screening(settings: Settings, checker: SafetyChecker | None = None) -> SafetyScreening:
    """SAFETY_CHECKER's filter; a test's ``checker`` (a fake) replaces whichever it names."""
    if checker is None and settings.safety_checker == "off":
        checker = NoSafetyChecker()
    return SafetyScreening(
        PillowImageCover(settings.safety_action),
        checker=checker,
        load_checker=safety_checker_loader(settings) if checker is None else None,
        requested=settings.safety_checker,
        previews=settings.safety_previews,
    )


def safety_checker_loader(settings: Settings) -> Callable[[], SafetyChecker]:
    def load() -> SafetyChecker:
        # Imported here: without a checker, the service never loads this adapter.
        from adapters.openvino_safety_checker import load_safety_checker

        return load_safety_checker(
            settings.safety_checker_dir, settings.openvino_device, settings.ov_cache_dir
        )

    return load


def hub_model_store(settings: Settings) -> ModelStore:
    token = settings.huggingface_token.get_secret_value() if settings.huggingface_token else None
    return HuggingFaceModelStore(
        settings.model_repo_id,
        settings.model_dir,
        token=token or None,
        endpoint=settings.hf_endpoint,
    )


def openvino_loader(settings: Settings) -> Callable[[], ImageBackend]:
    def load() -> ImageBackend:
        # Imported here: the mock mode and the tests of the layers above need no OpenVINO.
        from adapters.openvino_loading import load_openvino_backend

        return load_openvino_backend(
            settings.model_dir,
            settings.openvino_device,
            settings.ov_cache_dir,
            settings.openvino_engine,
            static_shape=settings.openvino_static_shape,
        )

    return load
