"""`JobQueue.check_room`: the queue's refusals without accepting anything, so a request
can be refused before its costly part (decoding its input images)."""

from __future__ import annotations

import threading

import pytest

from domain.errors import ClientQueueFull, QueueFull
from domain.job import JobStatus
from tests.support.fakes import FakeBackend
from tests.support.running_service import make_service, run, small, until


def test_a_full_queue_is_refused_by_the_check_as_by_accept() -> None:
    backend = FakeBackend(hold=threading.Event())
    service, _ = make_service(backend, max_queue=1)

    async def scenario() -> None:
        running = service.queue.accept(small())
        await until(lambda: running.status is JobStatus.RUNNING)
        service.queue.check_room()  # room for one
        waiting = service.queue.accept(small())
        with pytest.raises(QueueFull) as checked:
            service.queue.check_room("alice")
        with pytest.raises(QueueFull) as accepted:
            service.queue.accept(small(), "alice")
        assert checked.value.message == accepted.value.message
        assert checked.value.retry_after_seconds == accepted.value.retry_after_seconds
        assert service.queue.waiting == (waiting,)
        assert backend.hold is not None
        backend.hold.set()

    run(service, scenario)


def test_a_client_with_its_share_waiting_is_refused_and_another_is_not() -> None:
    backend = FakeBackend(hold=threading.Event())
    service, _ = make_service(backend, max_queue=4)
    service.queue.per_client = 1

    async def scenario() -> None:
        running = service.queue.accept(small(), "bob")
        await until(lambda: running.status is JobStatus.RUNNING)
        waiting = service.queue.accept(small(), "alice")
        with pytest.raises(ClientQueueFull):
            service.queue.check_room("alice")
        service.queue.check_room("bob")
        service.queue.check_room(None)
        assert service.queue.waiting == (waiting,)
        assert backend.hold is not None
        backend.hold.set()

    run(service, scenario)
