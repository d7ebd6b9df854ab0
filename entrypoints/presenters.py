"""Turning service results into the JSON the API promises."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.generation_service import HealthReport
from domain.job import Job


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def job_json(job: Job) -> dict[str, Any]:
    first = job.images[0] if job.images else None
    return {
        "job_id": job.id,
        "status": job.status.value,
        "provider": job.provider,
        "device": job.device,
        "mock": job.mock,
        "seed": job.seed,
        "params": job.request.to_dict(),
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "completed_at": iso(job.completed_at),
        "duration_ms": job.duration_ms,
        "image_url": f"/images/{first.name}" if first else None,
    }


def health_json(report: HealthReport, version: str) -> dict[str, Any]:
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
        "version": version,
    }
    if report.reason:
        body["reason"] = report.reason
    return body
