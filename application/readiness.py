"""Readiness: is there a backend that can generate now, and if not, why."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from application.ports import ImageBackend
from domain.errors import Problem, ServiceUnavailable, UnsupportedOption
from domain.generation_request import GenerationRequest
from domain.input_image import EditMode


def parallel_jobs(backend: ImageBackend) -> int:
    """How many jobs ``backend`` runs at once: 1 (one engine) unless it says otherwise, as
    one that hands each image to whichever of several workers is free does."""
    return int(getattr(backend, "parallel_jobs", 1))


_DEFAULTED_FIELDS = ("num_inference_steps", "guidance_scale", "width", "height", "num_images")

STARTING = Problem("The image backend is starting.")


class Readiness:
    """The backend jobs run on, when there is one and nothing holds the service back.

    A hold (``hold``/``release``) is another part the service must have before any job
    runs, such as the safety checker asked for: while one is placed the service is not
    ready, whatever the backend, and its problem is the reason.
    """

    def __init__(self) -> None:
        self._backend: ImageBackend | None = None
        self._reason = STARTING
        self._holds: dict[str, Problem] = {}
        self._attached = asyncio.Event()
        self._changed = asyncio.Event()
        """Set (and replaced) at every change: what a waiting slot looks again at."""

    @property
    def backend(self) -> ImageBackend | None:
        """The backend to run jobs on; None while there is none or a hold is placed."""
        return self._backend if not self._holds else None

    @property
    def loaded(self) -> ImageBackend | None:
        """The backend loaded, held back or not: what the model offers and where it runs."""
        return self._backend

    @property
    def reason(self) -> Problem:
        """Why there is no backend to run on; stale while one is."""
        if self._backend is None:
            return self._reason
        return next(iter(self._holds.values()), self._reason)

    def attach(self, backend: ImageBackend) -> None:
        self._backend = backend
        self._update()

    def mark_unavailable(self, reason: Problem) -> None:
        self._backend = None
        self._reason = reason
        self._update()

    def hold(self, name: str, reason: Problem) -> None:
        """Place (or update) a hold: no job runs until it is released."""
        self._holds[name] = reason
        self._update()

    def release(self, name: str) -> None:
        self._holds.pop(name, None)
        self._update()

    def _update(self) -> None:
        if self.backend is not None:
            self._attached.set()
        else:
            self._attached.clear()
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def capacity_changed(self) -> None:
        """The backend now runs another number of jobs at once (workers came or went)."""
        self._update()

    async def wait_for_slot(self, slot: int) -> None:
        """Until a backend is attached, nothing holds, and it runs more than ``slot`` jobs
        at once: slot 0 is every backend's; more only where it has the workers for them."""
        while True:
            changed = self._changed
            backend = self.backend
            if backend is not None and slot < parallel_jobs(backend):
                return
            await changed.wait()

    async def wait_for_backend(self) -> None:
        """Until a backend is attached and nothing holds: jobs queued again after a
        restart wait for the model to load instead of failing while it does."""
        await self._attached.wait()

    def check(self, request: GenerationRequest) -> None:
        """Raise if the current backend cannot serve ``request``."""
        backend = self.backend
        if backend is None:
            raise ServiceUnavailable(self.reason.message, remedies=self.reason.remedies)
        if request.scheduler is not None and request.scheduler not in backend.schedulers:
            raise UnsupportedOption(
                "scheduler",
                f"This engine has no {request.scheduler!r} scheduler; it offers "
                f"{', '.join(backend.schedulers)}.",
            )
        self.check_mode(request.mode)

    def check_mode(self, mode: EditMode) -> None:
        """Raise if the loaded backend cannot do ``mode``: checked before a request's
        input images are decoded and stored, and again with the whole request."""
        backend = self.backend
        if backend is not None and mode not in backend.modes:
            # The one way a loaded model lacks a mode: an export without its VAE encoder.
            raise UnsupportedOption(
                "init_image",
                "The loaded model has no VAE encoder, so it cannot start from an image: "
                "image-to-image and inpainting need a complete export of the model.",
            )

    @property
    def schedulers(self) -> tuple[str, ...]:
        """What the loaded engine offers; none while no backend is loaded."""
        return tuple(self._backend.schedulers) if self._backend is not None else ()

    def request_defaults(self) -> Mapping[str, int | float]:
        """What the loaded model wants for fields a request leaves out."""
        return self._backend.request_defaults if self._backend is not None else {}

    def effective_defaults(self) -> dict[str, object]:
        standard = GenerationRequest(prompt="-").to_dict()
        return {key: standard[key] for key in _DEFAULTED_FIELDS} | dict(self.request_defaults())
