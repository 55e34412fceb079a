"""Shared helpers: run the grader as a user would, build variants of a reference solution."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "hw1"
STUBS = ROOT / "assignments" / "hw1"


#: What a GitHub Actions step sets that changes the grader's output (its default format, where reports go).
_ACTIONS = ("GITHUB_ACTIONS", "GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_WORKSPACE")


@pytest.fixture(autouse=True)
def _outside_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see the grader as it runs outside a workflow step, even when the suite runs in one."""
    for name in _ACTIONS:
        monkeypatch.delenv(name, raising=False)


def run_grader(
    *args: str, timeout: float = 900, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m grader ARGS`` in a fresh interpreter, as a student or CI runs it (``env``: variables to add)."""
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd,
        env={**os.environ, **env} if env else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def materialize(edits: Any, target: Path, solution: Path = SOLUTION) -> Path:
    """A copy of the reference solution (hw1's unless told) with ``edits`` (:class:`grader.audit.Edit`) applied."""
    from grader import audit

    return audit.materialize(solution, edits, target)


def corpus(name: str) -> Any:
    """The mutation corpus of assignment ``name`` (:class:`grader.audit.Corpus`)."""
    from grader import assignments, audit

    return audit.load_corpus(assignments.get(name))


#: Student code (appended to model.py) that reads any file it can: hidden checks must not be one.
PEEK = '''

def peek(path):
    """Read any file it can: the hidden checks must not be one."""
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""
'''


def unreadable_check(points: int) -> str:
    """The source of a hidden check (worth ``points``) that fails if student code can read its file."""
    return f'''
@check(points={points}, step="model", slide="Step 2-2 Define the loss function")
def test_hidden_checks_are_unreadable(student):
    """student code cannot read the hidden checks"""
    seen = student.module("model").peek(__file__)
    expect(seen == "", f"student code read {{len(seen)}} characters of the hidden checks")
'''


def step_scores(document: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """(score, max_score) per step of a ``--format json`` document."""
    totals: dict[str, tuple[float, float]] = {}
    for test in document["tests"]:
        score, max_score = totals.get(test["step"], (0.0, 0.0))
        totals[test["step"]] = (score + test["score"], max_score + test["max_score"])
    return totals
