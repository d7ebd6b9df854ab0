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
        write_bytes_atomically(path, json.dumps(record, indent=1, sort_keys=True).encode("utf-8"))

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
            except (OSError, ValueError):
                log.warning("history_record_unreadable", file=path.name)
                continue
            if isinstance(record, dict):
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
