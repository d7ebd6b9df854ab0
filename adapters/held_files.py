"""Files another process holds open, which Windows will not replace or remove for a while.

On Windows, ``os.replace`` and ``os.unlink`` of a file that some process has open without
FILE_SHARE_DELETE raise PermissionError (winerror 32, "used by another process"): a browser
still downloading a PNG, our own FileResponse streaming it, a virus scanner or the search
indexer reading a file just written. Such holds are usually short, so each operation is
retried for a moment. A removal that still cannot happen is remembered by a marker file
beside the file: the stores treat the file as gone from then on, and the removal is
finished at a later pass (the next removal in that folder, or the next start). On Linux
and macOS these calls do not fail this way; a PermissionError there is a real permission
problem and comes out after the same short retries.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import structlog

log = structlog.get_logger("files")

T = TypeVar("T")

# About 0.4 s in all: long enough for a scanner's look at a new file, short enough that a
# DELETE request or the worker's retention pass does not visibly stall.
RETRY_DELAYS = (0.02, 0.05, 0.1, 0.25)

REMOVAL_MARKER_PREFIX = ".remove-"


def retry_while_held(operation: Callable[[], T]) -> T:
    """Run ``operation``, retrying a PermissionError a few times before letting it out."""
    for delay in RETRY_DELAYS:
        try:
            return operation()
        except PermissionError:
            time.sleep(delay)
    return operation()


def remove(path: Path) -> bool:
    """Remove ``path``, or mark it for a later removal while a process holds it.

    Returns False when there was no such file. Other errors come out, as does the
    PermissionError when the marker cannot be written either (e.g. a read-only folder).
    """
    try:
        # os.unlink, not Path.unlink: the same call on every Python (3.10's pathlib binds
        # its own reference at import), so the tests' Windows simulation reaches it.
        retry_while_held(partial(os.unlink, path))
    except FileNotFoundError:
        _unmark(path)
        return False
    except PermissionError:
        _marker(path).touch()
        log.warning("file_removal_deferred", file=path.name, reason="held by another process")
        return True
    _unmark(path)
    return True


def removal_pending(path: Path) -> bool:
    """True when ``path`` is marked for removal: treat it as gone."""
    return _marker(path).exists()


def cancel_pending_removal(path: Path) -> None:
    """``path`` was written anew: it is no longer to be removed."""
    _unmark(path)


def finish_pending_removals(directory: Path) -> int:
    """Try once more to remove every file marked in ``directory``; returns how many went.

    A file still held stays marked for the next pass.
    """
    if not directory.is_dir():
        return 0
    finished = 0
    for marker in directory.glob(f"{REMOVAL_MARKER_PREFIX}*"):
        target = directory / marker.name.removeprefix(REMOVAL_MARKER_PREFIX)
        try:
            _unlink_if_there(target)
            _unlink_if_there(marker)
        except OSError:
            continue
        finished += 1
        log.info("file_removal_finished", file=target.name)
    return finished


def _unlink_if_there(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _marker(path: Path) -> Path:
    return path.with_name(f"{REMOVAL_MARKER_PREFIX}{path.name}")


def _unmark(path: Path) -> None:
    try:
        retry_while_held(partial(_unlink_if_there, _marker(path)))
    except OSError:
        # Left for `finish_pending_removals`; a marker without its file is harmless.
        log.warning("file_removal_marker_stays", file=path.name)
