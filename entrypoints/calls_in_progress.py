"""The foreign calls in progress (`run_in_jobs`): whose each is, which job it waits for
now, and whether it was told to stop.

A call of more images than one job makes runs as consecutive jobs, each queued when the
one before has ended. Between two of them none of the call's jobs runs, and for a moment
none is even queued, so stopping "the running job" can miss the call: AUTOMATIC1111's
`interrupt` stops the call itself here, and `run_in_jobs` queues nothing more for it.

Only a begun AUTOMATIC1111 call ends by its client's interrupt that way: A1111 stops the
generation under way, never requests still waiting, and without keys every tool on the
machine is one client (SillyTavern interrupts whenever its page closes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from domain.job import Job


@dataclass(eq=False)
class CallInProgress:
    owner: str
    """The client that made the call (`Client.id`)."""
    job: Job | None = None
    """The job the call waits for now (queued or running); between two, the last one."""
    stopped: bool = False
    """Told to stop: it cancels its job and queues no other."""
    ends_on_interrupt: bool = False
    """An AUTOMATIC1111 call: its client's interrupt ends it once it has begun."""
    begun: bool = False
    """One of its jobs has run: between two jobs it is still the generation under way."""

    def stop(self, cancel: Callable[[Job], None]) -> None:
        """Stop the call, cancelling its job unless that has ended. Asked again (the job
        accepted after a stop), it cancels the new job."""
        self.stopped = True
        if self.job is not None and not self.job.status.is_final:
            cancel(self.job)


class CallsInProgress:
    def __init__(self) -> None:
        self._calls: list[CallInProgress] = []

    @contextmanager
    def entered(self, owner: str, ends_on_interrupt: bool = False) -> Iterator[CallInProgress]:
        """The call of ``owner``, known here until it has ended (answered, failed, left)."""
        call = CallInProgress(owner, ends_on_interrupt=ends_on_interrupt)
        self._calls.append(call)
        try:
            yield call
        finally:
            self._calls.remove(call)

    def under_way(self, owner: str) -> list[CallInProgress]:
        """``owner``'s begun calls that its interrupt ends."""
        return [
            call
            for call in self._calls
            if call.owner == owner and call.ends_on_interrupt and call.begun
        ]

    def of_job(self, job: Job) -> CallInProgress | None:
        """The call ``job`` belongs to; None for a job outside any (`POST /jobs`, the UI's)."""
        return next((call for call in self._calls if call.job is job), None)
