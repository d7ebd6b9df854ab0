"""The model's own safety checker, fetched from the hub and converted once to OpenVINO IR.

The repository ships the checker as PyTorch safetensors (``safety_checker/``) with the
CLIP preprocessing it expects (``feature_extractor/``). Those files go to a staging folder
beside the checker folder, never into the model folder: optimum-intel would load a
``safety_checker/`` there as PyTorch and black out images itself. The conversion
(``safety_checker_conversion.py``) then writes the checker folder atomically, and the
staging folder is removed whatever happens: the 1.2 GB of PyTorch weights are not needed to
serve, and a failed run leaves nothing behind.

huggingface_hub, torch and diffusers are imported inside ``download()`` only: checking
whether the checker is in place opens no socket and loads no library.
"""

from __future__ import annotations

import gc
import importlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adapters.hf_model_store import DEFAULT_ENDPOINT, _progress_class, prepare_writable_folder
from adapters.hub_download_failures import DownloadFailures
from adapters.model_layout import damaged_files
from adapters.safety_checker_conversion import (
    CHECKER_JSON,
    MODEL_XML,
    PREPROCESSOR_JSON,
    convert_safety_checker,
)
from application.ports import DownloadProgress
from domain.errors import (
    DownloadFailure,
    ModelDownloadFailed,
    Remedy,
    SafetyCheckerUnavailable,
)

SOURCE_CONFIG = "safety_checker/config.json"
SOURCE_WEIGHTS = "safety_checker/model.safetensors"
SOURCE_PREPROCESSOR = "feature_extractor/preprocessor_config.json"
# Only what the conversion reads: a repository may also carry the same weights as
# pytorch_model.bin, or notebook debris, in these folders.
SOURCE_FILES = (SOURCE_CONFIG, SOURCE_WEIGHTS, SOURCE_PREPROCESSOR)

# The modules the conversion imports; checked before anything is fetched.
CONVERSION_MODULES = (
    "torch",
    "transformers",
    "diffusers.pipelines.stable_diffusion.safety_checker",
)

# The model download's remedies that name the model folder or the demo mode do not fit
# the checker's download: these replace or drop them.
_CHECKER_REMEDIES: dict[Remedy, Remedy | None] = {
    Remedy.DOWNLOAD_MODEL: Remedy.DOWNLOAD_SAFETY_CHECKER,
    Remedy.STAGE_MODEL_BY_HAND: None,
    Remedy.DEMO_MODE: None,
    Remedy.LARGER_DISK: None,
}

Converter = Callable[..., None]
"""``convert_safety_checker``'s signature: (source_dir, preprocessor_config, out_dir, *,
repo_id, revision)."""


@dataclass(frozen=True)
class InstalledSafetyChecker:
    """A converted checker folder, as its ``safety_checker.json`` describes it."""

    directory: Path
    version: str
    repo_id: str | None
    revision: str | None


def installed_safety_checker(directory: Path) -> InstalledSafetyChecker | None:
    """The checker in ``directory`` when every file the service loads is there, else None."""
    for name in (MODEL_XML, Path(MODEL_XML).with_suffix(".bin").name, PREPROCESSOR_JSON):
        path = directory / name
        if not path.is_file() or path.stat().st_size == 0:
            return None
    try:
        description = json.loads((directory / CHECKER_JSON).read_text(encoding="utf-8"))
        version = description["version"]
        source = description.get("source") or {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(version, str) or not isinstance(source, dict):
        return None
    repo_id, revision = source.get("repo_id"), source.get("revision")
    return InstalledSafetyChecker(
        directory,
        version,
        repo_id if isinstance(repo_id, str) else None,
        revision if isinstance(revision, str) else None,
    )


def missing_conversion_modules() -> list[str]:
    """The conversion's libraries that cannot be imported (the optimum extra's)."""
    missing = []
    for module in CONVERSION_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module.split(".")[0])
        except Exception as error:  # installed but broken, e.g. a CUDA torchvision beside it
            missing.append(f"{module.split('.')[0]} ({type(error).__name__}: {error})")
    return missing


