"""Which uploads the images' retention policy removes, and which it never does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from domain.generation_request import GenerationRequest
from domain.input_image import InputImage
from domain.job import Job, JobStatus
from domain.retention import RetentionPolicy
from domain.upload_retention import UPLOAD_GRACE, expired_uploads, uploads_in_use

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Upload:
    id: str
    created_at: datetime
    last_used: datetime | None = None


def upload(upload_id: str, days_ago: float) -> Upload:
    return Upload(upload_id, NOW - timedelta(days=days_ago))


def job_reading(init: str, mask: str | None = None, status: JobStatus = JobStatus.QUEUED) -> Job:
    def image(upload_id: str) -> InputImage:
        return InputImage(upload_id, "0" * 64, 64, 64)

    request = GenerationRequest(
        prompt="p",
        width=64,
        height=64,
        init_image=image(init),
        mask_image=image(mask) if mask else None,
    )
    return Job(id=f"job-{init}", request=request, seed=1, created_at=NOW, status=status)


def ids(uploads: list[Upload]) -> list[str]:
    return [item.id for item in uploads]


def test_no_policy_removes_nothing() -> None:
    uploads = [upload("a", 400), upload("b", 300)]
    assert expired_uploads(uploads, [], RetentionPolicy(), NOW) == []


def test_uploads_past_the_age_limit_go() -> None:
    uploads = [upload("new", 1), upload("old", 10), upload("older", 20)]
    policy = RetentionPolicy(max_age_days=7)
    assert ids(expired_uploads(uploads, [], policy, NOW)) == ["older", "old"]


def test_beyond_the_count_the_oldest_go() -> None:
    uploads = [upload(name, days) for name, days in (("c", 1), ("a", 3), ("b", 2), ("d", 0.5))]
    policy = RetentionPolicy(max_images=2)
    assert ids(expired_uploads(uploads, [], policy, NOW)) == ["a", "b"]


def test_age_and_count_together() -> None:
    uploads = [upload("a", 30), upload("b", 3), upload("c", 2), upload("d", 1)]
    policy = RetentionPolicy(max_images=2, max_age_days=7)
    assert ids(expired_uploads(uploads, [], policy, NOW)) == ["a", "b"]


def test_an_upload_a_waiting_or_running_job_reads_is_never_removed() -> None:
    uploads = [upload("init", 30), upload("mask", 29), upload("other", 28), upload("new", 1)]
    jobs = [
        job_reading("init", "mask", JobStatus.QUEUED),
        job_reading("other", status=JobStatus.RUNNING),
    ]
    policy = RetentionPolicy(max_images=1, max_age_days=7)
    # All three are past the age and over the count; only the one no job reads goes.
    assert ids(expired_uploads(uploads, jobs, policy, NOW)) == ["new"]


def test_a_finished_job_does_not_hold_its_inputs() -> None:
    uploads = [upload("init", 30), upload("mask", 29)]
    jobs = [job_reading("init", "mask", JobStatus.SUCCEEDED)]
    assert uploads_in_use(jobs) == set()
    assert ids(expired_uploads(uploads, jobs, RetentionPolicy(max_age_days=7), NOW)) == [
        "init",
        "mask",
    ]


def test_uploads_in_use_count_towards_the_limit() -> None:
    uploads = [upload("in-use", 30), upload("a", 3), upload("b", 2)]
    jobs = [job_reading("in-use", status=JobStatus.RUNNING)]
    policy = RetentionPolicy(max_images=2)
    assert ids(expired_uploads(uploads, jobs, policy, NOW)) == ["a"]


def test_an_upload_in_its_grace_period_is_not_removed() -> None:
    just_made = Upload("just-made", NOW - UPLOAD_GRACE / 2)
    uploads = [upload("old", 1), just_made]
    assert ids(expired_uploads(uploads, [], RetentionPolicy(max_images=0), NOW)) == ["old"]
    assert expired_uploads([just_made], [], RetentionPolicy(max_age_days=1e-6), NOW) == []


def test_age_and_grace_count_from_the_last_use() -> None:
    named_again = Upload("named-again", NOW - timedelta(days=30), NOW - UPLOAD_GRACE / 2)
    used_last_week = Upload("used-last-week", NOW - timedelta(days=30), NOW - timedelta(days=7))
    never_used = upload("never-used", 20)
    uploads = [named_again, used_last_week, never_used]
    by_age = expired_uploads(uploads, [], RetentionPolicy(max_age_days=10), NOW)
    assert ids(by_age) == ["never-used"]
    # By count, the least recently active go first; the one just named never does.
    by_count = expired_uploads(uploads, [], RetentionPolicy(max_images=0), NOW)
    assert ids(by_count) == ["never-used", "used-last-week"]


def test_a_last_use_before_creation_does_not_age_an_upload() -> None:
    odd = Upload("odd", NOW - UPLOAD_GRACE / 2, NOW - timedelta(days=40))  # a clock set back
    assert expired_uploads([odd], [], RetentionPolicy(max_age_days=1), NOW) == []
