"""Replace a file whole or not at all: the one write-then-rename of the service.

The content goes to a temporary file in the same folder (a rename across folders may be
a copy), is flushed and fsynced, then renamed over the final name with ``os.replace``,
and the folder is fsynced where the OS allows it so that the rename survives a power cut
too. On any failure the temporary file is removed: a crash mid-write or a full disk never
leaves a partial file under the final name. Only a killed process can leave a temporary
file behind; ``remove_partial_files`` clears those at the next start.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import BinaryIO

import structlog

from adapters.held_files import cancel_pending_removal, retry_while_held

log = structlog.get_logger("files")

PARTIAL_PREFIX = ".partial-"


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Create or replace ``path`` with what ``write`` writes to the stream it is given.

    Raises what ``write`` or the file system raised; ``path`` then holds its old content,
    or nothing if it had none. On Windows a replace of a file another process holds open
    is retried for a moment (see `held_files`) before the PermissionError comes out.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=PARTIAL_PREFIX, suffix=path.suffix, dir=path.parent)
    temporary = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        retry_while_held(lambda: os.replace(temporary, path))
    except BaseException:
        _discard(temporary)
        raise
    cancel_pending_removal(path)
    _sync_directory(path.parent)


def write_bytes_atomically(path: Path, content: bytes) -> None:
    write_atomically(path, lambda stream: stream.write(content))


def remove_partial_files(directory: Path) -> int:
    """Remove the temporary files a killed process left in ``directory``; returns how many."""
    if not directory.is_dir():
        return 0
    removed = 0
    for leftover in directory.glob(f"{PARTIAL_PREFIX}*"):
        try:
            retry_while_held(partial(leftover.unlink, missing_ok=True))
        except OSError:
            continue  # the next start tries again; it is never read under a final name
        removed += 1
    return removed


def _discard(temporary: Path) -> None:
    try:
        retry_while_held(partial(temporary.unlink, missing_ok=True))
    except OSError:
        # Must not hide the error that brought us here; the next start removes it.
        log.warning("partial_file_stays", file=temporary.name)


def _sync_directory(directory: Path) -> None:
    # Windows cannot open a folder with os.open, so there is no folder fsync to do there;
    # some network file systems refuse it too. The data itself is on disk either way.
    if os.name == "nt":
        return
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
