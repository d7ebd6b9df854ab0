"""The application factory: HTTP on top of the object graph `bootstrap.build` wires."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware

from application.ports import ImageBackend, ImageStore, ModelStore
from application.safety_ports import SafetyChecker
from entrypoints import bootstrap
from entrypoints.access import Access
from entrypoints.api_keys import keys_from_settings
from entrypoints.authentication import AuthenticationMiddleware
from entrypoints.automatic1111.error_shape import automatic1111_error
from entrypoints.error_dialects import ErrorDialectMiddleware
from entrypoints.host_guard import LOOPBACK_NAMES, HostGuardMiddleware
from entrypoints.http_errors import EXCEPTION_HANDLERS
from entrypoints.lifespan import lifespan_for
from entrypoints.logging_setup import configure_logging
from entrypoints.openai_images.error_shape import openai_error
from entrypoints.remedies import remedy_text
from entrypoints.request_context import RequestContextMiddleware
from entrypoints.routes import ROUTES
from entrypoints.settings import Settings, load_settings


def allowed_hosts(settings: Settings) -> list[str]:
    extra = [h.strip() for h in settings.allowed_hosts.split(",") if h.strip()]
    bound = [] if settings.host in ("0.0.0.0", "::") else [settings.host]
    return [*LOOPBACK_NAMES, *bound, *extra]


def create_app(
    settings: Settings | None = None,
    *,
    backend: ImageBackend | None = None,
    model_store: ModelStore | None = None,
    image_store: ImageStore | None = None,
    load_backend: Callable[[], ImageBackend] | None = None,
    safety_checker: SafetyChecker | None = None,
) -> Starlette:
    """Build the service. Tests pass fakes for any port; everything else comes from settings."""
    settings = settings or load_settings()
    configure_logging(
        settings.log_level, settings.log_format, lambda remedy: remedy_text(remedy, settings)
    )
    access = Access(
        keys_from_settings(settings),
        session_hours=settings.session_hours,
        open_access=settings.allow_open_access,
        failure_limit=settings.auth_failure_limit,
    )
    if settings.allow_open_access and not access.keys.enabled:
        structlog.get_logger("auth").warning(
            "open_access",
            message="ALLOW_OPEN_ACCESS=true and no API_KEYS: anyone who reaches this "
            "server's address may use it.",
        )
    services = bootstrap.build(
        settings,
        backend=backend,
        model_store=model_store,
        image_store=image_store,
        load_backend=load_backend,
        safety_checker=safety_checker,
    )
    app = Starlette(
        routes=ROUTES,
        middleware=[
            Middleware(RequestContextMiddleware),
            # Outside every other: the errors the Host check and authentication send
            # reach AUTOMATIC1111's and OpenAI's clients in their own shapes too.
            Middleware(
                ErrorDialectMiddleware,
                dialects={"/sdapi/": automatic1111_error, "/v1/": openai_error},
            ),
            # The Host check first: a DNS-rebinding page's requests (a foreign Host) must
            # never count as wrong keys, or a web page could lock this address out.
            Middleware(HostGuardMiddleware, allowed_hosts=allowed_hosts(settings)),
            Middleware(AuthenticationMiddleware, access=access),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan_for(services),
    )
    app.state.services = services
    app.state.access = access
    return app
