"""Shared fixtures. Expensive ones (test models) are built once per run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from entrypoints.app import create_app
from entrypoints.settings import Settings
from tests.support.openvino_fixtures import (  # noqa: F401  (fixtures shared by every folder)
    openvino_cache_dir,
    tiny_lcm_model_dir,
    tiny_model_dir,
    tiny_old_style_model_dir,
)
from tests.support.openvino_server import tiny_model_server  # noqa: F401
from tests.support.safety_fixtures import (  # noqa: F401  (the tiny safety checker)
    tiny_safety_checker_build,
    tiny_safety_checker_flag_all_dir,
    tiny_safety_checker_flag_none_dir,
    tiny_safety_checker_ir,
    tiny_safety_checker_source,
)

# Every variable a setting reads, including the aliases of the token and the hub endpoint.
SETTING_NAMES = (
    *(name.upper() for name in Settings.model_fields),
    "HUGGINGFACE_TOKEN",
    "HF_TOKEN",
    "HF_ENDPOINT",
)


@pytest.fixture(autouse=True)
def _clean_settings_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see the defaults, whatever the developer's shell exports."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)


def make_settings(tmp_path: Path, **values: Any) -> Settings:
    defaults: dict[str, Any] = {
        "model_dir": tmp_path / "models",
        "generated_dir": tmp_path / "generated",
        "ov_cache_dir": tmp_path / "ov-cache",
    }
    return Settings(_env_file=None, **{**defaults, **values})  # type: ignore[call-arg]


@pytest.fixture
def mock_client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path, use_mocks=True))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client
