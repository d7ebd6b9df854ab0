"""Uploaded input images on disk: each a normalised RGB PNG beside a small JSON record.

(Groundwork skeleton: the upload helper fills this in.)
"""

from __future__ import annotations

from pathlib import Path

from application.ports import StoredUpload


class FileUploadStore:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self._directory = directory
        self._max_bytes = max_bytes

    @property
    def directory(self) -> Path:
        return self._directory

    def add(self, data: bytes, owner: str | None, field: str = "file") -> StoredUpload:
        raise NotImplementedError

    def get(self, upload_id: str) -> StoredUpload | None:
        return None

    def path_of(self, upload_id: str) -> Path | None:
        return None

    def all(self) -> list[StoredUpload]:
        return []

    def delete(self, upload_id: str) -> bool:
        return False
