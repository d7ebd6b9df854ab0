"""Turning service results into the JSON the API promises.

Problems and job errors are worded here, through `remedies.describe`: the inner layers
hand over facts and remedies, and people read one sentence.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.health import HealthReport
from domain.errors import Problem
from domain.generation_request import SCHEDULER_LABELS, request_bounds
from domain.job import ImageRef, Job, JobError
from entrypoints.remedies import describe
from entrypoints.settings import Settings


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def job_error_json(error: JobError, settings: Settings) -> dict[str, str]:
    problem = Problem(error.message, error.remedies)
    return {"type": error.type.value, "message": describe(problem, settings)}


def image_json(ref: ImageRef) -> dict[str, Any]:
    return {
        "url": f"/images/{ref.name}",
        "seed": ref.seed,
        "width": ref.width,
        "height": ref.height,
        # True: the safety checker flagged it and the stored image is covered;
        # null: no checker judged it.
        "nsfw": ref.nsfw,
    }


def job_json(
    job: Job, queue_position: int | None, now: datetime, settings: Settings
) -> dict[str, Any]:
    images = [image_json(ref) for ref in job.images]
    return {
        "job_id": job.id,
        "status": job.status.value,
        "queue_position": queue_position,
        "progress": {"step": job.step, "total": job.total_steps},
        "eta_seconds": job.eta_seconds(now),
        "provider": job.provider,
        "device": job.device,
        "mock": job.mock,
        "seed": job.seed,
        "mode": job.request.mode.value,
        "params": job.request.to_dict(),
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "completed_at": iso(job.completed_at),
        "duration_ms": job.duration_ms,
        "image_url": images[0]["url"] if images else None,
        "images": images,
        "error": job_error_json(job.error, settings) if job.error else None,
        "urls": {"self": f"/jobs/{job.id}", "events": f"/jobs/{job.id}/events"},
    }


def event_json(data: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """A job event's data as sent: a final event's error is worded like a job's, its
    images (a success's) presented like the job's."""
    error = data.get("error")
    if isinstance(error, JobError):
        data = {**data, "error": job_error_json(error, settings)}
    images = data.get("images")
    if isinstance(images, (list, tuple)):
        data = {
            **data,
            "images": [image_json(ref) if isinstance(ref, ImageRef) else ref for ref in images],
        }
    return data


def health_json(report: HealthReport, version: str, settings: Settings) -> dict[str, Any]:
    fallback = report.device.fallback_reason
    body: dict[str, Any] = {
        "status": report.status,
        "mock": report.mock,
        "model": {
            "repo_id": report.model.repo_id,
            "cached": report.model.cached,
            "dir": str(report.model.directory),
        },
        "cache_dirs": {"models": str(report.model.directory), "generated": report.generated_dir},
        "device": {
            "target": report.device.target,
            "active": report.device.active,
            "fallback_reason": describe(fallback, settings) if fallback is not None else None,
        },
        "queue": {"queued": report.queued, "running": report.running},
        # Below min_free_mb in either folder, new jobs get 507 and the status is degraded.
        "disk": {
            **{
                reading.role: {"dir": str(reading.path), "free_mb": reading.free_mb}
                for reading in report.disk
            },
            "min_free_mb": report.min_free_mb,
        },
        "defaults": report.defaults,
        # What the UI builds its form from, so that no client repeats the server's rules.
        "schedulers": [
            {"name": name, "label": SCHEDULER_LABELS.get(name, name)} for name in report.schedulers
        ],
        "request_bounds": request_bounds(),
        # What a client must fit in: the UI warns when a job's pace will not finish in time.
        "limits": {
            "inference_timeout_seconds": settings.inference_timeout_seconds,
            "max_queue": settings.max_queue,
        },
        "version": version,
    }
    if report.safety is not None:
        safety = report.safety
        # What the filter does, so a teacher can check it before the class sees images.
        body["safety"] = {
            "checker": safety.checker,
            "action": safety.action,
            "previews": safety.previews,
            "loaded": safety.loaded,
            "version": safety.version,
            "device": safety.device,
        }
    if report.reason is not None:
        body["reason"] = describe(report.reason, settings)
    return body
