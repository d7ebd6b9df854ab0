"""The server's lifespan: what starts before the first request and stops after the last.

It owns the expensive resources the wiring built (`bootstrap.Services`): the data folder's
lock, the worker loop, the history on disk, and the model's download and load, which run
in the background so that the server answers meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import structlog
from starlette.applications import Starlette

from adapters.folder_lock import FolderInUse
from entrypoints.bootstrap import Services
from entrypoints.remedies import data_folder_in_use
from entrypoints.server_exit import call_on_server_exit, leave_at_once_if_model_work_runs

log = structlog.get_logger("app")

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


def lifespan_for(services: Services) -> Lifespan:
    service, lifecycle = services.service, services.lifecycle
    background: set[asyncio.Task[None]] = set()

    async def bring_up_backend() -> None:
        if services.cluster is not None:
            task = asyncio.create_task(services.cluster.run(), name="cluster-link")
            background.add(task)
            task.add_done_callback(background.discard)
        elif services.fixed_backend is not None:
            service.readiness.attach(services.fixed_backend)
            health = service.health()
            log.info("service_ready", mock=health.mock, device=health.device.active)
        elif lifecycle is not None and await lifecycle.check():
            # Downloading and compiling take minutes: the server answers meanwhile.
            task = asyncio.create_task(lifecycle.bring_up(), name="model-lifecycle")
            background.add(task)
            task.add_done_callback(background.discard)

    def lock_the_data_folder() -> None:
        # uvicorn runs this before it binds its port: a second server on the same folder
        # must stop here, before recovery marks the first one's running job interrupted.
        try:
            services.folder_lock.acquire()
        except FolderInUse as error:
            # Our line before uvicorn's traceback and "Application startup failed".
            log.error("data_folder_in_use", message=data_folder_in_use(error.folder, error.holder))
            raise

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        lock_the_data_folder()
        try:
            async with running(app):
                yield
        finally:
            services.folder_lock.release()

    @asynccontextmanager
    async def running(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(services.history_store.remove_partial_files)
        await asyncio.to_thread(services.upload_store.remove_leftovers)
        await asyncio.to_thread(service.recover_history)
        # Before the worker loop starts: no job runs unfiltered while the checker loads.
        service.safety.hold_until_loaded(service.readiness)
        await service.start()
        await bring_up_backend()
        safety = asyncio.create_task(service.safety.bring_up(service.readiness), name="safety")
        background.add(safety)
        safety.add_done_callback(background.discard)
        exit_watch = asyncio.create_task(call_on_server_exit(service.begin_shutdown))
        try:
            yield
        finally:
            exit_watch.cancel()
            for task in background:
                task.cancel()
            await service.stop()
            leave_at_once_if_model_work_runs(lifecycle)

    return lifespan
