"""One process at a time in a data folder: an exclusive lock the OS releases with the process.

Two servers on one data folder would each recover the other's running job as
"interrupted" and run the same queue twice; uvicorn even runs a second server's start-up
(recovery, worker) before its port bind fails. So whoever writes the folder's records holds
`.server.lock` in it first, for as long as it runs. The lock is the OS's own (`flock` on
POSIX, `msvcrt.locking` on Windows), never the file's existence: a process killed with
kill -9 or by Task Manager leaves no stale lock, only the file, which the next holder
reuses. A clean release removes the file; a newcomer that opened it just before checks
after locking that it still locks the file under the name, or it would hold a lock on a
removed file while a third process locks a new one.

The holder writes its pid and start time into the file, so a refusal can name it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

LOCK_FILE_NAME = ".server.lock"
# Windows' byte locks are mandatory: nobody else may read a locked byte. The lock sits on a
# byte well past the holder's line, so a refused process can still read whom to name.
LOCKED_BYTE = 4096


class FolderInUse(Exception):
    """Another process holds the folder's lock."""

    def __init__(self, folder: Path, holder: str) -> None:
        self.folder = folder
        self.holder = holder
        # Facts only: entrypoints.remedies words what to do about it.
        super().__init__(f"{folder} is in use by {holder}.")


class LockPrimitive(Protocol):
    """The OS's non-blocking exclusive lock on an open file."""

    unlink_while_locked: bool
    """Whether the file can be removed while open; else it is removed once closed."""

    def try_lock(self, fd: int) -> bool:
        """Lock, or False at once when another open file holds the lock."""

    def unlock(self, fd: int) -> None: ...


class PosixLock:
    """`flock`: held per open file description, so a second open conflicts even in-process."""

    unlink_while_locked = True

    def try_lock(self, fd: int) -> bool:
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def unlock(self, fd: int) -> None:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


class ByteLocking(Protocol):
    """The part of the `msvcrt` module the Windows lock uses (a test passes a stand-in)."""

    LK_NBLCK: int
    LK_UNLCK: int

    def locking(self, fd: int, mode: int, nbytes: int, /) -> None: ...


# What `_locking` sets errno to when another process holds the bytes.
_HELD_ERRNOS = {errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK)}


class WindowsLock:
    """`msvcrt.locking` of one byte at `LOCKED_BYTE` (past the end of file is allowed)."""

    # Python opens files on Windows without FILE_SHARE_DELETE: no removal while open.
    unlink_while_locked = False

    def __init__(self, msvcrt: ByteLocking | None = None) -> None:
        if msvcrt is None:
            import importlib

            msvcrt = importlib.import_module("msvcrt")
        self._msvcrt: ByteLocking = msvcrt

    def try_lock(self, fd: int) -> bool:
        os.lseek(fd, LOCKED_BYTE, os.SEEK_SET)  # locking() starts at the file position
        try:
            self._msvcrt.locking(fd, self._msvcrt.LK_NBLCK, 1)
        except OSError as error:
            if error.errno in _HELD_ERRNOS:
                return False
            raise
        return True

    def unlock(self, fd: int) -> None:
        os.lseek(fd, LOCKED_BYTE, os.SEEK_SET)
        self._msvcrt.locking(fd, self._msvcrt.LK_UNLCK, 1)


def platform_lock() -> LockPrimitive:
    return WindowsLock() if sys.platform == "win32" else PosixLock()


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


class FolderLock:
    """The lock on one folder, held from `acquire` to `release` (or the process's end).

    ``role`` says what holds it ("local-sd serve", "local-sd retention") in the line a
    refused process prints. `acquire` on a lock this object already holds does nothing, so
    the CLI may take it before uvicorn starts and the lifespan take it again.
    """

    def __init__(
        self,
        folder: Path,
        role: str,
        *,
        primitive: LockPrimitive | None = None,
        clock: Callable[[], str] = _now,
    ) -> None:
        self.folder = folder
        self.path = folder / LOCK_FILE_NAME
        self._role = role
        self._primitive = primitive or platform_lock()
        self._clock = clock
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise `FolderInUse` naming its holder; writes nothing else."""
        if self._fd is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
            try:
                if not self._primitive.try_lock(fd):
                    raise FolderInUse(self.folder, _holder_of(fd))
                if self._primitive.unlink_while_locked and not _is_at(fd, self.path):
                    os.close(fd)  # the holder removed it as it left: lock the new one
                    continue
                line = {"pid": os.getpid(), "started": self._clock(), "role": self._role}
                _overwrite(fd, json.dumps(line).encode("ascii")[: LOCKED_BYTE - 1])
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
            return

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        unlink_first = self._primitive.unlink_while_locked
        try:
            _overwrite(fd, b"")  # a later refusal names no process that has left
            if unlink_first:  # before unlocking: a newcomer then sees it was removed
                _remove(self.path)
            self._primitive.unlock(fd)
        finally:
            os.close(fd)
        if not unlink_first:
            _remove(self.path)  # fails, harmlessly, while a newcomer has it open


def _is_at(fd: int, path: Path) -> bool:
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _remove(path: Path) -> None:
    # Gone already, or (Windows) open elsewhere: then the next holder reuses it.
    with contextlib.suppress(OSError):
        path.unlink()


def _overwrite(fd: int, content: bytes) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, content)
    os.ftruncate(fd, len(content))


def _holder_of(fd: int) -> str:
    """The holder's own description of itself, as far as it can be read."""
    os.lseek(fd, 0, os.SEEK_SET)
    try:
        holder = json.loads(os.read(fd, LOCKED_BYTE).decode("ascii"))
        role, pid, started = str(holder["role"]), int(holder["pid"]), str(holder["started"])
    except (OSError, ValueError, KeyError, TypeError):
        # Read between the holder's lock and its write, or written by something else.
        return "another process"
    return f"{role} (pid {pid}, started {started})"
