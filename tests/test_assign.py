"""``python -m grader assign``: the stubs are the solution with its regions taken out, and stay so."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SOLUTION, STUBS

from grader import assign, assignments, cli
from grader.errors import UsageError


@pytest.mark.parametrize("name", assignments.names())
def test_committed_stubs_are_derived_from_the_solution(name: str) -> None:
    diff = assign.drift(assign.build(assignments.get(name)))
    assert diff == "", (
        f"assignments/{name} drifted from solutions/{name}; run 'python -m grader assign {name}':\n{diff}"
    )


@pytest.mark.parametrize("name", assignments.names())
def test_every_stub_function_keeps_its_docstring_and_raises(name: str) -> None:
    assignment = assignments.get(name)
    stubs, solutions = ROOT / assignment.default_submission, ROOT / assignment.solution
    assert sorted(path.name for path in stubs.glob("*.py")) == sorted(f"{module}.py" for module in assignment.modules)
    for path in sorted(stubs.glob("*.py")):
        stub, solution = ast.parse(path.read_text()), ast.parse((solutions / path.name).read_text())
        functions = [node for node in ast.walk(stub) if isinstance(node, ast.FunctionDef)]
        assert functions, path
        for function in functions:
            body = function.body[1:]
            assert ast.get_docstring(function), f"{path.name}: {function.name} lost its docstring"
            assert len(body) == 1 and isinstance(body[0], ast.Raise), f"{path.name}: {function.name}"
            raised = body[0].exc
            assert isinstance(raised, ast.Call) and isinstance(raised.func, ast.Name)
            assert raised.func.id == "NotImplementedError" and isinstance(raised.args[0], ast.Constant)
        public = {node.name for node in solution.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
        kept = {node.name for node in stub.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
        assert kept == {name for name in public if not name.startswith("_")}, path.name


@pytest.mark.parametrize("name", assignments.names())
def test_stubs_import_cleanly(name: str) -> None:
    assignment = assignments.get(name)
    done = subprocess.run(
        [sys.executable, "-c", f"import {', '.join(assignment.modules)}"],
        cwd=ROOT / assignment.default_submission,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr


SOURCE = '''\
"""A module."""

import math


# BEGIN SOLUTION
def _helper():
    return 1


# END SOLUTION


def area(r):
    """The area."""
    # PROMPT: compute the "area" with math.pi \\ r
    # BEGIN SOLUTION
    # a comment only the solution has
    return math.pi * r * r
    # END SOLUTION


class Shape:
    def perimeter(self, r):
        """A longer prompt wraps the way black wraps it."""
        # PROMPT: Step 9: this prompt is long enough that the raise no longer fits on one line
        # BEGIN SOLUTION
        return 2 * math.pi * r
        # END SOLUTION
'''

STUB = '''\
"""A module.

Replace every ``raise NotImplementedError`` below.
"""

import math


def area(r):
    """The area."""
    raise NotImplementedError("compute the \\"area\\" with math.pi \\\\ r")


class Shape:
    def perimeter(self, r):
        """A longer prompt wraps the way black wraps it."""
        raise NotImplementedError(
            "Step 9: this prompt is long enough that the raise no longer fits on one line"
        )
'''


def test_regions_become_prompts_or_disappear() -> None:
    assert assign.to_stub(SOURCE) == STUB
    namespace: dict[str, object] = {}
    exec(compile(STUB, "stub", "exec"), namespace)
    with pytest.raises(NotImplementedError, match=r'compute the "area" with math.pi \\ r'):
        namespace["area"](1)  # type: ignore[operator]


def test_a_file_without_regions_is_copied_as_is() -> None:
    assert assign.to_stub('"""Helpers."""\n\nX = 1\n') == '"""Helpers."""\n\nX = 1\n'


@pytest.mark.parametrize(
    "source, message",
    [
        ("# BEGIN SOLUTION\nx = 1\n", "not closed"),
        ("x = 1\n# END SOLUTION\n", "without a '# BEGIN SOLUTION'"),
        ("# PROMPT: do it\nx = 1\n", "must come right before"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "not closed"),
    ],
)
def test_broken_markers_are_usage_errors(source: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        assign.to_stub(source, "solution.py")


def test_check_exits_1_with_a_diff_when_the_stubs_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(SOLUTION, tmp_path / "solutions" / "hw1")
    shutil.copytree(STUBS, tmp_path / "assignments" / "hw1")
    monkeypatch.setattr(assign, "_REPOSITORY", tmp_path)
    assert cli.main(["assign", "hw1", "--check"]) == 0

    stub = tmp_path / "assignments" / "hw1" / "model.py"
    stub.write_text(stub.read_text().replace("Step 2-1: return unnormalised logits", "write forward"))
    assert cli.main(["assign", "hw1", "--check"]) == 1
    captured = capsys.readouterr()
    assert '-        raise NotImplementedError("write forward")' in captured.out
    assert '+        raise NotImplementedError("Step 2-1: return unnormalised logits")' in captured.out
    assert captured.err.startswith("Error: the stubs differ from the solution")

    assert cli.main(["assign", "hw1"]) == 0
    assert cli.main(["assign", "hw1", "--check"]) == 0
    assert stub.read_text() == (STUBS / "model.py").read_text()


def test_assign_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["assign", "hw7"]) == 2
    assert capsys.readouterr().err == "Error: unknown assignment 'hw7'. Did you mean 'hw1' or 'hw2'?\n"
