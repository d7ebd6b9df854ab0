"""Sentences that name a setting or a `make` target are composed in `entrypoints/` only.

The inner layers raise typed errors with facts and `Remedy` values; renaming a setting or
a target must touch one layer. This reads every string in `domain/`, `application/` and
`adapters/` (docstrings too) and fails on a setting's variable name or a make target.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from entrypoints.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
INNER_LAYERS = ("domain", "application", "adapters")

SETTING_NAMES = sorted(
    {name.upper() for name in Settings.model_fields} | {"HUGGINGFACE_TOKEN", "HF_TOKEN"},
    key=len,
    reverse=True,
)
FORBIDDEN = re.compile(
    r"\b(" + "|".join(SETTING_NAMES) + r")\b|\bmake (download|demo|serve|install|test|check)\b"
)


def strings_in(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


@pytest.mark.parametrize("layer", INNER_LAYERS)
def test_inner_layers_name_no_setting_and_no_make_target(layer: str) -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {match.group(0)}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for line, text in strings_in(path)
        for match in FORBIDDEN.finditer(text)
    ]
    assert found == [], "word these in entrypoints/remedies.py instead"


def test_the_check_catches_a_setting_and_a_target() -> None:
    assert FORBIDDEN.search("or set OPENVINO_DEVICE=CPU")
    assert FORBIDDEN.search("run `make download` again")
    assert not FORBIDDEN.search("make room for the final event")
