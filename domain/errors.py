"""Typed errors of the domain and the service.

Each error states what went wrong as a fact and names, as ``Remedy`` values, what a user
can do about it. The sentences that tell a person which command to run or which setting
to change are composed in ``entrypoints/`` from those values, so renaming a setting or a
command touches one layer. The HTTP layer maps the types to status codes in one place and
never inspects messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class Remedy(str, Enum):
    """Something a user can do about a problem; ``entrypoints/remedies.py`` words each one."""

    DOWNLOAD_MODEL = "download_model"
    """Fetch the model, or repair a damaged download."""
    DOWNLOAD_AT_START = "download_at_start"
    """Let the server download a missing model by itself."""
    STAGE_MODEL_BY_HAND = "stage_model_by_hand"
    """Copy the model's files into the model folder from a machine that has them."""
    DEMO_MODE = "demo_mode"
    """Serve placeholder images meanwhile."""
    USE_CPU = "use_cpu"
    """Ask for the CPU instead of the device that failed."""
    RAISE_TIMEOUT = "raise_timeout"
    """Allow a job more time."""
    SET_HUB_TOKEN = "set_hub_token"  # noqa: S105 (a remedy's name, not a credential)
    """Give the service a hub token of an account that may read the repository."""
    CHECK_REPO_ID = "check_repo_id"
    """Check which repository the service downloads."""
    LARGER_DISK = "larger_disk"
    """Put the model folder on a disk with more room."""
    MOVE_CACHE_DIR = "move_cache_dir"
    """Put the compile cache outside the model folder."""
    INSTALL_OPTIMUM = "install_optimum"
    """Install the optional optimum-intel engine."""
    INSTALL_GPU_DRIVER = "install_gpu_driver"
    """Install or update the Intel GPU driver, which OpenVINO needs to see the GPU."""
    INSTALL_NPU_DRIVER = "install_npu_driver"
    """Install the Intel NPU driver."""
    CHECK_DEVICE = "check_device"
    """Check the device name asked for and that device's driver."""
    SMALLER_IMAGE = "smaller_image"
    """Ask for a smaller image, when the device ran out of memory."""
    SUBMIT_AGAIN = "submit_again"
    """Submit the job again: its parameters reproduce it."""
    FREE_DISK_SPACE = "free_disk_space"
    """Free space on the disk of the folder named, or keep fewer old images."""
    DOWNLOAD_SAFETY_CHECKER = "download_safety_checker"
    """Fetch and convert the model's safety checker, which the settings ask for."""
    SAFETY_CHECKER_OFF = "safety_checker_off"
    """Serve without the safety checker (the default), if that is acceptable here."""
    START_WORKER = "start_worker"
    """Start a worker on a PC that has the model, pointed at the shared queue."""
    INSTALL_CLUSTER = "install_cluster"
    """Install the optional engine of the queue shared between machines."""
    CHECK_QUEUE_SERVER = "check_queue_server"
    """Check that the shared queue's server runs and that its address and password are right."""


@dataclass(frozen=True)
class Problem:
    """Why something cannot be done now, as facts plus what the user can do about it."""

    message: str
    remedies: tuple[Remedy, ...] = ()


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field."""

    field: str
    message: str


class DomainError(Exception):
    """Base of every error the service raises on purpose.

    ``message`` holds facts only; ``remedies`` what the user can do, worded at the edge.
    """

    def __init__(self, message: str, remedies: Iterable[Remedy] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.remedies = tuple(remedies)

    @property
    def problem(self) -> Problem:
        return Problem(self.message, self.remedies)


class InvalidRequest(DomainError):
    """The generation request breaks one or more field rules."""

    def __init__(self, details: list[FieldError]) -> None:
        fields = ", ".join(detail.field for detail in details)
        super().__init__(f"Invalid request: check {fields}.")
        self.details = details


class ServiceUnavailable(DomainError):
    """The service cannot generate right now (model missing, downloading, loading)."""

    def __init__(
        self,
        message: str,
        retry_after_seconds: int | None = None,
        remedies: Iterable[Remedy] = (),
    ) -> None:
        super().__init__(message, remedies)
        self.retry_after_seconds = retry_after_seconds


class GenerationTimeout(DomainError):
    """A generation ran past its time limit and was stopped."""


class GenerationFailed(DomainError):
    """The backend failed while generating; details stay in the log."""


class GenerationCancelled(DomainError):
    """The generation was cancelled before it produced an image."""


class GenerationInterrupted(DomainError):
    """What was making the image went away mid-way (another PC that made it for the
    service), too late to start the image again."""


class InvalidTransition(DomainError):
    """A job was asked to move to a state it cannot reach from its current one."""


class JobNotFound(DomainError):
    """No job with that id is known."""


class ImageNotFound(DomainError):
    """No generated image with that name exists."""


class QueueFull(DomainError):
    """Too many jobs are waiting; try again later."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ClientQueueFull(DomainError):
    """This client already has as many jobs waiting as one client may; others still can."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class RateLimited(DomainError):
    """This client submits faster than the service allows one client to."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class InsufficientStorage(DomainError):
    """A folder the service writes to has too little free space."""

    def __init__(self, message: str, remedies: Iterable[Remedy] = ()) -> None:
        super().__init__(message, remedies)


class UnsupportedOption(DomainError):
    """A request asks for something the loaded engine or model cannot do."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.details = [FieldError(field, message)]


class DownloadFailure(str, Enum):
    """Why a model download failed, for code that branches on it."""

    GATED = "gated"
    NOT_FOUND = "not_found"
    UNREACHABLE = "unreachable"
    DISK_FULL = "disk_full"
    INCOMPLETE = "incomplete"


class ModelDownloadFailed(DomainError):
    """The model could not be downloaded: ``kind`` says why, ``message`` the facts."""

    def __init__(
        self, kind: DownloadFailure, message: str, remedies: Iterable[Remedy] = ()
    ) -> None:
        super().__init__(message, remedies)
        self.kind = DownloadFailure(kind)


class InvalidImage(DomainError):
    """Bytes given as an input image that the service will not use: not an image, a damaged
    or unsupported one, one too large to decode safely, or a mask that does not fit its image.

    ``field`` names where it came from (``"file"`` for an upload, ``"init_image"``,
    ``"mask_image"``); ``too_large`` marks a file over the upload size limit (413, not 422).
    """

    def __init__(self, field: str, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.too_large = too_large
        self.details = [FieldError(field, message)]


class UploadNotFound(DomainError):
    """No uploaded image with that id exists (or it is another client's)."""


class SafetyCheckerUnavailable(DomainError):
    """The safety checker asked for is missing, damaged or cannot run: no image is made."""
