"""The application factory: the one composition root. The adapters come from `bootstrap`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware

from adapters.hf_model_store import enable_offline_mode
from adapters.mock_backend import MockBackend
from application.generation_service import GenerationService
from application.model_lifecycle import LifecyclePolicy, ModelLifecycle
from application.ports import ImageBackend, ImageStore, ModelStore
from entrypoints import bootstrap
from entrypoints.host_guard import LOOPBACK_NAMES, HostGuardMiddleware
from entrypoints.http_errors import EXCEPTION_HANDLERS
from entrypoints.logging_setup import configure_logging
from entrypoints.request_context import RequestContextMiddleware
from entrypoints.routes import ROUTES
from entrypoints.server_exit import call_on_server_exit, leave_at_once_if_model_work_runs
from entrypoints.settings import Settings, load_settings

log = structlog.get_logger("app")


def allowed_hosts(settings: Settings) -> list[str]:
    extra = [h.strip() for h in settings.allowed_hosts.split(",") if h.strip()]
    bound = [] if settings.host in ("0.0.0.0", "::") else [settings.host]
    return [*LOOPBACK_NAMES, *bound, *extra]


MISSING_MODEL_HINT = (
    "Run `make download`, or start with AUTO_DOWNLOAD_MODELS=true, or try the demo mode "
    "with USE_MOCKS=true (`make demo`)."
)


def create_app(
    settings: Settings | None = None,
    *,
    backend: ImageBackend | None = None,
    model_store: ModelStore | None = None,
    image_store: ImageStore | None = None,
    load_backend: Callable[[], ImageBackend] | None = None,
) -> Starlette:
    """Build the service. Tests pass fakes for any port; everything else comes from settings."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_format)
    image_store = image_store or bootstrap.image_store(settings)
    lifecycle: ModelLifecycle | None = None
    model_store = model_store or bootstrap.hub_model_store(
        settings, lambda done, total: lifecycle.report_download(done, total) if lifecycle else None
    )
    history_store = bootstrap.history_store(settings)
    service = GenerationService(
        image_store,
        model_store,
        bootstrap.history_for(settings, images=image_store, store=history_store),
        device_target=settings.openvino_device,
        timeout_seconds=settings.inference_timeout_seconds,
        max_queue=settings.max_queue,
        preview_every=settings.preview_every,
    )
    if backend is None and not settings.use_mocks:
        lifecycle = ModelLifecycle(
            service,
            model_store,
            load_backend or bootstrap.openvino_loader(settings),
            LifecyclePolicy(settings.auto_download_models, MISSING_MODEL_HINT),
            go_offline=enable_offline_mode,
        )
    background: set[asyncio.Task[None]] = set()

    async def bring_up_backend() -> None:
        if backend is not None:
            service.attach_backend(backend)
        elif settings.use_mocks:
            service.attach_backend(MockBackend(settings.mock_step_seconds))
        elif lifecycle is not None:
            if not await lifecycle.check():
                return
            # Downloading and compiling take minutes: the server answers meanwhile.
            task = asyncio.create_task(lifecycle.bring_up(), name="model-lifecycle")
            background.add(task)
            task.add_done_callback(background.discard)
            return
        health = service.health()
        log.info("service_ready", mock=health.mock, device=health.device.active)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(history_store.remove_partial_files)
        await asyncio.to_thread(service.recover_history)
        await service.start()
        await bring_up_backend()
        exit_watch = asyncio.create_task(call_on_server_exit(service.begin_shutdown))
        try:
            yield
        finally:
            exit_watch.cancel()
            for task in background:
                task.cancel()
            await service.stop()
            leave_at_once_if_model_work_runs(lifecycle)

    app = Starlette(
        routes=ROUTES,
        middleware=[
            Middleware(RequestContextMiddleware),
            Middleware(HostGuardMiddleware, allowed_hosts=allowed_hosts(settings)),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.image_store = image_store
    app.state.lifecycle = lifecycle
    return app
