"""The default install stays small: the optimum engine's heavy stack is an extra."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from entrypoints.settings import PROJECT_ROOT

HEAVY = {"torch", "torchvision", "diffusers", "optimum", "optimum-intel", "transformers"}


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~; ]", line.strip(), maxsplit=1)[0].lower() for line in requirements}


def test_default_install_has_no_torch_diffusers_or_optimum() -> None:
    lines = (PROJECT_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    base = names([line for line in lines if line.strip() and not line.startswith("#")])
    assert "openvino-genai" in base
    assert not base & HEAVY


def test_optimum_extra_pins_a_cpu_capable_torch_and_leaves_torchvision_out() -> None:
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    extra = re.search(r"^optimum = \[(.*?)^\]", pyproject, re.MULTILINE | re.DOTALL)
    assert extra is not None
    requirements = re.findall(r'"([^"]+)"', extra.group(1))
    assert "torch==2.13.0" in requirements
    assert "torchvision" not in names(requirements)


def make_dry_run(target: str, venv: Path) -> list[str]:
    """The commands ``make <target>`` would run for a fresh venv at ``venv`` (none are run)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "-C", str(PROJECT_ROOT), target,
         f"VENV={venv}"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return result.stdout.splitlines()


def pip_installs(commands: list[str]) -> list[str]:
    return [command for command in commands if " pip install " in command]


def test_make_install_is_the_default_install_without_extras(tmp_path: Path) -> None:
    installs = pip_installs(make_dry_run("install", tmp_path / "venv"))

    assert any(command.endswith(" -e .") for command in installs)
    assert not [command for command in installs if "[" in command or names(command.split()) & HEAVY]


@pytest.mark.parametrize("target", ["install-dev", "test", "lint", "typecheck", "bench"])
def test_dev_targets_install_the_test_tools_and_the_optimum_extra(
    target: str, tmp_path: Path
) -> None:
    commands = make_dry_run(target, tmp_path / "venv")

    assert any('-e ".[test,optimum]"' in command for command in pip_installs(commands))
