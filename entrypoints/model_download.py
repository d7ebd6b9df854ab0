"""The download command's front: progress, clear one-line errors, exit codes."""

from __future__ import annotations

import sys

from adapters.local_model_store import LocalModelStore
from domain.errors import DomainError
from entrypoints.settings import Settings


def run_download(settings: Settings, force: bool) -> int:
    store = LocalModelStore(settings.model_repo_id, settings.model_dir)
    try:
        status = store.download(force=force)
    except DomainError as error:
        print(error.message, file=sys.stderr)
        return 1
    print(f"{status.repo_id} is ready in {status.directory}", file=sys.stderr)
    return 0
