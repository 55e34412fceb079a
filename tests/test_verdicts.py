"""Every check names what its verdict compares (issue 14): a ``# Verdict:`` comment opens its body.

A check's verdict must be computed in the trusted process from values only correct work produces; the
comment says which value, so that a review can judge it. This test only asks that the comment is there.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader import assignments

MARK = "# Verdict:"


def _checks(folder: Path) -> list[tuple[Path, ast.FunctionDef]]:
    found = []
    for path in sorted(folder.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found += [
            (path, node)
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
        ]
    return found


def _missing(path: Path, node: ast.FunctionDef) -> bool:
    """Whether the body of ``node`` lacks the comment as its first line after the docstring (hw1's style)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    first = node.body[0]
    if ast.get_docstring(node) is not None:
        after = [line.strip() for line in lines[first.end_lineno : node.end_lineno] if line.strip()]
        return not after or not after[0].startswith(MARK)
    # No docstring: the comment sits between the signature and the first statement.
    return not any(line.strip().startswith(MARK) for line in lines[node.lineno : first.lineno - 1])


@pytest.mark.parametrize("name", assignments.names())
def test_every_check_names_its_verdict(name: str) -> None:
    checks = _checks(assignments.get(name).checks_dir)
    assert checks, f"{name} has no checks"
    missing = [f"{path.name}:{node.lineno} {node.name}" for path, node in checks if _missing(path, node)]
    assert not missing, f"checks without a '{MARK}' comment as the first line after the docstring: {missing}"


def test_a_check_without_the_comment_is_found(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        'def test_named(student):\n    """t"""\n    # Verdict: 1 == 1, here.\n    assert True\n\n\n'
        'def test_unnamed(student):\n    """t"""\n    # Rests on: nothing.\n    assert True\n\n\n'
        'def test_late(student):\n    """t"""\n    x = 1\n    # Verdict: too late.\n    assert x\n\n\n'
        "def test_bare(student):\n    # Verdict: no docstring, first line.\n    assert True\n\n\n"
        "def helper():\n    pass\n",
        encoding="utf-8",
    )
    assert [node.name for path, node in _checks(tmp_path) if _missing(path, node)] == ["test_unnamed", "test_late"]
