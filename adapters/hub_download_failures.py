"""What went wrong in a model download, as one actionable line for the log, CLI and /health."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

from application.model_lifecycle import staging_hint
from domain.errors import ModelDownloadFailed


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
            "disk_full",
            f"Not enough disk space in {self.directory} for {self.repo_id}: {need} or set "
            "MODEL_DIR to a larger disk, then run the download again.",
        )

    def explain(self, error: BaseException) -> ModelDownloadFailed | None:
        """The one-line failure for ``error`` or the first of its causes we recognise.

        The whole chain is searched: huggingface_hub wraps errors (a forced download
        re-raises a ValueError from the hub's answer).
        """
        import httpx
        from huggingface_hub import errors as hub

        repo, url, fail = self.repo_id, self.endpoint, ModelDownloadFailed
        # Whoever cannot reach the hub needs the way around it, not only the cause.
        stage = "The service works offline once the model is staged. " + staging_hint(
            repo, self.directory
        )
        for cause in _chain(error):
            code = cause.response.status_code if isinstance(cause, hub.HfHubHTTPError) else 0
            if isinstance(cause, hub.GatedRepoError) or (
                code in (401, 403) and not isinstance(cause, hub.RepositoryNotFoundError)
            ):
                why = (
                    "the token in HUGGINGFACE_TOKEN was refused"
                    if self.has_token
                    else "no token is set"
                )
                return fail(
                    "gated",
                    f"{repo} is gated and {why}: accept its licence at {url}/"
                    f"{repo} while logged in, then set HUGGINGFACE_TOKEN to a read "
                    "token of that account.",
                )
            if isinstance(cause, hub.RevisionNotFoundError):
                return fail("not_found", f"Revision '{self.revision}' does not exist in {repo}.")
            if isinstance(cause, hub.RepositoryNotFoundError):
                return fail(
                    "not_found",
                    f"Repository {repo} was not found on {url}: check "
                    "MODEL_REPO_ID (a private one also needs HUGGINGFACE_TOKEN).",
                )
            if isinstance(cause, hub.OfflineModeIsEnabled):
                why = "offline mode is on (HF_HUB_OFFLINE=1); unset it to download"
                return fail("unreachable", f"Cannot download {repo}: {why}. {stage}")
            if isinstance(cause, (httpx.TransportError, hub.LocalEntryNotFoundError)):
                return fail("unreachable", f"Cannot reach the model hub at {url}. {stage}")
            if code:  # 5xx, 429 and the like: the hub is there but not serving
                return fail("unreachable", f"The model hub at {url} answered HTTP {code}. {stage}")
            if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
                return self.disk_full()
            if isinstance(cause, OSError) and "Consistency check failed" in str(cause):
                return fail(
                    "incomplete",
                    f"A file of {repo} arrived truncated: run the "
                    "download again; only the damaged files are fetched.",
                )
            if isinstance(cause, PermissionError):
                return fail("incomplete", f"Cannot write into {self.directory}: {cause.strerror}.")
        return None


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and its causes, outermost first, each once."""
    causes: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in causes:
        causes.append(current)
        current = current.__cause__ or current.__context__
    return causes
