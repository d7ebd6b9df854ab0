"""Session fixtures for the tiny safety checker (see ``tiny_safety_checker.py``).

``tests/conftest.py`` imports these; a build happens once per builder version and is
shared by every pytest process, like the tiny models'.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.tiny_safety_checker import (
    build_tiny_safety_checker,
    tiny_safety_checker_path,
)

TEST_MODELS_DIR = Path(__file__).resolve().parents[2] / "data" / "test-models"

SafetyCheckerBuild = Callable[[str], Path]


def can_build() -> bool:
    """Whether this environment has what a build needs (the optimum extra)."""
    try:
        return all(
            importlib.util.find_spec(name) is not None
            for name in ("torch", "diffusers", "transformers")
        )
    except ModuleNotFoundError:
        return False


def _build(variant: str) -> Path:
    if not tiny_safety_checker_path(TEST_MODELS_DIR, variant).is_dir() and not can_build():
        pytest.skip(
            'building the tiny safety checker needs the optimum extra: pip install -e ".[optimum]"'
        )
    return build_tiny_safety_checker(TEST_MODELS_DIR, variant)


@pytest.fixture(scope="session")
def tiny_safety_checker_build() -> SafetyCheckerBuild:
    """``variant`` -> its whole build folder (source/, ir/, expected.json)."""
    return _build


@pytest.fixture(scope="session")
def tiny_safety_checker_source() -> SafetyCheckerBuild:
    """``variant`` -> the folder holding ``safety_checker/`` and ``feature_extractor/`` as
    the model repository ships them (for a fake hub)."""
    return lambda variant: _build(variant) / "source"


@pytest.fixture(scope="session")
def tiny_safety_checker_ir() -> SafetyCheckerBuild:
    """``variant`` -> the converted folder, what SAFETY_CHECKER_DIR points to."""
    return lambda variant: _build(variant) / "ir"


@pytest.fixture(scope="session")
def tiny_safety_checker_flag_all_dir() -> Path:
    """A converted checker that flags every image."""
    return _build("flag_all") / "ir"


@pytest.fixture(scope="session")
def tiny_safety_checker_flag_none_dir() -> Path:
    """A converted checker that flags no image."""
    return _build("flag_none") / "ir"
