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


def extra(name: str) -> list[str]:
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(rf"^{re.escape(name)} = \[(.*?)^\]", pyproject, re.MULTILINE | re.DOTALL)
    assert found is not None, f"no [{name}] extra"
    return re.findall(r'"([^"]+)"', found.group(1))


def test_optimum_extra_pins_torch_to_one_release_and_leaves_torchvision_out() -> None:
    # Any torch that a range admits can be a multi-GB CUDA build; one exact release is what
    # lets a CPU wheel installed first (README, Makefile) satisfy it. Which release is not
    # this test's business.
    torch = [line for line in extra("optimum") if names([line]) == {"torch"}]
    assert len(torch) == 1
    assert re.fullmatch(r"torch==\d+(\.\d+)+", torch[0].replace(" ", "")), torch[0]
    assert "torchvision" not in names(extra("optimum"))


def make_dry_run(target: str, venv: Path) -> list[str]:
    """The commands ``make <target>`` would run for fresh venvs under ``venv`` (none are run)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "-C", str(PROJECT_ROOT), target,
         f"VENV={venv}", f"VENV310={venv}310"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return result.stdout.splitlines()


def pip_installs(commands: list[str]) -> list[str]:
    return [command for command in commands if " pip install " in command]


def test_make_install_is_the_default_install_without_extras(tmp_path: Path) -> None:
    installs = pip_installs(make_dry_run("install", tmp_path / "venv"))

    assert any(command.endswith(" -e .") for command in installs)
    assert not [command for command in installs if "[" in command or names(command.split()) & HEAVY]


@pytest.mark.parametrize("target", ["install-dev", "test", "lint", "typecheck", "check", "bench"])
def test_dev_targets_install_the_test_tools_and_the_optimum_extra(
    target: str, tmp_path: Path
) -> None:
    commands = make_dry_run(target, tmp_path / "venv")

    assert any('-e ".[test,optimum]"' in command for command in pip_installs(commands))


def test_the_python_310_tests_install_the_service_and_the_test_runner_only(tmp_path: Path) -> None:
    commands = make_dry_run("test-py310", tmp_path / "venv")

    (install,) = [command for command in pip_installs(commands) if "-e " in command]
    assert install.endswith(' -e ".[test-base]"')
    assert not names(extra("test-base")) & HEAVY
    (run,) = [command for command in commands if " -m pytest" in command]
    assert '-m "not openvino"' in run and "--ignore=tests/browser" in run
