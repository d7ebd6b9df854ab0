"""Turning service results into the JSON the API promises."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.generation_service import GenerationService
from application.health import HealthReport
from domain.job import Job


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def job_json(job: Job, service: GenerationService) -> dict[str, Any]:
    images = [
        {"url": f"/images/{ref.name}", "seed": ref.seed, "width": ref.width, "height": ref.height}
        for ref in job.images
    ]
    return {
        "job_id": job.id,
        "status": job.status.value,
        "queue_position": service.queue_position(job),
        "progress": {"step": job.step, "total": job.total_steps},
        "eta_seconds": service.eta_seconds(job),
        "provider": job.provider,
        "device": job.device,
        "mock": job.mock,
        "seed": job.seed,
        "params": job.request.to_dict(),
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "completed_at": iso(job.completed_at),
        "duration_ms": job.duration_ms,
        "image_url": images[0]["url"] if images else None,
        "images": images,
        "error": {"type": job.error.type, "message": job.error.message} if job.error else None,
        "urls": {"self": f"/jobs/{job.id}", "events": f"/jobs/{job.id}/events"},
    }


def health_json(
    report: HealthReport, version: str, limits: dict[str, float | int]
) -> dict[str, Any]:
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
            "fallback_reason": report.device.fallback_reason,
        },
        "queue": {"queued": report.queued, "running": report.running},
        "defaults": report.defaults,
        "limits": limits,
        "version": version,
    }
    if report.reason:
        body["reason"] = report.reason
    return body
