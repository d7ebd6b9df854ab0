"""What one client may do on a shared service: submission rate, waiting jobs, whose jobs it sees."""

from __future__ import annotations

import asyncio

import pytest

from domain.errors import ClientQueueFull, RateLimited
from entrypoints.client_identity import Client
from entrypoints.client_limits import SubmissionLimit
from tests.support.fakes import FakeBackend
from tests.support.running_service import make_service, small


def test_a_client_past_its_rate_is_refused_with_a_wait_and_others_are_not() -> None:
    limit = SubmissionLimit("2/minute")
    for _ in range(2):
        limit.check("teacher")
        limit.count("teacher")
    with pytest.raises(RateLimited) as refused:
        limit.check("teacher")
    assert 1 <= refused.value.retry_after_seconds <= 60
    assert "2 per 1 minute" in refused.value.message
    limit.check("student")


def test_only_what_is_counted_uses_up_the_rate() -> None:
    limit = SubmissionLimit("1/minute")
    for _ in range(5):
        limit.check("teacher")  # refused elsewhere (a typo, a full queue): never counted


def test_no_rate_admits_everything() -> None:
    limit = SubmissionLimit("")
    for _ in range(1000):
        limit.check("anyone")
        limit.count("anyone")


def test_one_client_cannot_fill_the_queue() -> None:
    service, _ = make_service(FakeBackend(), max_queue=8)
    service.queue.per_client = 2

    async def scenario() -> None:
        service.queue.accept(small(), "teacher")
        service.queue.accept(small(), "teacher")
        with pytest.raises(ClientQueueFull) as refused:
            service.queue.accept(small(), "teacher")
        assert refused.value.retry_after_seconds >= 1
        # Others still get in, and so do jobs nobody owns (a service without clients).
        service.queue.accept(small(), "student")
        service.queue.accept(small())
        assert [job.owner for job in service.queue.waiting] == [
            "teacher",
            "teacher",
            "student",
            None,
        ]

    asyncio.run(scenario())


def test_a_client_sees_its_own_jobs_and_an_admin_sees_all() -> None:
    student = Client("student", admin=False)
    teacher = Client("teacher", admin=True)
    assert student.may_see("student")
    assert not student.may_see("other")
    assert not student.may_see(None)  # from before keys were set
    assert teacher.may_see("student")
