"""Free disk space where the service writes: read cheaply, refused below a floor.

A full disk is not an engine failure. Below the floor new jobs are refused before they
run (507), and `/health` says which folder is short; readings are cached for a moment so
that checking at every submission costs a dictionary lookup, not a system call. When
space is freed the next reading after the cache's age lets work in again by itself.
"""

from __future__ import annotations

import errno
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog

from domain.errors import InsufficientStorage, Remedy

log = structlog.get_logger("service")

FreeBytes = Callable[[Path], int]
"""How many bytes are free on the disk that holds a folder."""

READING_MAX_AGE_SECONDS = 2.0
_MB = 1024 * 1024
# ERROR_HANDLE_DISK_FULL and ERROR_DISK_FULL: what Windows reports in OSError.winerror.
_WINDOWS_DISK_FULL = {39, 112}
_DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def free_bytes_at(folder: Path) -> int:
    """Free bytes on the disk of ``folder``; a folder not made yet counts as its nearest
    existing parent, where it will be made."""
    for candidate in (folder, *folder.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    raise FileNotFoundError(errno.ENOENT, "No existing folder to measure", str(folder))


def is_disk_full(error: BaseException) -> bool:
    """An OSError that means "no space left", as Linux, macOS or Windows say it."""
    if not isinstance(error, OSError):
        return False
    return error.errno in _DISK_FULL_ERRNOS or getattr(error, "winerror", None) in (
        _WINDOWS_DISK_FULL
    )


@dataclass(frozen=True)
class FolderSpace:
    role: str
    """What the folder holds: "generated" (images and records) or "models"."""
    path: Path
    free_mb: int | None
    """None when the reading failed (the log says why)."""


class FreeSpace:
    def __init__(
        self,
        folders: Mapping[str, Path],
        min_free_mb: int,
        *,
        free_bytes: FreeBytes = free_bytes_at,
        clock: Callable[[], float] = time.monotonic,
        max_age_seconds: float = READING_MAX_AGE_SECONDS,
    ) -> None:
        self.min_free_mb = min_free_mb
        self._folders = dict(folders)
        self._free_bytes = free_bytes
        self._clock = clock
        self._max_age = max_age_seconds
        self._cached: tuple[float, tuple[FolderSpace, ...]] | None = None

    def readings(self) -> tuple[FolderSpace, ...]:
        """Every folder's free space, read at most once per ``max_age_seconds``."""
        now = self._clock()
        if self._cached is not None and now - self._cached[0] < self._max_age:
            return self._cached[1]
        readings = tuple(
            FolderSpace(role, path, self._free_mb(path)) for role, path in self._folders.items()
        )
        self._cached = (now, readings)
        return readings

    def short(self) -> tuple[FolderSpace, ...]:
        """The folders below the floor."""
        return tuple(
            reading
            for reading in self.readings()
            if reading.free_mb is not None and reading.free_mb < self.min_free_mb
        )

    def problem_message(self) -> str | None:
        """Why new jobs are refused now, as facts; None while there is room."""
        short = self.short()
        if not short:
            return None
        folders = "; ".join(f"{r.free_mb} MB free in {r.path} ({r.role})" for r in short)
        needed = f"at least {self.min_free_mb} MB needed"
        return f"Too little disk space for new jobs: {folders}; {needed}."

    def check(self) -> None:
        """Raise InsufficientStorage while a folder is below the floor."""
        message = self.problem_message()
        if message is not None:
            raise InsufficientStorage(message, (Remedy.FREE_DISK_SPACE,))

    def free_mb_now(self, folder: Path) -> int | None:
        """A fresh reading (a write just failed): the cache is dropped too, so the next
        submission sees the disk as it is."""
        self._cached = None
        return self._free_mb(folder)

    def _free_mb(self, folder: Path) -> int | None:
        try:
            return self._free_bytes(folder) // _MB
        except OSError as error:
            log.warning("free_space_unreadable", folder=str(folder), detail=str(error))
            return None
