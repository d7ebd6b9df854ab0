"""The domain imports the standard library and itself only: an allow-list, so nothing new slips in.

import-linter's forbidden contract could only name the packages we already thought of; this
reads every module under domain/ with `ast` and checks each import, absolute and relative,
against `sys.stdlib_module_names` (the interpreter's own list). The layers contract in
pyproject.toml still orders the packages against each other.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from entrypoints.settings import PROJECT_ROOT


def outside_imports(package: Path) -> list[str]:
    """`file:line: module` for each import in ``package`` of neither the stdlib nor itself."""
    found: list[str] = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        depth = len(path.relative_to(package).parts)  # a module in the root has depth 1
        imports = sorted(
            (node.lineno, module)
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for module in imported_modules(node, depth)
        )
        relative = path.relative_to(package.parent).as_posix()
        found += [
            f"{relative}:{line}: {module}"
            for line, module in imports
            if module.split(".", 1)[0] not in {package.name, *sys.stdlib_module_names}
        ]
    return found


def imported_modules(node: ast.Import | ast.ImportFrom, depth: int) -> list[str]:
    """The absolute names an import statement reaches; a relative one resolves inside the
    package, or to a placeholder outside it when it climbs above the package's root."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        return [node.module or ""]
    if node.level > depth:
        return [f"{'.' * node.level}{node.module or ''} (above the package)"]
    return []  # within the package


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    assert outside_imports(PROJECT_ROOT / "domain") == []


def test_the_check_finds_a_third_party_import_in_any_form(tmp_path: Path) -> None:
    package = tmp_path / "domain"
    (package / "inner").mkdir(parents=True)
    (package / "__init__.py").write_text("from __future__ import annotations\n")
    (package / "fine.py").write_text(
        "import dataclasses\nimport os.path\nfrom collections.abc import Iterable\n"
        "from . import inner\nfrom .inner import thing\nfrom domain.fine import x\n"
    )
    (package / "bad.py").write_text(
        "import numpy\nimport json, pydantic.fields\nfrom PIL import Image\n"
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from starlette import types\n"
        "def late():\n    import structlog\n"
    )
    (package / "inner" / "climbs.py").write_text(
        "from .. import fine\nfrom ...application import ports\n"
    )

    assert outside_imports(package) == [
        "domain/bad.py:1: numpy",
        "domain/bad.py:2: pydantic.fields",
        "domain/bad.py:3: PIL",
        "domain/bad.py:6: starlette",
        "domain/bad.py:8: structlog",
        "domain/inner/climbs.py:2: ...application (above the package)",
    ]
