"""Shared helpers: run the grader as a user would, and grade a whole synthetic class once per session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "hw1"
STUBS = ROOT / "assignments" / "hw1"


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


def materialize(edits: Any, target: Path) -> Path:
    """A copy of the reference solution with ``edits`` (``hw1_variants.Edit``) applied."""
    shutil.copytree(SOLUTION, target, ignore=shutil.ignore_patterns("__pycache__"))
    for edit in edits:
        path = target / edit.file
        if edit.old == "" and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(edit.new)
            continue
        text = path.read_text()
        assert text.count(edit.old) == 1, f"{edit.file}: the edit's old text must occur exactly once"
        path.write_text(text.replace(edit.old, edit.new))
    return target


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


#: Extra submissions other test modules add to the one class batch (name -> builder into a folder).
CLASS_MEMBERS: dict[str, Callable[[Path], None]] = {}


@pytest.fixture(scope="session")
def class_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Grade the solution, the stubs and every variant in ONE batch run; results by submission name."""
    import hw1_variants

    folder = tmp_path_factory.mktemp("class")
    shutil.copytree(SOLUTION, folder / "solution")
    shutil.copytree(STUBS, folder / "stubs", ignore=shutil.ignore_patterns("*.md"))
    for variant in (*hw1_variants.BUGGY, *hw1_variants.CORRECT):
        materialize(variant.edits, folder / variant.name)
    for name, build in CLASS_MEMBERS.items():
        build(folder / name)
    out = tmp_path_factory.mktemp("grades")
    done = run_grader("hw1", "--batch", str(folder), "--out", str(out), "--jobs", "2", timeout=1800)
    assert done.returncode == 0, done.stderr
    return {path.stem: json.loads(path.read_text()) for path in out.glob("*.json")}


def step_scores(document: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """(score, max_score) per step of a ``--format json`` document."""
    totals: dict[str, tuple[float, float]] = {}
    for test in document["tests"]:
        score, max_score = totals.get(test["step"], (0.0, 0.0))
        totals[test["step"]] = (score + test["score"], max_score + test["max_score"])
    return totals
