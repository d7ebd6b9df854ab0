"""An ASGI app whose lifespan outlives schemathesis' test items, for in-process fuzzing.

Schemathesis reaches an ASGI app in this process through one event loop thread of its
own, starting the app's lifespan before the first request. Its pytest plugin ends that
lifespan after every test item, and this service cannot start again in the same process
once it has stopped (its queue stays closed to new work). `LastingLifespan` stands in
front of the app: it starts the app's lifespan once, on the loop that serves it, answers
schemathesis' later startups and shutdowns itself, and runs the app's shutdown only when
`close` is called (from the fixture that owns the app). So the worker loop, the queue and
the data-folder lock live across every case, as under a real server.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SHUTDOWN_TIMEOUT_SECONDS = 60.0


class LastingLifespan:
    def __init__(self) -> None:
        self._app: ASGIApp | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lifespan: asyncio.Task[None] | None = None
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._state: MutableMapping[str, Any] = {}
        self.requests = 0
        """HTTP requests served: a case of a run with a key is sent up to three times."""

    def serve(self, app: ASGIApp) -> None:
        """The app to stand in front of; its lifespan starts with the first request."""
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._answer_lifespan(receive, send)
            return
        if self._app is None:
            raise RuntimeError("LastingLifespan.serve(app) was not called")
        self.requests += 1
        # What the app's own lifespan put in its state, as a server passes it on.
        scope["state"] = dict(self._state)
        await self._app(scope, receive, send)

    def close(self) -> None:
        """Run the app's lifespan shutdown on its loop; call from any other thread."""
        if self._loop is not None and self._lifespan is not None:
            future = asyncio.run_coroutine_threadsafe(self._stop(), self._loop)
            future.result(timeout=SHUTDOWN_TIMEOUT_SECONDS)
        self._loop = self._lifespan = None

    async def _answer_lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        try:
            await self._start()
        except Exception as error:
            await send({"type": "lifespan.startup.failed", "message": str(error)})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown: the app itself stays up until close()
        await send({"type": "lifespan.shutdown.complete"})

    async def _start(self) -> None:
        if self._lifespan is not None:
            return
        if self._app is None:
            raise RuntimeError("LastingLifespan.serve(app) was not called")
        self._loop = asyncio.get_running_loop()
        # Made here, on the loop that uses them (before 3.10 a queue bound its loop early).
        self._to_app, self._from_app = asyncio.Queue(), asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self._state}
        self._lifespan = asyncio.create_task(
            self._app(scope, self._to_app.get, self._from_app.put)  # type: ignore[arg-type]
        )
        await self._to_app.put({"type": "lifespan.startup"})
        answer = await self._answer()
        if answer["type"] != "lifespan.startup.complete":
            self._lifespan = None
            raise RuntimeError(f"the app failed to start: {answer.get('message', answer)}")

    async def _stop(self) -> None:
        await self._to_app.put({"type": "lifespan.shutdown"})
        answer = await self._answer()
        if self._lifespan is not None:
            await self._lifespan
        if answer["type"] != "lifespan.shutdown.complete":
            raise RuntimeError(f"the app failed to stop: {answer.get('message', answer)}")

    async def _answer(self) -> Message:
        """The app's next lifespan message, or its exception if it ends without one."""
        assert self._lifespan is not None
        message = asyncio.ensure_future(self._from_app.get())
        await asyncio.wait({message, self._lifespan}, return_when=asyncio.FIRST_COMPLETED)
        if message.done():
            return message.result()
        message.cancel()
        self._lifespan.result()  # raises what the app raised
        return {"type": "lifespan.ended", "message": "the lifespan ended without an answer"}
