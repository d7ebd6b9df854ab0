"""Typed errors of the domain and the service.

Each error carries what a user needs to act on it; the HTTP layer maps the
types to status codes in one place and never inspects messages.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field."""

    field: str
    message: str


class DomainError(Exception):
    """Base of every error the service raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(DomainError):
    """The generation request breaks one or more field rules."""

    def __init__(self, details: list[FieldError]) -> None:
        fields = ", ".join(detail.field for detail in details)
        super().__init__(f"Invalid request: check {fields}.")
        self.details = details


class ServiceUnavailable(DomainError):
    """The service cannot generate right now (model missing, downloading, loading)."""

    def __init__(self, message: str, retry_after_seconds: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class GenerationTimeout(DomainError):
    """A generation ran past its time limit and was stopped."""


class GenerationFailed(DomainError):
    """The backend failed while generating; details stay in the log."""


class GenerationCancelled(DomainError):
    """The generation was cancelled before it produced an image."""


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


class UnsupportedOption(DomainError):
    """A request asks for something the loaded engine or model cannot do."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.details = [FieldError(field, message)]


class ModelDownloadFailed(DomainError):
    """The model could not be downloaded; the message says why and what to do.

    ``kind`` is one of "gated", "not_found", "unreachable", "disk_full", "incomplete".
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
