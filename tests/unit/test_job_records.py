"""Job records from other versions of the service: older ones and newer ones both read."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from application.job_records import job_from_record, job_record
from domain.errors import Remedy
from domain.generation_request import GenerationRequest
from domain.job import Job, JobError, JobErrorType

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def failed_record(error: dict[str, Any]) -> dict[str, Any]:
    job = Job(id="j1", request=GenerationRequest(prompt="p", seed=1), seed=1, created_at=NOW)
    job.start(NOW, "openvino", "CPU", mock=False)
    job.fail(NOW, JobError(JobErrorType.TIMEOUT, "t", (Remedy.RAISE_TIMEOUT,)))
    return {**job_record(job, {}, {}), "error": error}


def test_a_failure_round_trips_with_its_type_and_remedies() -> None:
    record = failed_record({"type": "timeout", "message": "t", "remedies": ["raise_timeout"]})
    job = job_from_record(record)
    assert job is not None and job.error == JobError(
        JobErrorType.TIMEOUT, "t", (Remedy.RAISE_TIMEOUT,)
    )


def test_an_older_record_without_remedies_reads() -> None:
    job = job_from_record(failed_record({"type": "interrupted", "message": "stopped"}))
    assert job is not None and job.error == JobError(JobErrorType.INTERRUPTED, "stopped")


def test_a_newer_records_unknown_type_and_remedy_still_read() -> None:
    newer = {"type": "safety_filtered", "message": "m", "remedies": ["later", "use_cpu"]}
    job = job_from_record(failed_record(newer))
    # Kept, so it stays listed and under retention, with what this version understands.
    assert job is not None and job.error == JobError(
        JobErrorType.GENERATION_FAILED, "m", (Remedy.USE_CPU,)
    )
