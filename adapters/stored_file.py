"""Whether a path in a store's folder is one of its files: the one check both file stores
make before reading, serving or removing."""

from __future__ import annotations

import stat
from pathlib import Path

from adapters import held_files


def stored_file(path: Path) -> Path | None:
    """``path`` when it is a regular file not marked for removal, else None."""
    try:
        # lstat: a symlink is not a stored file, even one to a file in the folder.
        if not stat.S_ISREG(path.lstat().st_mode):
            return None
    except OSError:
        # Absent, or on Windows a file being removed ("delete pending"), whose stat fails
        # with PermissionError: not there either way.
        return None
    return None if held_files.removal_pending(path) else path