class HubSafetyCheckerDownload:
    """Fetches ``repo_id``'s checker and converts it into ``directory``."""

    def __init__(
        self,
        repo_id: str,
        directory: Path,
        token: str | None,
        endpoint: str | None = None,
        revision: str = "main",
        convert: Converter = convert_safety_checker,
        missing_modules: Callable[[], list[str]] = missing_conversion_modules,
        prepare_folder: Callable[[Path], None] = prepare_writable_folder,
    ) -> None:
        """``convert``, ``missing_modules`` and ``prepare_folder`` are for tests: a fake
        conversion, a missing extra, a folder that refuses to be written."""
        self._repo_id = repo_id
        self._directory = directory
        self._token = token
        self._endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
        self._revision = revision
        self._convert = convert
        self._missing_modules = missing_modules
        self._prepare_folder = prepare_folder
        self._failures = DownloadFailures(
            repo_id, revision, self._endpoint, directory, has_token=bool(token)
        )

    @property
    def staging(self) -> Path:
        """Where the PyTorch source waits for its conversion: beside the checker folder."""
        return self._directory.parent / f".{self._directory.name}.download"

    def installed(self) -> InstalledSafetyChecker | None:
        return installed_safety_checker(self._directory)

    def download(
        self,
        force: bool = False,
        on_progress: DownloadProgress | None = None,
        on_converting: Callable[[], None] | None = None,
    ) -> InstalledSafetyChecker:
        """The checker in place: as it was (unless ``force``), else fetched and converted.

        Raises ``SafetyCheckerUnavailable`` before any request when the conversion's
        libraries are missing, ``ModelDownloadFailed`` for what the hub or the disk refused.
        """
        if not force and (present := self.installed()) is not None:
            return present
        if missing := self._missing_modules():
            raise SafetyCheckerUnavailable(
                f"Converting the safety checker for OpenVINO needs {', '.join(missing)}, "
                "which cannot be imported here.",
                (Remedy.INSTALL_OPTIMUM,),
            )
        try:
            return self._fetch_and_convert(on_progress, on_converting)
        except (ModelDownloadFailed, SafetyCheckerUnavailable):
            raise
        except Exception as error:
            failure = self._failures.explain(error)
            if failure is None:
                raise
            raise self._for_the_checker(failure) from error
        finally:
            # On Windows a file still mapped cannot be removed: torch's reader of the
            # weights goes with the conversion's last references. What stays anyway is
            # removed by the next run.
            gc.collect()
            shutil.rmtree(self.staging, ignore_errors=True)

    def _fetch_and_convert(
        self, on_progress: DownloadProgress | None, on_converting: Callable[[], None] | None
    ) -> InstalledSafetyChecker:
        staging = self.staging
        shutil.rmtree(staging, ignore_errors=True)  # a run that was killed mid-way
        try:
            self._prepare_folder(staging)
        except OSError as error:
            raise self._for_the_checker(self._failures.folder_unusable(error)) from error
        commit = self._fetch(staging, on_progress)
        if on_converting is not None:
            on_converting()
        try:
            self._convert(
                staging / "safety_checker",
                staging / SOURCE_PREPROCESSOR,
                self._directory,
                repo_id=self._repo_id,
                revision=commit,
            )
        except OSError as error:
            failure = self._failures.explain(error)
            if failure is None:
                raise self._conversion_failed(error) from error
            raise self._for_the_checker(failure) from error
        except Exception as error:  # torch's and OpenVINO's own errors: one line, not a trace
            raise self._conversion_failed(error) from error
        installed = self.installed()
        if installed is None:  # defensive: the conversion wrote an incomplete folder
            raise SafetyCheckerUnavailable(
                f"The converted safety checker in {self._directory} is incomplete.",
                (Remedy.DOWNLOAD_SAFETY_CHECKER,),
            )
        return installed

    def _fetch(self, staging: Path, on_progress: DownloadProgress | None) -> str:
        """Download the source files into ``staging``; the commit they came from."""
        from huggingface_hub import HfApi, constants, snapshot_download

        # As in the model download: no telemetry request to a third host, and no token but
        # the service's own (never one saved by `hf auth login`).
        constants.HF_HUB_DISABLE_TELEMETRY = True
        token: str | bool = self._token or False
        info = HfApi(endpoint=self._endpoint, token=token).model_info(
            self._repo_id, revision=self._revision, files_metadata=True
        )
        listing = {s.rfilename: s.size for s in info.siblings or []}
        if absent := [path for path in SOURCE_FILES if path not in listing]:
            raise self._no_checker(absent)
        wanted = {path: listing[path] for path in SOURCE_FILES}
        self._check_free_space(staging, wanted)
        planned = sum(size or 0 for size in wanted.values())
        snapshot_download(
            self._repo_id,
            revision=info.sha,  # pinned: every file comes from the commit just listed
            local_dir=staging,
            token=token,
            endpoint=self._endpoint,
            allow_patterns=list(SOURCE_FILES),
            tqdm_class=_progress_class(on_progress, planned),
        )
        if still := damaged_files(staging, wanted):
            raise self._for_the_checker(self._failures.incomplete(still))
        if on_progress is not None and planned:
            on_progress(planned, planned)
        return str(info.sha)

    def _check_free_space(self, staging: Path, wanted: dict[str, int | None]) -> None:
        """The source, plus the IR it becomes (fp32: about the weights' size), must fit."""
        weights = wanted[SOURCE_WEIGHTS] or 0
        needed = sum(size or 0 for size in wanted.values()) + weights
        free = shutil.disk_usage(staging).free
        if needed > free:
            failure = self._failures.disk_full(f"free {(needed - free) / 1e9:.1f} GB more")
            raise self._for_the_checker(failure)

    def _no_checker(self, absent: list[str]) -> ModelDownloadFailed:
        return ModelDownloadFailed(
            DownloadFailure.NOT_FOUND,
            f"{self._repo_id} ships no safety checker ({', '.join(absent)} missing): some "
            "models, such as few-step (LCM) exports, leave it out. The standard checker of "
            "a Stable Diffusion 1.5 repository (OpenVINO/stable-diffusion-v1-5-int8-ov) "
            "judges the images of any SD 1.5 model.",
            (Remedy.CHECK_REPO_ID,),
        )

    def _conversion_failed(self, error: BaseException) -> SafetyCheckerUnavailable:
        first_line = (str(error).strip().splitlines() or [""])[0]
        cause = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
        return SafetyCheckerUnavailable(
            f"Converting the safety checker of {self._repo_id} failed ({cause}); "
            f"{self._directory} was left as it was.",
            (Remedy.DOWNLOAD_SAFETY_CHECKER,),
        )

    def _for_the_checker(self, failure: ModelDownloadFailed) -> ModelDownloadFailed:
        """The model download's failure, with the remedies that fit the checker's download."""
        remedies = []
        for remedy in failure.remedies:
            replacement = _CHECKER_REMEDIES.get(remedy, remedy)
            if replacement is not None and replacement not in remedies:
                remedies.append(replacement)
        message = failure.message
        if Remedy.DOWNLOAD_MODEL in failure.remedies:
            # A truncated file: the model download repairs its folder file by file, while
            # this one starts afresh each time (the staging folder is gone).
            message = (
                f"A file of {self._repo_id}'s safety checker arrived truncated or the wrong "
                "size; nothing was kept."
            )
        return ModelDownloadFailed(failure.kind, message, remedies)
