"""The words for what a user can do: the one place that names settings and commands.

The inner layers state facts and name ``Remedy`` values; this module turns them into
the sentences people read in `/health`, error bodies, the CLI and the log. Renaming a
setting or a `make` target touches this file (and `settings.py`) only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from domain.errors import Problem, Remedy
from entrypoints.settings import Settings


def _command(name: str) -> str:
    """A `make` target, and the console script that does the same where make is missing
    (Windows without make: see the README)."""
    return f"`make {name}` or `local-sd {name}`"


_WORDS: dict[Remedy, Callable[[Settings], str]] = {
    Remedy.DOWNLOAD_MODEL: lambda s: f"Run {_command('download')} to fetch or repair the model.",
    Remedy.DOWNLOAD_AT_START: lambda s: (
        "Started with AUTO_DOWNLOAD_MODELS=true, the server downloads it by itself."
    ),
    Remedy.STAGE_MODEL_BY_HAND: lambda s: (
        f"To stage the model by hand, copy the files of {s.model_repo_id} into "
        f"{s.model_dir} (MODEL_DIR), e.g. the folder {_command('download')} fills on a machine "
        "with internet."
    ),
    Remedy.DEMO_MODE: lambda s: (
        f"Meanwhile {_command('demo')} (USE_MOCKS=true) serves placeholder images."
    ),
    Remedy.USE_CPU: lambda s: (
        "OPENVINO_DEVICE=CPU runs on the CPU from the start, without trying the device."
    ),
    Remedy.RAISE_TIMEOUT: lambda s: (
        "Try fewer steps, a smaller size, a GPU, or a few-step model, or raise "
        "INFERENCE_TIMEOUT_SECONDS."
    ),
    Remedy.SET_HUB_TOKEN: lambda s: "Set HUGGINGFACE_TOKEN to a read token of that account.",
    Remedy.CHECK_REPO_ID: lambda s: (
        "Check MODEL_REPO_ID (a private one also needs HUGGINGFACE_TOKEN)."
    ),
    Remedy.LARGER_DISK: lambda s: "MODEL_DIR can point to a larger disk.",
    Remedy.MOVE_CACHE_DIR: lambda s: "Set OV_CACHE_DIR to a folder outside the model folder.",
    Remedy.INSTALL_OPTIMUM: lambda s: (
        'Install the optimum engine with `make install-dev` (or pip install -e ".[optimum]").'
    ),
    Remedy.INSTALL_GPU_DRIVER: lambda s: (
        "Install or update the Intel GPU driver (on Linux the compute runtime, "
        "intel-opencl-icd, which provides libOpenCL.so.1, with the user in the 'render' group)."
    ),
    Remedy.INSTALL_NPU_DRIVER: lambda s: "Install the Intel NPU driver.",
    Remedy.CHECK_DEVICE: lambda s: (
        f"Check the device name in OPENVINO_DEVICE ({s.openvino_device}) and its driver."
    ),
    Remedy.SMALLER_IMAGE: lambda s: "If the device ran out of memory, ask for a smaller image.",
    Remedy.SUBMIT_AGAIN: lambda s: (
        "Submit it again (the UI's Run again): the same params make the same image."
    ),
    Remedy.FREE_DISK_SPACE: lambda s: (
        f"Free space on that disk, or keep fewer images (RETENTION_MAX_IMAGES, "
        f"RETENTION_MAX_AGE_DAYS); new jobs are refused below MIN_FREE_DISK_MB "
        f"({s.min_free_disk_mb} MB)."
    ),
    Remedy.DOWNLOAD_SAFETY_CHECKER: lambda s: (
        f"Run {_command('download-safety-checker')} to fetch the model's safety checker "
        f"and convert it for OpenVINO into {s.safety_checker_dir} (SAFETY_CHECKER_DIR)."
    ),
    Remedy.SAFETY_CHECKER_OFF: lambda s: (
        "SAFETY_CHECKER=off serves without the filter, where that is acceptable."
    ),
    Remedy.START_WORKER: lambda s: (
        f"Start {_command('worker')} on a PC with the model, with the same QUEUE_URL "
        "(LOCAL_WORKER=true starts one beside this server)."
    ),
    Remedy.INSTALL_CLUSTER: lambda s: (
        'Install it with pip install -e ".[cluster]" (make worker installs it), or leave '
        "QUEUE_URL empty for the queue inside this server."
    ),
    Remedy.CHECK_QUEUE_SERVER: lambda s: (
        "Check that Redis runs at QUEUE_URL and that its password (or ACL user) is right."
    ),
}


def remedy_text(remedy: Remedy, settings: Settings) -> str:
    return _WORDS[remedy](settings)


def describe(problem: Problem, settings: Settings) -> str:
    """The problem's facts, then what the user can do, as one paragraph."""
    remedies = [remedy_text(remedy, settings) for remedy in problem.remedies]
    if not remedies:
        return problem.message
    # Facts may end in a runtime's own words, without a full stop.
    facts = problem.message if problem.message.endswith((".", "!", "?")) else problem.message + "."
    return " ".join([facts, *remedies])


# Where a service without keys meets a network: the CLI's refusal to start and the 403.
HOW_TO_SET_A_KEY = (
    "This service has no API key, so it serves loopback only: set API_KEYS "
    "(`local-sd new-key NAME` prints one) "
    "or API_KEYS_FILE and send it as 'Authorization: Bearer <key>', "
    "or set ALLOW_OPEN_ACCESS=true to serve the network without keys."
)


def data_folder_in_use(folder: Path, holder: str) -> str:
    """A second server (or the retention command) finds the data folder locked."""
    return (
        f"{folder} (GENERATED_DIR) is in use by {holder}: stop that one first, "
        "or give this one a GENERATED_DIR of its own."
    )
