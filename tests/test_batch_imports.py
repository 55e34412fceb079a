"""The batch package's imports run one way: each module imports only those its docstring lists above it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grader.batch

PACKAGE = Path(grader.batch.__file__).parent


def _layers() -> list[str]:
    """The modules in the order ``grader/batch/__init__.py``'s docstring lists them."""
    return re.findall(r"^    (\w+) {2,}", grader.batch.__doc__ or "", re.MULTILINE)


def _imported(module: Path) -> set[str]:
    """The modules of the package that ``module`` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "grader.batch":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("grader.batch."):
            found.add(node.module.split(".")[2])  # type: ignore[union-attr]
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[2] for alias in node.names if alias.name.startswith("grader.batch.")}
    return found


def test_every_module_is_listed_once() -> None:
    layers = _layers()
    assert len(layers) == len(set(layers))
    assert set(layers) == {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}


def test_each_module_imports_only_those_above_it() -> None:
    layers = _layers()
    for position, name in enumerate(layers):
        above = set(layers[:position])
        assert _imported(PACKAGE / f"{name}.py") <= above, f"{name} imports {_imported(PACKAGE / f'{name}.py') - above}"
    assert _imported(PACKAGE / "__init__.py") == set()
    assert _imported(PACKAGE / "run.py") >= {"pool", "store", "merge", "sharding"}  # the check sees imports at all
