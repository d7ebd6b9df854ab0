"""The model store backed by the Hugging Face hub: plain files in the model folder.

huggingface_hub is imported only inside ``download()``: ``status()`` and an up-to-date
folder never load it and never open a socket.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from adapters.hub_download_failures import DownloadFailures
from adapters.model_layout import (
    EXCLUDED_PATTERNS,
    REQUIRED_FILES,
    DownloadManifest,
    damaged_files,
    missing_files,
    read_manifest,
    write_manifest,
)
from application.ports import DownloadProgress, ModelStatus
from domain.errors import ModelDownloadFailed

DEFAULT_ENDPOINT = "https://huggingface.co"


def enable_offline_mode() -> None:
    """Forbid every hub request from now on in this process (``HF_HUB_OFFLINE=1``).

    huggingface_hub reads the variable once, at import, into ``constants.HF_HUB_OFFLINE``,
    and its HTTP hook consults that attribute before each request: set both, so the switch
    holds whether the library is already imported or is imported later (diffusers,
    transformers and optimum copy the variable when they are imported).
    """
    _set_offline(True)


def disable_offline_mode() -> None:
    """Allow hub requests again, e.g. before a download the user asked for."""
    _set_offline(False)


def _set_offline(offline: bool) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1" if offline else "0"
    if "huggingface_hub.constants" in sys.modules:  # else the import will read the variable
        from huggingface_hub import constants

        constants.HF_HUB_OFFLINE = offline


def prepare_writable_folder(directory: Path) -> None:
    """Create ``directory`` if needed and write and remove a file in it; raises OSError."""
    directory.mkdir(parents=True, exist_ok=True)
    handle, probe = tempfile.mkstemp(prefix=".write-check-", dir=directory)
    os.close(handle)
    os.unlink(probe)


class HuggingFaceModelStore:
    def __init__(
        self,
        repo_id: str,
        directory: Path,
        token: str | None,
        endpoint: str | None = None,
        revision: str = "main",
        include_safety_checker: bool = False,
        prepare_folder: Callable[[Path], None] = prepare_writable_folder,
    ) -> None:
        """``prepare_folder`` runs before anything is fetched (tests pass one that refuses,
        as a read-only folder would for any user but root)."""
        self._repo_id = repo_id
        self._directory = directory
        self._prepare_folder = prepare_folder
        self._token = token
        self._endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
        self._revision = revision
        self._ignore = tuple(
            p for p in EXCLUDED_PATTERNS if not (include_safety_checker and "safety_checker" in p)
        )
        self._failures = DownloadFailures(
            repo_id, revision, self._endpoint, directory, has_token=bool(token)
        )
        self._lock = threading.Lock()

    def status(self) -> ModelStatus:
        """Check the engine's files against the last download's sizes; no network, no hub import.

        Without a manifest (files copied in by hand) sizes are unknown: present and
        non-empty is all that can be checked.
        """
        manifest = read_manifest(self._directory)
        if manifest is not None and not self._describes_this_model(manifest):
            missing: list[str] | tuple[str, ...] = REQUIRED_FILES  # another model's folder
        else:
            listed = manifest.files if manifest is not None else {}
            known = {path: size for path, size in listed.items() if size is not None}
            missing = missing_files(self._directory, known or None)
        return ModelStatus(
            self._repo_id,
            self._directory,
            cached=not missing,
            missing=tuple(missing),
            revision=manifest.commit if manifest is not None and not missing else None,
        )

    def download(
        self, force: bool = False, on_progress: DownloadProgress | None = None
    ) -> ModelStatus:
        """Fetch missing or damaged files (all when ``force``); offline no-op when complete."""
        with self._lock:  # one download at a time per store
            if not force and self._up_to_date():
                return self.status()
            return self._fetch_or_explain(force, on_progress)

    def _fetch_or_explain(self, force: bool, on_progress: DownloadProgress | None) -> ModelStatus:
        # Before any request: a folder that cannot take the files fails at once, and a
        # complete model in a read-only folder never gets here.
        try:
            self._prepare_folder(self._directory)
        except OSError as error:
            raise self._failures.folder_unusable(error) from error
        try:
            return self._fetch(force, on_progress)
        except Exception as error:
            failure = (
                error if isinstance(error, ModelDownloadFailed) else self._failures.explain(error)
            )
            if failure is None:
                raise
            raise failure from (None if failure is error else error)

    def _describes_this_model(self, manifest: DownloadManifest) -> bool:
        revision_matches = self._revision in (manifest.revision, manifest.commit)
        return manifest.repo_id == self._repo_id and revision_matches

    def _up_to_date(self) -> bool:
        """The last download finished, for this model, and every file it fetched is intact.

        A folder staged by hand has no manifest: it is up to date when every required file
        is there and non-empty. Its sizes are unknown, but asking the hub would break the
        promise that a complete folder costs no network request (``--force`` re-fetches).
        """
        manifest = read_manifest(self._directory)
        if manifest is None:
            return not missing_files(self._directory)
        return (
            manifest.complete
            and self._describes_this_model(manifest)
            and manifest.ignore_patterns == self._ignore
            and not damaged_files(self._directory, manifest.files)
        )

    def _fetch(self, force: bool, on_progress: DownloadProgress | None) -> ModelStatus:
        from huggingface_hub import HfApi, constants, snapshot_download

        # Public in huggingface_hub.utils, re-exported without `__all__`: mypy cannot tell.
        from huggingface_hub.utils import filter_repo_objects  # type: ignore[attr-defined]

        # Unless telemetry is off, 1.x builds each user-agent by fetching the "agent harness"
        # list from the endpoint read at import (huggingface.co, not `endpoint`): a request
        # to a third host that a private service must not make.
        constants.HF_HUB_DISABLE_TELEMETRY = True
        # False, not None: never fall back to a token saved by `hf auth login` (whose OAuth
        # refresh may itself call the network); the service's settings are the one source.
        token: str | bool = self._token or False
        info = HfApi(endpoint=self._endpoint, token=token).model_info(
            self._repo_id, revision=self._revision, files_metadata=True
        )
        listing = {s.rfilename: s.size for s in info.siblings or []}
        wanted = {
            p: listing[p] for p in filter_repo_objects(listing, ignore_patterns=list(self._ignore))
        }
        if absent := [path for path in REQUIRED_FILES if path not in wanted]:
            raise self._failures.not_an_export(absent)
        damaged = damaged_files(self._directory, wanted)
        stale = list(wanted) if force else damaged
        self._check_free_space(wanted, stale)
        manifest = DownloadManifest(
            self._repo_id, self._revision, str(info.sha), self._ignore, wanted, complete=False
        )
        write_manifest(self._directory, manifest)
        # huggingface_hub trusts an existing file whose bookkeeping names the same commit,
        # without checking its size: delete damaged files so that they are fetched again.
        # (Intact files stay until huggingface_hub replaces them, even when forced.)
        for path in damaged:
            (self._directory / path).unlink(missing_ok=True)
        planned = sum(size or 0 for path, size in wanted.items() if path in stale)
        snapshot_download(
            self._repo_id,
            revision=info.sha,  # pinned: every file comes from the commit just listed
            local_dir=self._directory,
            token=token,
            endpoint=self._endpoint,
            ignore_patterns=list(self._ignore),
            force_download=force,
            tqdm_class=_progress_class(on_progress, planned),
        )
        if still := damaged_files(self._directory, wanted):
            raise self._failures.incomplete(still)
        write_manifest(self._directory, replace(manifest, complete=True))
        if on_progress is not None and planned:
            on_progress(planned, planned)
        return self.status()

    def _check_free_space(self, wanted: Mapping[str, int | None], stale: list[str]) -> None:
        """Fail before fetching a gigabyte that cannot fit, rather than mid-way."""
        needed = 0
        for path in stale:
            target = self._directory / path
            needed += (wanted[path] or 0) - (target.stat().st_size if target.is_file() else 0)
        self._directory.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self._directory).free
        if needed > free:
            raise self._failures.disk_full(f"free {(needed - free) / 1e9:.1f} GB more")


def _progress_class(report: DownloadProgress | None, planned: int) -> type[Any]:
    """A silent tqdm for snapshot_download that forwards its byte counts to ``report``."""
    from huggingface_hub.utils.tqdm import tqdm as hf_tqdm

    lock = threading.Lock()

    class _Reporter(hf_tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True  # never draw: the caller decides how to show progress
            self._counts_bytes = kwargs.get("unit") == "B"  # not the bar counting files
            self._done = 0
            super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]

        def update(self, n: float | None = 1) -> bool | None:
            if report is not None and self._counts_bytes and n:
                with lock:  # worker threads update the shared byte bar concurrently
                    self._done += int(n)
                    done, total = self._done, max(planned, int(self.total or 0), self._done)
                report(done, total)
            return super().update(n)  # type: ignore[no-any-return]

    return _Reporter
