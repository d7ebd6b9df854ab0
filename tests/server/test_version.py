"""The version /health reports (the live server test checks it against pyproject.toml).

No server here: these cover the fallback for a clone run without `pip install`.
"""

from __future__ import annotations

from pathlib import Path

from entrypoints.version import DISTRIBUTION, pyproject_version, service_version


def test_installed_distribution_is_the_project(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\nversion = "9.9.9"\n', encoding="utf-8")
    # Installed in the venv (`pip install -e .`): the metadata wins over any file.
    assert service_version(DISTRIBUTION, pyproject) == pyproject_version()


def test_not_installed_falls_back_to_pyproject(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\nversion = "2.3.4"\n\n[tool.mypy]\npython_version = "3.11"\n',
        encoding="utf-8",
    )
    assert service_version("no-such-distribution-for-this-test", pyproject) == "2.3.4"


def test_no_pyproject_either_says_unknown(tmp_path: Path) -> None:
    assert pyproject_version(tmp_path / "missing.toml") == "unknown"
