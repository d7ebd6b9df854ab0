"""From "no model" to "ready": download when allowed, load the backend, report each stage.

The server answers from the first moment; while this runs, the service is
unavailable with a reason that says what is happening and how far it got.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import structlog

from application.generation_service import GenerationService
from application.ports import ImageBackend, ModelStatus, ModelStore
from domain.errors import DomainError

log = structlog.get_logger("model")

T = TypeVar("T")


def staging_hint(repo_id: str, directory: Path) -> str:
    """How to get the model in without this machine downloading it, and what works meanwhile.

    Shown wherever a download fails (the hub's message for "unreachable", the lifecycle's
    reason for the rest): the user's way forward must not depend on the hub.
    """
    return (
        f"To stage the model by hand, copy the files of {repo_id} into {directory} "
        "(MODEL_DIR), e.g. the folder `make download` fills on a machine with internet. "
        "Meanwhile `make demo` (USE_MOCKS=true) serves placeholder images."
    )


@dataclass(frozen=True)
class LifecyclePolicy:
    auto_download: bool
    missing_hint: str
    """What the user can do when the model is missing and nothing downloads it."""


class ModelLifecycle:
    def __init__(
        self,
        service: GenerationService,
        model_store: ModelStore,
        load_backend: Callable[[], ImageBackend],
        policy: LifecyclePolicy,
        go_offline: Callable[[], None] = lambda: None,
    ) -> None:
        self._service = service
        self._store = model_store
        self._load_backend = load_backend
        self._policy = policy
        self._go_offline = go_offline
        self._repo = ""
        self._directory = Path()
        self._cached = False
        self.download_progress: tuple[int, int] | None = None
        self.work_in_progress: str | None = None
        """"download" or "load" while that thread runs: neither can be interrupted."""

    async def start(self) -> None:
        """Bring the backend up, downloading first if the policy allows. Never raises."""
        if await self.check():
            await self.bring_up()

    async def check(self) -> bool:
        """Look at the model folder (no network); False, with the reason set, if that is all.

        Cheap enough to await before the server answers, so that a missing model is
        reported as such from the first request instead of "starting".
        """
        status = await asyncio.to_thread(self._store.status)
        self._repo, self._directory = status.repo_id, status.directory
        self._cached = status.cached
        if status.cached or self._policy.auto_download:
            return True
        self._service.mark_unavailable(self._missing_message(status))
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

    def report_download(self, done: int, total: int) -> None:
        """Progress from the download thread; turns into the service's unavailable reason."""
        self.download_progress = (done, total)
        percent = 100 * done // total if total else 0
        self._service.mark_unavailable(
            f"Downloading the model {self._repo}: {percent}% "
            f"({done / 1e6:.0f} of {total / 1e6:.0f} MB). Images can be generated when it is done."
        )

    async def _download(self) -> bool:
        self.report_download(0, 0)
        log.info("model_download_started", repo_id=self._repo)
        try:
            await in_daemon_thread(self._in_thread("download", self._store.download))
        except DomainError as error:
            self._service.mark_unavailable(
                self._with_staging_hint(f"The model download failed: {error.message}")
            )
            log.error("model_download_failed", repo_id=self._repo, reason=error.message)
            return False
        except Exception as error:
            self._service.mark_unavailable(
                self._with_staging_hint(
                    "The model download failed unexpectedly; the server log has the details."
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
        self._service.mark_unavailable(f"Loading the model {self._repo} onto the device.")
        try:
            backend = await in_daemon_thread(self._in_thread("load", self._load_backend))
        except DomainError as error:
            self._service.mark_unavailable(error.message)
            log.error("backend_load_failed", reason=error.message)
            return
        except Exception as error:
            self._service.mark_unavailable(
                "The model could not be loaded; the server log has the details. "
                "A damaged download is repaired by `make download`."
            )
            log.error("backend_load_failed", exc_info=error)
            return
        self._service.attach_backend(backend)
        log.info("service_ready", device=backend.device, fallback_reason=backend.fallback_reason)

    def _with_staging_hint(self, reason: str) -> str:
        hint = staging_hint(self._repo, self._directory)
        # The store's hub-unreachable message already carries the hint: say it once.
        return reason if hint in reason else f"{reason} {hint}"

    def _missing_message(self, status: ModelStatus) -> str:
        return (
            f"The model {status.repo_id} is not in {status.directory} "
            f"({len(status.missing)} required files missing). {self._policy.missing_hint}"
        )


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
