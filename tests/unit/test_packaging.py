"""The default install stays small: the optimum engine's heavy stack is an extra."""

from __future__ import annotations

import re

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
