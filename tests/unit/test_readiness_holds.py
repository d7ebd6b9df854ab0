"""A readiness hold (the safety checker still loading, or unable to) keeps every job back:
no job is accepted or run while one is placed, whatever backend is loaded."""

from __future__ import annotations

import asyncio
import threading

import pytest

from application.ports import RenderedImage
from application.readiness import Readiness
from application.safety_screening import SafetyScreening
from domain.errors import Problem, Remedy, SafetyCheckerUnavailable, ServiceUnavailable
from domain.job import JobStatus
from tests.support.fakes import FakeBackend, FakeSafetyChecker
from tests.support.running_service import make_service, run, small, until

CHECKER_MISSING = SafetyCheckerUnavailable(
    "The safety checker is not in /models/checker.", (Remedy.DOWNLOAD_SAFETY_CHECKER,)
)


class PassingCover:
    """Covers nothing: these tests are about when the check runs, not what it does."""

    action = "blur"

    def cover(self, image: RenderedImage) -> RenderedImage:
        return image

    def cover_preview(self, jpeg: bytes) -> bytes:
        return jpeg


def test_a_hold_hides_the_backend_and_gives_its_reason() -> None:
    readiness = Readiness()
    backend = FakeBackend()
    readiness.attach(backend)
    readiness.hold("checker", Problem("Loading the checker."))

    assert readiness.backend is None
    assert readiness.loaded is backend
    assert readiness.reason.message == "Loading the checker."
    with pytest.raises(ServiceUnavailable, match="Loading the checker"):
        readiness.check(small())

    readiness.release("checker")
    assert readiness.backend is backend
    readiness.check(small())


def test_without_a_backend_the_backends_own_reason_comes_first() -> None:
    readiness = Readiness()
    readiness.mark_unavailable(Problem("Downloading the model."))
    readiness.hold("checker", Problem("Loading the checker."))

    assert readiness.reason.message == "Downloading the model."


def test_the_schedulers_and_defaults_of_a_held_backend_still_show() -> None:
    readiness = Readiness()
    readiness.attach(FakeBackend())
    readiness.hold("checker", Problem("Loading the checker."))

    assert readiness.schedulers


def test_no_job_runs_until_the_checker_has_loaded() -> None:
    loading = threading.Event()
    checker = FakeSafetyChecker(flag_all=True)

    def load() -> FakeSafetyChecker:
        assert loading.wait(10)
        return checker

    screening = SafetyScreening(PassingCover(), load_checker=load, requested="sd_checker")
    service, images = make_service(FakeBackend(), safety=screening)

    async def scenario() -> None:
        screening.hold_until_loaded(service.readiness)
        with pytest.raises(ServiceUnavailable, match="Loading the safety checker"):
            service.queue.accept(small())
        bring_up = asyncio.create_task(screening.bring_up(service.readiness))
        await asyncio.sleep(0.05)
        assert service.readiness.backend is None
        loading.set()
        await bring_up
        job = service.queue.accept(small())
        await until(lambda: job.status is JobStatus.SUCCEEDED, "the job to succeed")
        assert [ref.nsfw for ref in job.images] == [True]
        assert len(checker.judged) == 1

    run(service, scenario)
    assert images.saved


def test_a_checker_that_cannot_load_keeps_the_hold_with_its_reason() -> None:
    def load() -> FakeSafetyChecker:
        raise CHECKER_MISSING

    service, images = make_service(FakeBackend())
    screening = SafetyScreening(PassingCover(), load_checker=load, requested="sd_checker")

    async def scenario() -> None:
        await screening.bring_up(service.readiness)
        health = service.health()
        assert not health.ready
        assert health.reason is not None
        assert "not in /models/checker" in health.reason.message
        assert Remedy.DOWNLOAD_SAFETY_CHECKER in health.reason.remedies
        assert health.device.active == "CPU"
        with pytest.raises(ServiceUnavailable):
            service.queue.accept(small())

    run(service, scenario)
    assert not images.saved


def test_an_unexpected_load_failure_is_a_hold_too_never_unfiltered() -> None:
    def load() -> FakeSafetyChecker:
        raise OSError("the IR is damaged")

    readiness = Readiness()
    readiness.attach(FakeBackend())
    screening = SafetyScreening(PassingCover(), load_checker=load, requested="sd_checker")

    asyncio.run(screening.bring_up(readiness))

    assert readiness.backend is None
    assert Remedy.DOWNLOAD_SAFETY_CHECKER in readiness.reason.remedies
    assert screening.report().loaded is False
