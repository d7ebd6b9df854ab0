"""Session fixtures for tests that run the real OpenVINO engines on the tiny models.

The lead's tests/conftest.py imports these; a build happens once per builder version
(see tiny_model.py) and is shared by every pytest process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.tiny_model import (
    build_tiny_model,
    can_build,
    make_old_style_copy,
    tiny_model_path,
)

TEST_MODELS_DIR = Path(__file__).resolve().parents[2] / "data" / "test-models"


def _tiny(kind: str) -> Path:
    if not tiny_model_path(TEST_MODELS_DIR, kind).is_dir() and not can_build():
        pytest.skip('building the tiny model needs the optimum extra: pip install -e ".[optimum]"')
    return build_tiny_model(TEST_MODELS_DIR, kind)


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """The tiny SD 1.5 export (PNDM), in the real repo's layout."""
    return _tiny("sd15")


@pytest.fixture(scope="session")
def tiny_lcm_model_dir() -> Path:
    """The tiny LCM export (LatentConsistencyModelPipeline, LCMScheduler)."""
    return _tiny("lcm")


@pytest.fixture(scope="session")
def tiny_old_style_model_dir(
    tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The tiny model as optimum-intel < 1.20 saved it (OVStableDiffusionPipeline...)."""
    return make_old_style_copy(tiny_model_dir, tmp_path_factory.mktemp("old-style") / "model")


@pytest.fixture(scope="session")
def openvino_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A compiled-model cache for the session, outside the model folders."""
    return tmp_path_factory.mktemp("openvino-cache")
