"""Job records as JSON files beside the images: `<job id>.json`."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger("history")

_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


class FileHistoryStore:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def write(self, job_id: str, record: Mapping[str, Any]) -> None:
        path = self._path(job_id)
        if path is None:
            raise ValueError(f"Not a valid job id: {job_id!r}")
        self._directory.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(
            prefix=".partial-", suffix=".json", dir=self._directory
        )
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(record, stream, indent=1, sort_keys=True)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    def read_all(self) -> list[dict[str, Any]]:
        if not self._directory.is_dir():
            return []
        records = []
        for path in self._directory.glob("*.json"):
            if path.name.startswith(".") or path.is_symlink():
                continue
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                log.warning("history_record_unreadable", file=path.name)
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def delete(self, job_id: str) -> bool:
        path = self._path(job_id)
        if path is None or not path.is_file():
            return False
        path.unlink(missing_ok=True)
        return True

    def remove_partial_files(self) -> int:
        """Temporary files a crash left behind; never under a final name."""
        if not self._directory.is_dir():
            return 0
        leftovers = list(self._directory.glob(".partial-*"))
        for path in leftovers:
            path.unlink(missing_ok=True)
        return len(leftovers)

    def _path(self, job_id: str) -> Path | None:
        return self._directory / f"{job_id}.json" if _JOB_ID.fullmatch(job_id) else None
