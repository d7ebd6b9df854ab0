"""A model store that only looks at the local folder and never downloads."""

from __future__ import annotations

from pathlib import Path

from adapters.model_layout import missing_files
from application.ports import ModelStatus
from domain.errors import ServiceUnavailable


class LocalModelStore:
    def __init__(self, repo_id: str, directory: Path) -> None:
        self._repo_id = repo_id
        self._directory = directory

    def status(self) -> ModelStatus:
        missing = tuple(missing_files(self._directory))
        return ModelStatus(self._repo_id, self._directory, cached=not missing, missing=missing)

    def download(self, force: bool = False) -> ModelStatus:
        raise ServiceUnavailable(
            f"Downloading is not available here: copy {self._repo_id} into {self._directory}."
        )
