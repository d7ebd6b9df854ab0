"""What one client may do on a shared service: how often it submits, and whose jobs it sees.

The queue itself caps how many jobs one client may have waiting (`JobQueue.per_client`);
this module adds the rate of submissions (RATE_LIMIT, counted by the `limits` library in
a moving window) and the rule that a client sees only its own jobs unless it is an admin.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import HTTPConnection

from domain.errors import DomainError, JobNotFound, RateLimited
from domain.job import Job
from entrypoints.client_identity import client_of


class SubmissionLimit:
    """RATE_LIMIT per client; an empty rate admits everything."""

    def __init__(self, rate: str) -> None:
        self._item: RateLimitItem | None = parse(rate) if rate.strip() else None
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, client_id: str) -> None:
        """Raises RateLimited when the client has used up its rate; counts nothing."""
        if self._item is None or self._limiter.test(self._item, client_id):
            return
        reset_at = self._limiter.get_window_stats(self._item, client_id).reset_time
        raise RateLimited(
            f"Too many jobs submitted: at most {self._item} per client. "
            "Try again when the Retry-After header says.",
            retry_after_seconds=max(1, math.ceil(reset_at - time.time())),
        )

    def count(self, client_id: str) -> None:
        """One submission accepted: only those use up the rate, not refused ones."""
        if self._item is not None:
            self._limiter.hit(self._item, client_id)


def visible(connection: HTTPConnection, job: Job) -> bool:
    return client_of(connection).may_see(job.owner)


def ensure_visible(
    connection: HTTPConnection,
    job: Job,
    not_found: Callable[[str], DomainError] = lambda job_id: JobNotFound(f"No job {job_id}."),
) -> Job:
    """The job if this client may see it. Another client's job does not exist for it: the
    answer is the one an unknown id gets (``not_found``), so it tells nothing either."""
    if not visible(connection, job):
        raise not_found(job.id)
    return job
