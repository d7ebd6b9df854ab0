"""The application's module map (its package docstring) names every module, and only those."""

from __future__ import annotations

import re
from pathlib import Path

import application

APPLICATION = Path(application.__file__).parent


def test_the_module_map_matches_the_files() -> None:
    doc = application.__doc__ or ""
    mapped = re.findall(r"^  (\w+)\s", doc, flags=re.MULTILINE)
    files = sorted(path.stem for path in APPLICATION.glob("*.py") if path.stem != "__init__")
    assert sorted(mapped) == files
    assert len(mapped) == len(set(mapped)), "a module is listed twice"
