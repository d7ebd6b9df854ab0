"""`download --safety-checker`: fetch the model's safety checker and convert it for OpenVINO.

The same front as the model download: a progress bar on stderr, one clear line per error,
exit code 1 on failure.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

from adapters.hf_safety_checker_download import HubSafetyCheckerDownload, InstalledSafetyChecker
from domain.errors import DomainError
from entrypoints.model_download import _ProgressBar
from entrypoints.remedies import describe
from entrypoints.settings import Settings


def hub_safety_checker_download(settings: Settings) -> HubSafetyCheckerDownload:
    token = settings.huggingface_token.get_secret_value() if settings.huggingface_token else None
    return HubSafetyCheckerDownload(
        settings.model_repo_id,
        settings.safety_checker_dir,
        token=token or None,
        endpoint=settings.hf_endpoint,
    )


def run_safety_checker_download(
    settings: Settings, force: bool, fetch: HubSafetyCheckerDownload | None = None
) -> int:
    """The checker into SAFETY_CHECKER_DIR; 0 when it is there, 1 with one line on stderr."""
    # The download's failures are worded here; the libraries' own warnings would repeat
    # them less clearly.
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    fetch = fetch or hub_safety_checker_download(settings)
    present = None if force else fetch.installed()
    if present is not None:
        print(
            f"The safety checker is already in {present.directory} ({_describe(present)}); "
            "--force fetches and converts it again."
        )
        return 0
    bar = _ProgressBar(f"{settings.model_repo_id} safety checker")
    _quiet_conversion_libraries()

    def converting() -> None:
        bar.close()
        _quiet_conversion_libraries()
        print(
            "Converting the safety checker for OpenVINO (torch, once; about a minute for "
            "the real checker) ...",
            flush=True,
        )

    try:
        # Tracing the checker warns about every Python branch of the CLIP model: noise here,
        # since the IR's input shape is fixed but for the batch.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            installed = fetch.download(force=force, on_progress=bar, on_converting=converting)
    except DomainError as error:
        bar.close()
        print(f"error: {describe(error.problem, settings)}", file=sys.stderr)
        return 1
    bar.close()
    print(
        f"The safety checker is ready in {installed.directory} ({_describe(installed)}); "
        "SAFETY_CHECKER=sd_checker turns it on."
    )
    return 0


def _quiet_conversion_libraries() -> None:
    """The libraries' advice and weight-loading bar are not this command's output: called
    before they are imported (they read their verbosity then) and again after."""
    for variable in ("DIFFUSERS_VERBOSITY", "TRANSFORMERS_VERBOSITY"):
        os.environ.setdefault(variable, "error")
    for name in ("transformers", "diffusers", "torch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if (transformers_logging := sys.modules.get("transformers.utils.logging")) is not None:
        transformers_logging.disable_progress_bar()


def _describe(checker: InstalledSafetyChecker) -> str:
    source = f" from {checker.repo_id}" if checker.repo_id else ""
    return f"version {checker.version}{source}"
