"""The registry of foreign calls in progress: found by owner and by job, gone once ended;
a stop cancels the call's pending job, and one that came before the job cancels it too."""

from __future__ import annotations

from datetime import datetime, timezone

from domain.generation_request import GenerationRequest
from domain.job import Job
from entrypoints.calls_in_progress import CallsInProgress

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def job(job_id: str) -> Job:
    return Job(id=job_id, request=GenerationRequest(prompt="x"), seed=1, created_at=NOW)


def test_a_call_is_known_by_its_job_and_its_owners_interrupt_until_it_ends() -> None:
    calls = CallsInProgress()
    first = job("a")
    with calls.entered("alice", ends_on_interrupt=True) as call:
        call.job = first
        assert calls.of_job(first) is call and calls.of_job(job("b")) is None
        assert calls.under_way("alice") == []  # nothing of it has run yet
        call.begun = True
        assert calls.under_way("alice") == [call] and calls.under_way("bob") == []
    assert calls.under_way("alice") == [] and calls.of_job(first) is None


def test_a_call_of_another_api_is_never_under_way_for_an_interrupt() -> None:
    calls = CallsInProgress()
    with calls.entered("alice") as call:
        call.begun = True
        assert calls.under_way("alice") == []


def test_a_stop_cancels_the_pending_job_and_a_job_that_comes_after() -> None:
    cancelled: list[str] = []
    with CallsInProgress().entered("alice") as call:
        call.stop(lambda stopped: cancelled.append(stopped.id))
        assert call.stopped and cancelled == []  # between two jobs: nothing to cancel yet
        call.job = job("a")
        call.stop(lambda stopped: cancelled.append(stopped.id))
        assert cancelled == ["a"]


def test_a_stop_leaves_an_ended_job_alone() -> None:
    cancelled: list[str] = []
    with CallsInProgress().entered("alice") as call:
        call.job = job("a")
        call.job.cancel(NOW)
        call.stop(lambda stopped: cancelled.append(stopped.id))
        assert call.stopped and cancelled == []
