"""Retention of uploaded input images in the running service: the images' policy, applied
at start-up and after each job's own retention pass (`domain/upload_retention.py` chooses).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import structlog

from application.ports import UploadStore
from domain.job import Job
from domain.retention import RetentionPolicy
from domain.upload_retention import expired_uploads

log = structlog.get_logger("history")


class UploadPruning:
    def __init__(self, uploads: UploadStore, policy: RetentionPolicy) -> None:
        self._uploads = uploads
        self._policy = policy

    def apply(self, jobs: Iterable[Job], now: datetime) -> int:
        """Remove the uploads the policy lets go (none a job still to run reads); returns
        how many went. Never raises: the next pass tries again."""
        if not self._policy.enabled:
            return 0
        removed = 0
        try:
            for upload in expired_uploads(self._uploads.all(), jobs, self._policy, now):
                if self._uploads.delete(upload.id):
                    removed += 1
        except Exception as error:
            log.error("upload_retention_failed", error_type=type(error).__name__, detail=str(error))
        if removed:
            log.info("upload_retention_applied", removed_uploads=removed)
        return removed
