"""A job: one generation request on its way from queued to a final state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from domain.errors import InvalidTransition, Remedy
from domain.generation_request import GenerationRequest


class JobStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}

_ALLOWED: dict[JobStatus, set[JobStatus]] = {
    JobStatus.QUEUED: {JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED},
    JobStatus.RUNNING: {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED},
    JobStatus.SUCCEEDED: set(),
    JobStatus.FAILED: set(),
    JobStatus.CANCELLED: set(),
}


@dataclass(frozen=True)
class ImageRef:
    """A stored image a job produced."""

    name: str
    seed: int
    width: int
    height: int
    nsfw: bool | None = None
    """The safety checker's verdict: True when it flagged the image, whose stored pixels
    are then covered (blurred or replaced); None when no checker looked at it."""


class JobErrorType(str, Enum):
    """Why a job failed; callers branch on this, never on the message."""

    GENERATION_FAILED = "generation_failed"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    INTERRUPTED = "interrupted"
    """The service stopped while the job ran (at a clean stop, or found at the next start)."""
    INSUFFICIENT_STORAGE = "insufficient_storage"
    """The disk was full when the images were saved: not the engine's fault."""
    STORAGE_FAILED = "storage_failed"
    """The images could not be saved for another reason (permissions, a vanished folder)."""
    INPUT_MISSING = "input_missing"
    """An input image (an upload) was removed between acceptance and the run."""


@dataclass(frozen=True)
class JobError:
    type: JobErrorType
    message: str
    """Facts only; what the user can do is in ``remedies``, worded at the edge."""
    remedies: tuple[Remedy, ...] = ()


@dataclass
class Job:
    """A generation job and what happened to it.

    The seed is fixed when the job is created, so a request without a seed
    still reports the one that made its image.
    """

    id: str
    request: GenerationRequest
    seed: int
    created_at: datetime
    status: JobStatus = JobStatus.QUEUED
    started_at: datetime | None = None
    completed_at: datetime | None = None
    provider: str | None = None
    device: str | None = None
    mock: bool = False
    owner: str | None = None
    """The client that submitted it (an API key's name, or an address); None: anyone's."""
    images: list[ImageRef] = field(default_factory=list)
    error: JobError | None = None
    step: int = 0
    total_steps: int = 0
    _pace_from: tuple[datetime, int] | None = field(default=None, init=False, repr=False)
    """When the first step was reported, and its number: where the ETA's pace starts."""

    def __post_init__(self) -> None:
        if not self.total_steps:
            self.total_steps = self.request.denoising_steps * self.request.num_images

    def start(self, now: datetime, provider: str, device: str, mock: bool) -> None:
        self._move_to(JobStatus.RUNNING)
        self.started_at = now
        self.provider, self.device, self.mock = provider, device, mock

    def report_progress(self, step: int, total: int, now: datetime) -> None:
        if self.status is not JobStatus.RUNNING:
            return
        if self._pace_from is None:
            self._pace_from = (now, step)
        self.step, self.total_steps = step, total

    def succeed(self, now: datetime, images: list[ImageRef], device: str) -> None:
        self._move_to(JobStatus.SUCCEEDED)
        self.completed_at = now
        self.images = list(images)
        self.device = device
        self.step = self.total_steps

    def fail(self, now: datetime, error: JobError) -> None:
        self._move_to(JobStatus.FAILED)
        self.completed_at = now
        self.error = error

    def cancel(self, now: datetime) -> None:
        self._move_to(JobStatus.CANCELLED)
        self.completed_at = now

    def image_names(self) -> list[str]:
        """The file names of this job's images, known before any is written.

        The one place they are made: the worker saves under them, and recovery after a
        crash removes them, since a job interrupted while saving has no image list yet.
        """
        count = self.request.num_images
        if count == 1:
            return [f"{self.id}.png"]
        return [f"{self.id}-{index}.png" for index in range(count)]

    def eta_seconds(self, now: datetime) -> float | None:
        """Time left at the pace so far; None until a step is done or once the job ended.

        The pace is measured from the first reported step on: the time before it also
        holds the text encoder and, at a new size, a compile, which would leave early
        estimates several times too long. Until a second step arrives, the first one's
        time is all there is.
        """
        if self.status is not JobStatus.RUNNING or self.started_at is None or self.step == 0:
            return None
        if self._pace_from is not None and self.step > self._pace_from[1]:
            since, first_step = self._pace_from
            per_step = (now - since).total_seconds() / (self.step - first_step)
        else:
            per_step = (now - self.started_at).total_seconds() / self.step
        return round(per_step * (self.total_steps - self.step), 1)

    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None or self.completed_at is None:
            return None
        return round((self.completed_at - self.started_at).total_seconds() * 1000)

    def _move_to(self, target: JobStatus) -> None:
        if target not in _ALLOWED[self.status]:
            raise InvalidTransition(
                f"Job {self.id} is {self.status.value}; it cannot become {target.value}."
            )
        self.status = target
