"""Which OpenVINO devices exist, why one cannot be used, and what it needs to work."""

from __future__ import annotations

import re

import openvino as ov

from domain.errors import Remedy

# Devices that pick or combine real devices; they never appear in available_devices.
_VIRTUAL = ("AUTO", "MULTI", "HETERO", "BATCH")

_RUNTIME_NOISE = re.compile(r"^(Exception from |Check '|\[ GENERAL_ERROR \]\s*$)")
_PATH = re.compile(r"\"?(?:/[^\s\"/:]+)+/([^\s\"/:]+)\"?")
_MAX_REASON = 240


def available_devices() -> list[str]:
    """The devices OpenVINO can run on here, e.g. ``["CPU", "GPU.0", "GPU.1"]``."""
    return list(ov.Core().available_devices)


def unavailable_reason(target: str) -> str | None:
    """Why ``target`` cannot be used, or None when it is worth trying to load on it."""
    family = target.split(".", 1)[0]
    if family in _VIRTUAL:
        return None
    core = ov.Core()
    found = list(core.available_devices)
    if target in found or any(name.startswith(f"{target}.") for name in found):
        return None
    if target == f"{family}.0" and family in found:  # one GPU is listed as "GPU", not "GPU.0"
        return None
    try:
        # Loads the device plugin: its own error says what is missing (driver, libOpenCL...).
        core.get_versions(family)
    except RuntimeError as error:
        return shorten_runtime_error(error)
    listed = ", ".join(found) or "none"
    return f"OpenVINO found no {target} device (found: {listed})"


def shorten_runtime_error(error: BaseException) -> str:
    """The runtime's message on one line: no C++ source locations, file names not paths."""
    lines = [line.strip() for line in str(error).splitlines()]
    meaningful = [line for line in lines if line and not _RUNTIME_NOISE.match(line)]
    text = " ".join(meaningful) or type(error).__name__
    text = _PATH.sub(lambda match: match.group(1), text)
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def driver_remedy(target: str) -> Remedy:
    """What makes ``target`` usable: its family's driver, or a check of the name asked for."""
    family = target.split(".", 1)[0]
    if family == "GPU":
        return Remedy.INSTALL_GPU_DRIVER
    if family == "NPU":
        return Remedy.INSTALL_NPU_DRIVER
    return Remedy.CHECK_DEVICE
