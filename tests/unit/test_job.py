from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.errors import InvalidTransition
from domain.generation_request import GenerationRequest
from domain.job import ImageRef, Job, JobError, JobErrorType, JobStatus

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def new_job() -> Job:
    return Job(
        id="j1", request=GenerationRequest(prompt="x", num_inference_steps=4), seed=7, created_at=T0
    )


def test_happy_path_records_times_device_and_images() -> None:
    job = new_job()
    assert job.status.value == "queued"
    assert job.duration_ms is None
    job.start(T0 + timedelta(seconds=1), "openvino", "GPU", mock=False)
    job.report_progress(2, 4, T0 + timedelta(seconds=2))
    assert (job.status, job.step, job.total_steps) == (JobStatus.RUNNING, 2, 4)
    image = ImageRef("j1.png", 7, 512, 512)
    job.succeed(T0 + timedelta(seconds=3.5), [image], device="CPU")
    assert job.status is JobStatus.SUCCEEDED and job.status.is_final
    assert job.images == [image] and job.device == "CPU" and job.step == 4
    assert job.duration_ms == 2500


@pytest.mark.parametrize("final", ["succeed", "fail", "cancel"])
def test_final_states_accept_no_further_transition(final: str) -> None:
    job = new_job()
    job.start(T0, "mock", "mock", mock=True)
    if final == "succeed":
        job.succeed(T0, [], device="mock")
    elif final == "fail":
        job.fail(T0, JobError(JobErrorType.GENERATION_FAILED, "y"))
    else:
        job.cancel(T0)
    with pytest.raises(InvalidTransition):
        job.start(T0, "mock", "mock", mock=True)
    with pytest.raises(InvalidTransition):
        job.cancel(T0)


def test_queued_job_can_be_cancelled_or_failed_but_not_succeed() -> None:
    job = new_job()
    with pytest.raises(InvalidTransition):
        job.succeed(T0, [], device="CPU")
    job.cancel(T0)
    assert job.status is JobStatus.CANCELLED
    other = new_job()
    other.fail(T0, JobError(JobErrorType.INTERRUPTED, "The process stopped."))
    assert other.status is JobStatus.FAILED and other.error is not None


def test_progress_is_ignored_unless_running() -> None:
    job = new_job()
    job.report_progress(3, 4, T0)
    assert job.step == 0


def test_total_steps_count_every_image_of_a_batch() -> None:
    job = Job(
        id="b",
        request=GenerationRequest(prompt="x", num_inference_steps=5, num_images=3),
        seed=1,
        created_at=T0,
    )
    job.start(T0, "mock", "mock", mock=True)
    assert job.total_steps == 15


def test_image_names_are_known_before_the_images_exist() -> None:
    assert new_job().image_names() == ["j1.png"]
    batch = Job(id="b", request=GenerationRequest(prompt="x", num_images=3), seed=1, created_at=T0)
    assert batch.image_names() == ["b-0.png", "b-1.png", "b-2.png"]


def test_eta_takes_its_pace_from_the_first_step_on() -> None:
    job = Job(
        id="e", request=GenerationRequest(prompt="x", num_inference_steps=10), seed=1, created_at=T0
    )
    job.start(T0, "openvino", "CPU", mock=False)
    assert job.eta_seconds(T0 + timedelta(seconds=1)) is None  # no step yet
    # The first step took 9 s (text encoder and a compile); then 1 s per step.
    job.report_progress(1, 10, T0 + timedelta(seconds=9))
    assert job.eta_seconds(T0 + timedelta(seconds=9)) == 81.0  # only the first step to go on
    job.report_progress(3, 10, T0 + timedelta(seconds=11))
    assert job.eta_seconds(T0 + timedelta(seconds=11)) == 7.0  # not 11 / 3 * 7 = 25.7
    job.succeed(T0 + timedelta(seconds=19), [], device="CPU")
    assert job.eta_seconds(T0 + timedelta(seconds=19)) is None
