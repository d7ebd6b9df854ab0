"""What went wrong in a model download, as a typed failure with facts and remedies.

The sentences users read (which setting to change, which command to run) are worded in
``entrypoints/remedies.py`` from the remedies named here.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

from domain.errors import DownloadFailure, ModelDownloadFailed, Remedy

# Whoever cannot reach the hub needs the way around it, not only the cause.
_OFFLINE = "The service works offline once the model is staged."
_WAYS_AROUND_THE_HUB = (Remedy.STAGE_MODEL_BY_HAND, Remedy.DEMO_MODE)


@dataclass(frozen=True)
class DownloadFailures:
    """The failures of downloading one model (``repo_id`` at ``revision``) into ``directory``."""

    repo_id: str
    revision: str
    endpoint: str
    directory: Path
    has_token: bool

    def disk_full(self, need: str = "free some space") -> ModelDownloadFailed:
        return ModelDownloadFailed(
            DownloadFailure.DISK_FULL,
            f"Not enough disk space in {self.directory} for {self.repo_id}: {need} and run "
            "the download again.",
            (Remedy.LARGER_DISK,),
        )

    def not_an_export(self, absent: list[str]) -> ModelDownloadFailed:
        return ModelDownloadFailed(
            DownloadFailure.NOT_FOUND,
            f"{self.repo_id} has no {', '.join(absent)}: it is not an OpenVINO Stable "
            "Diffusion export (such as OpenVINO/stable-diffusion-v1-5-int8-ov).",
            (Remedy.CHECK_REPO_ID,),
        )

    def incomplete(self, damaged: list[str]) -> ModelDownloadFailed:
        more = " ..." if len(damaged) > 3 else ""
        return ModelDownloadFailed(
            DownloadFailure.INCOMPLETE,
            f"The download of {self.repo_id} is incomplete ({', '.join(damaged[:3])}{more} "
            "missing or the wrong size); another download fetches only the damaged files.",
            (Remedy.DOWNLOAD_MODEL,),
        )

    def folder_unusable(self, error: OSError) -> ModelDownloadFailed:
        """The model folder cannot be created or written: what is in the way, and the fix."""
        folder = self.directory
        if error.errno == errno.ENOSPC:
            return self.disk_full()
        if isinstance(error, (FileExistsError, NotADirectoryError)):
            blocking = _first_file_on_the_way(folder)
            return ModelDownloadFailed(
                DownloadFailure.INCOMPLETE,
                f"Cannot use {folder} as the model folder: {blocking} is a file, not a "
                "folder. Move that file away, or choose another model folder.",
            )
        if isinstance(error, PermissionError) or error.errno == errno.EROFS:
            where = _nearest_existing(Path(error.filename) if error.filename else folder)
            if error.errno == errno.EROFS:
                why = f"{where} is on a read-only file system. Mount it read-write"
            else:
                why = (
                    f"{where} is read-only for the user running the service. Make {where} "
                    "writable for that user"
                )
            return ModelDownloadFailed(
                DownloadFailure.INCOMPLETE,
                f"Cannot write into {folder}: {why}, or choose another model folder.",
            )
        return ModelDownloadFailed(
            DownloadFailure.INCOMPLETE,
            f"Cannot prepare the model folder {folder}: {error.strerror or error}. Choose "
            "another model folder, or fix this one and run the download again.",
        )

    def explain(self, error: BaseException) -> ModelDownloadFailed | None:
        """The failure for ``error`` or the first of its causes we recognise.

        The whole chain is searched: huggingface_hub wraps errors (a forced download
        re-raises a ValueError from the hub's answer).
        """
        import httpx
        from huggingface_hub import errors as hub

        repo, url, fail = self.repo_id, self.endpoint, ModelDownloadFailed
        for cause in _chain(error):
            code = cause.response.status_code if isinstance(cause, hub.HfHubHTTPError) else 0
            if isinstance(cause, hub.GatedRepoError) or (
                code in (401, 403) and not isinstance(cause, hub.RepositoryNotFoundError)
            ):
                why = "the hub token was refused" if self.has_token else "no hub token is set"
                return fail(
                    DownloadFailure.GATED,
                    f"{repo} is gated and {why}: its licence is accepted at {url}/{repo} "
                    "while logged in.",
                    (Remedy.SET_HUB_TOKEN,),
                )
            if isinstance(cause, hub.RevisionNotFoundError):
                return fail(
                    DownloadFailure.NOT_FOUND,
                    f"Revision '{self.revision}' does not exist in {repo}.",
                )
            if isinstance(cause, hub.RepositoryNotFoundError):
                return fail(
                    DownloadFailure.NOT_FOUND,
                    f"Repository {repo} was not found on {url}.",
                    (Remedy.CHECK_REPO_ID,),
                )
            if isinstance(cause, hub.OfflineModeIsEnabled):
                why = "offline mode is on (HF_HUB_OFFLINE=1); unset it to download"
                return fail(
                    DownloadFailure.UNREACHABLE,
                    f"Cannot download {repo}: {why}. {_OFFLINE}",
                    _WAYS_AROUND_THE_HUB,
                )
            if isinstance(cause, (httpx.TransportError, hub.LocalEntryNotFoundError)):
                return fail(
                    DownloadFailure.UNREACHABLE,
                    f"Cannot reach the model hub at {url}. {_OFFLINE}",
                    _WAYS_AROUND_THE_HUB,
                )
            if code:  # 5xx, 429 and the like: the hub is there but not serving
                return fail(
                    DownloadFailure.UNREACHABLE,
                    f"The model hub at {url} answered HTTP {code}. {_OFFLINE}",
                    _WAYS_AROUND_THE_HUB,
                )
            if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
                return self.disk_full()
            if isinstance(cause, OSError) and "Consistency check failed" in str(cause):
                return fail(
                    DownloadFailure.INCOMPLETE,
                    f"A file of {repo} arrived truncated; another download fetches only "
                    "the damaged files.",
                    (Remedy.DOWNLOAD_MODEL,),
                )
            if isinstance(cause, (PermissionError, NotADirectoryError, FileExistsError)) or (
                isinstance(cause, OSError) and cause.errno == errno.EROFS
            ):
                return self.folder_unusable(cause)
        return None


def _nearest_existing(path: Path) -> Path:
    """``path``, or the closest folder above it that exists (the one refusing a new entry)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return path


def _first_file_on_the_way(folder: Path) -> Path:
    """The path itself or the first of its parents that is a file, not a folder."""
    for candidate in (*reversed(folder.parents), folder):
        if candidate.is_file():
            return candidate
    return folder


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and its causes, outermost first, each once."""
    causes: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in causes:
        causes.append(current)
        current = current.__cause__ or current.__context__
    return causes
