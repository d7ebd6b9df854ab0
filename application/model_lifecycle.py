"""From "no model" to "ready": download when allowed, load the backend, report each stage.

The server answers from the first moment; while this runs, the service is
unavailable with a reason that says what is happening and how far it got.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import structlog

from application.ports import ImageBackend, ModelStatus, ModelStore
from application.readiness import Readiness
from domain.errors import DomainError, Problem, Remedy

log = structlog.get_logger("model")

T = TypeVar("T")

# Whoever cannot download (no hub, a failed download) needs the way around it.
STAGING_REMEDIES = (Remedy.STAGE_MODEL_BY_HAND, Remedy.DEMO_MODE)
MISSING_REMEDIES = (Remedy.DOWNLOAD_MODEL, Remedy.DOWNLOAD_AT_START, Remedy.DEMO_MODE)


class ModelLifecycle:
    def __init__(
        self,
        readiness: Readiness,
        model_store: ModelStore,
        load_backend: Callable[[], ImageBackend],
        *,
        auto_download: bool,
        go_offline: Callable[[], None] = lambda: None,
    ) -> None:
        self._readiness = readiness
        self._store = model_store
        self._load_backend = load_backend
        self._auto_download = auto_download
        self._go_offline = go_offline
        self._repo = ""
        self._cached = False
        self.work_in_progress: str | None = None
        """"download" or "load" while that thread runs: neither can be interrupted."""

    async def check(self) -> bool:
        """Look at the model folder (no network); False, with the reason set, if that is all.

        Cheap enough to await before the server answers, so that a missing model is
        reported as such from the first request instead of "starting".
        """
        status = await asyncio.to_thread(self._store.status)
        self._repo = status.repo_id
        self._cached = status.cached
        if status.cached or self._auto_download:
            return True
        self._readiness.mark_unavailable(_missing(status))
        log.warning(
            "model_missing",
            repo_id=status.repo_id,
            missing=len(status.missing),
            dir=str(status.directory),
        )
        return False

    async def bring_up(self) -> None:
        """Download if :meth:`check` found the model missing, then load. Never raises."""
        if not self._cached and not await self._download():
            return
        await self._load()

    def _report_download(self, done: int, total: int) -> None:
        """Progress from the download threads; turns into the unavailable reason."""
        percent = 100 * done // total if total else 0
        self._readiness.mark_unavailable(
            Problem(
                f"Downloading the model {self._repo}: {percent}% ({done / 1e6:.0f} of "
                f"{total / 1e6:.0f} MB). Images can be generated when it is done."
            )
        )

    async def _download(self) -> bool:
        self._report_download(0, 0)
        log.info("model_download_started", repo_id=self._repo)
        download = partial(self._store.download, on_progress=self._report_download)
        try:
            await in_daemon_thread(self._in_thread("download", download))
        except DomainError as error:
            self._readiness.mark_unavailable(
                _with_staging(f"The model download failed: {error.message}", error.remedies)
            )
            log.error(
                "model_download_failed",
                repo_id=self._repo,
                reason=error.message,
                remedies=[remedy.value for remedy in error.remedies],
            )
            return False
        except Exception as error:
            self._readiness.mark_unavailable(
                _with_staging(
                    "The model download failed unexpectedly; the server log has the details.", ()
                )
            )
            log.error("model_download_failed", repo_id=self._repo, exc_info=error)
            return False
        log.info("model_download_finished", repo_id=self._repo)
        return True

    def _in_thread(self, work: str, run: Callable[[], T]) -> Callable[[], T]:
        self.work_in_progress = work

        def tracked() -> T:
            # Cleared by the thread itself: a server stopping meanwhile must see it running.
            try:
                return run()
            finally:
                self.work_in_progress = None

        return tracked

    async def _load(self) -> None:
        self._go_offline()
        loading = Problem(f"Loading the model {self._repo} onto the device.")
        self._readiness.mark_unavailable(loading)
        try:
            backend = await in_daemon_thread(self._in_thread("load", self._load_backend))
        except DomainError as error:
            self._readiness.mark_unavailable(error.problem)
            log.error(
                "backend_load_failed",
                reason=error.message,
                remedies=[remedy.value for remedy in error.remedies],
            )
            return
        except Exception as error:
            self._readiness.mark_unavailable(
                Problem(
                    "The model could not be loaded; the server log has the details.",
                    (Remedy.DOWNLOAD_MODEL,),
                )
            )
            log.error("backend_load_failed", exc_info=error)
            return
        self._readiness.attach(backend)
        fallback = backend.fallback_reason
        log.info(
            "service_ready",
            device=backend.device,
            fallback_reason=fallback.message if fallback is not None else None,
        )


def _missing(status: ModelStatus) -> Problem:
    return Problem(
        f"The model {status.repo_id} is not in {status.directory} "
        f"({len(status.missing)} required files missing).",
        MISSING_REMEDIES,
    )


def _with_staging(message: str, remedies: tuple[Remedy, ...]) -> Problem:
    """The download's own remedies, then the way around the hub, each said once."""
    return Problem(message, tuple(dict.fromkeys((*remedies, *STAGING_REMEDIES))))


async def in_daemon_thread(work: Callable[[], T]) -> T:
    """Run ``work`` in a daemon thread and wait for it.

    Unlike ``asyncio.to_thread``, a download or compile still under way does not hold
    up the process at shutdown: Ctrl+C stops the server at once, and the manifest
    check repairs a half-finished download at the next start.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def target() -> None:
        try:
            result = work()
        except BaseException as error:
            outcome: tuple[T | None, BaseException | None] = (None, error)
        else:
            outcome = (result, None)
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=target, name="model-lifecycle", daemon=True).start()
    return await future
