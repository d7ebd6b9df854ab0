"""The application factory: the one place that picks adapters from settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware

from adapters.file_image_store import FileImageStore
from adapters.local_model_store import LocalModelStore
from adapters.mock_backend import MockBackend
from application.generation_service import GenerationService
from application.ports import ImageBackend, ImageStore, ModelStore
from entrypoints.host_guard import LOOPBACK_NAMES, HostGuardMiddleware
from entrypoints.http_errors import EXCEPTION_HANDLERS
from entrypoints.logging_setup import configure_logging
from entrypoints.request_context import RequestContextMiddleware
from entrypoints.routes import ROUTES
from entrypoints.settings import Settings, load_settings

log = structlog.get_logger("app")


def allowed_hosts(settings: Settings) -> list[str]:
    extra = [h.strip() for h in settings.allowed_hosts.split(",") if h.strip()]
    bound = [] if settings.host in ("0.0.0.0", "::") else [settings.host]
    return [*LOOPBACK_NAMES, *bound, *extra]


def missing_model_message(settings: Settings, missing: tuple[str, ...]) -> str:
    return (
        f"The model {settings.model_repo_id} is not in {settings.model_dir} "
        f"({len(missing)} required files missing). Run `make download`, or start with "
        f"AUTO_DOWNLOAD_MODELS=true, or try the demo mode with USE_MOCKS=true."
    )


def create_app(
    settings: Settings | None = None,
    *,
    backend: ImageBackend | None = None,
    model_store: ModelStore | None = None,
    image_store: ImageStore | None = None,
) -> Starlette:
    """Build the service. Tests pass fakes for any port; everything else comes from settings."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_format)
    image_store = image_store or FileImageStore(settings.generated_dir)
    model_store = model_store or LocalModelStore(settings.model_repo_id, settings.model_dir)
    service = GenerationService(
        image_store,
        model_store,
        device_target=settings.openvino_device,
        timeout_seconds=settings.inference_timeout_seconds,
        max_queue=settings.max_queue,
    )

    async def attach_backend() -> None:
        if backend is not None:
            service.attach_backend(backend)
        elif settings.use_mocks:
            service.attach_backend(MockBackend())
        else:
            status = await asyncio.to_thread(model_store.status)
            if not status.cached:
                service.mark_unavailable(missing_model_message(settings, status.missing))
            else:
                service.mark_unavailable(
                    "The OpenVINO backend is not part of this build yet; use USE_MOCKS=true."
                )
        health = service.health()
        log.info(
            "service_ready" if health.ready else "service_degraded",
            mock=health.mock,
            device=health.device.active,
            reason=health.reason,
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        await attach_backend()
        try:
            yield
        finally:
            await service.stop()

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
    return app
