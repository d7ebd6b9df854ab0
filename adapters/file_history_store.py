"""Job records as JSON files beside the images: `<job id>.json`.

Writes are atomic (`atomic_file`). A record Windows would not let us remove yet is
treated as gone and removed at a later pass (`held_files`), so a deleted job never comes
back at the next start.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import structlog

from adapters import held_files
from adapters.atomic_file import remove_partial_files, write_bytes_atomically
from adapters.stored_names import is_stem

log = structlog.get_logger("history")


class FileHistoryStore:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def write(self, job_id: str, record: Mapping[str, Any]) -> None:
        path = self._path(job_id)
        if path is None:
            raise ValueError(f"Not a valid job id: {job_id!r}")
        # ASCII with escapes: any string, a lone surrogate too, makes a readable file.
        text = json.dumps(record, indent=1, sort_keys=True, ensure_ascii=True)
        write_bytes_atomically(path, text.encode("ascii"))

    def read_all(self) -> list[dict[str, Any]]:
        """Every readable record; removals deferred earlier are finished first."""
        if not self._directory.is_dir():
            return []
        held_files.finish_pending_removals(self._directory)
        records = []
        for path in self._directory.glob("*.json"):
            if path.name.startswith(".") or held_files.removal_pending(path):
                continue
            try:
                if path.is_symlink():
                    continue
                text = held_files.retry_while_held(partial(path.read_text, "utf-8"))
                record = json.loads(text)
            except (OSError, ValueError, RecursionError) as error:
                log.warning("history_record_unreadable", file=path.name, reason=str(error)[:200])
                continue
            if not isinstance(record, dict):
                log.warning("history_record_unreadable", file=path.name, reason="not an object")
            elif not _all_unicode_within_limits(record):
                # A lone surrogate would fail every answer that lists the job.
                log.warning("history_record_unreadable", file=path.name, reason="lone surrogate")
            else:
                records.append(record)
        return records

    def delete(self, job_id: str) -> bool:
        held_files.finish_pending_removals(self._directory)
        path = self._path(job_id)
        if path is None or held_files.removal_pending(path):
            return False
        return held_files.remove(path)

    def remove_partial_files(self) -> int:
        """Temporary files a killed process left behind; never under a final name."""
        return remove_partial_files(self._directory)

    def _path(self, job_id: str) -> Path | None:
        return self._directory / f"{job_id}.json" if is_stem(job_id) else None


def _all_unicode_within_limits(record: dict[str, Any]) -> bool:
    try:
        return _all_unicode(record)
    except RecursionError:  # nested as deep as the JSON parser allows: not our record
        return False


def _all_unicode(value: object) -> bool:
    """Whether every string in ``value`` (keys too) is valid Unicode (encodes as UTF-8)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_all_unicode(key) and _all_unicode(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_all_unicode(item) for item in value)
    return True
