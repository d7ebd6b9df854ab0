"""A job as a JSON record (the sidecar beside its images) and back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from domain.errors import DomainError, Remedy
from domain.generation_request import GenerationRequest
from domain.job import ImageRef, Job, JobError, JobErrorType, JobStatus

RECORD_VERSION = 1


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def job_record(
    job: Job,
    model: Mapping[str, object],
    engine: Mapping[str, str],
    *,
    accepted_seq: int | None = None,
) -> dict[str, Any]:
    """``accepted_seq`` is the job's place in the order of acceptance (see `History`)."""
    record = {
        "record_version": RECORD_VERSION,
        "job_id": job.id,
        "status": job.status.value,
        "request": job.request.to_dict(),
        "seed": job.seed,
        "provider": job.provider,
        "device": job.device,
        "mock": job.mock,
        "owner": job.owner,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "completed_at": _iso(job.completed_at),
        "duration_ms": job.duration_ms,
        "progress": {"step": job.step, "total": job.total_steps},
        "images": [
            {
                "name": ref.name,
                "seed": ref.seed,
                "width": ref.width,
                "height": ref.height,
                "nsfw": ref.nsfw,
            }
            for ref in job.images
        ],
        "error": _error_record(job.error) if job.error else None,
        "model": dict(model),
        "engine": dict(engine),
    }
    if accepted_seq is not None:
        record["accepted_seq"] = accepted_seq
    return record


def accepted_seq(record: Mapping[str, Any]) -> int | None:
    """The record's place in the order of acceptance; None in records from before it."""
    value = record.get("accepted_seq")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def job_from_record(record: Mapping[str, Any]) -> Job | None:
    """The job a record describes, or None when the record is not one we can read."""
    try:
        request = GenerationRequest.from_mapping(record["request"])
        created_at = _moment(record["created_at"])
        if created_at is None:
            return None
        error = record.get("error")
        progress = record.get("progress") or {}
        return Job(
            id=str(record["job_id"]),
            request=request,
            seed=int(record["seed"]),
            created_at=created_at,
            status=JobStatus(record["status"]),
            started_at=_moment(record.get("started_at")),
            completed_at=_moment(record.get("completed_at")),
            provider=record.get("provider"),
            device=record.get("device"),
            mock=bool(record.get("mock")),
            owner=record["owner"] if isinstance(record.get("owner"), str) else None,
            images=[
                ImageRef(
                    str(i["name"]),
                    int(i["seed"]),
                    int(i["width"]),
                    int(i["height"]),
                    i["nsfw"] if isinstance(i.get("nsfw"), bool) else None,
                )
                for i in record.get("images", [])
            ],
            error=_error_from_record(error) if error else None,
            step=int(progress.get("step", 0)),
            total_steps=int(progress.get("total", 0)),
        )
    except (KeyError, TypeError, ValueError, AttributeError, DomainError):
        # Any shape a damaged or hand-edited file may have: the caller skips it.
        return None


def _error_record(error: JobError) -> dict[str, Any]:
    return {
        "type": error.type.value,
        "message": error.message,
        "remedies": [remedy.value for remedy in error.remedies],
    }


def _error_from_record(record: Mapping[str, Any]) -> JobError:
    """Lenient: a record written by a newer version (a type or remedy this one does not
    know) still reads, so its job stays listed and under retention instead of vanishing."""
    try:
        error_type = JobErrorType(str(record["type"]))
    except ValueError:
        error_type = JobErrorType.GENERATION_FAILED
    known = {remedy.value for remedy in Remedy}
    remedies = tuple(Remedy(v) for v in map(str, record.get("remedies") or ()) if v in known)
    return JobError(error_type, str(record["message"]), remedies)
