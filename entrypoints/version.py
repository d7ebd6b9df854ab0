"""The service's version, as `/health` reports it: the one in pyproject.toml."""

from __future__ import annotations

import re
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

DISTRIBUTION = "local-sd-service"  # [project] name in pyproject.toml
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


@cache
def service_version(distribution: str = DISTRIBUTION, pyproject: Path = PYPROJECT) -> str:
    """The installed distribution's version, else pyproject's (a clone run uninstalled)."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return pyproject_version(pyproject)


def pyproject_version(pyproject: Path = PYPROJECT) -> str:
    # A regex, not tomllib: the service still runs on Python 3.10, which has no tomllib.
    # `version = "..."` at the start of a line appears once, in [project].
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return found.group(1) if found else "unknown"
