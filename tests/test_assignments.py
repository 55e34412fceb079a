"""Assignments are data: manifests found by scanning, read strictly, and a new assignment needs no grader code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_grader

from grader import assignments
from grader.errors import UsageError

MANIFEST = """\
title = "A third assignment"
modules = ["solver"]
submission = "assignments/hw3"

[worker]
preload = ["torch.nn"]

[[steps]]
key = "basics"
title = "Step 1 (Basics)"
slides = ["Step 1-1 The basics"]
early = true

[[steps]]
key = "end-to-end"
title = "End to end"
whole_pipeline = true
"""

CHECKS = '''\
"""hw3's checks: written like hw1's and hw2's, nothing registered anywhere else."""

from grader.checks import check, expect


@check(points=3, step="end-to-end", slide="Steps 1 to 4")
def test_solves(student):
    """solve() returns 42"""
    expect(student.module("solver").solve() == 42, "solve() must return 42")


@check(points=2, step="basics", slide="Step 1-1 The basics")
def test_square(student):
    """square(3) is 9"""
    value = student.module("solver").square(3)
    expect(value == 9, f"square(3) returned {value!r}; expected 9")
'''


def _folder(root: Path, name: str, manifest: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(manifest)
    return folder


def test_the_committed_manifests_are_read() -> None:
    assert assignments.names() == ["hw1", "hw2"]
    for assignment in assignments.every():
        assert [step.number for step in assignment.steps] == list(range(1, len(assignment.steps) + 1))
        assert assignment.modules == ("data", "model", "train", "evaluate")
        assert (ROOT / assignment.solution).is_dir() and (ROOT / assignment.default_submission).is_dir()
        assert [step.key for step in assignment.steps if step.whole_pipeline] == ["end-to-end"]
        assert assignment.step("data").title == "Step 1 (Data)"


@pytest.mark.parametrize(
    "change, message",
    [
        (('modules = ["solver"]', 'modulse = ["solver"]'), "'modules' is missing (is 'modulse' a typo?)"),
        (('title = "A third assignment"\n', ""), "'title' is missing"),
        (('key = "end-to-end"', 'key = "basics"'), "steps[2].key 'basics' must be new"),
        (("early = true", 'early = "yes"'), "'steps[1].early' must be true or false"),
        (('preload = ["torch.nn"]', 'preload = "torch.nn"'), "'worker.preload' must be a list of strings"),
        (("[worker]", "[wroker]"), "unknown key 'wroker'"),
        (("whole_pipeline = true", "whole_pipeline = true\nslide = 'x'"), "unknown key 'steps[2].slide'"),
        (('title = "A', "title = A"), "Invalid"),
    ],
)
def test_a_manifest_with_a_mistake_is_one_line_naming_it(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    folder = _folder(tmp_path, "hw3", MANIFEST.replace(*change))
    with pytest.raises(UsageError) as raised:
        assignments.load(folder)
    assert str(raised.value).startswith(f"{folder / 'assignment.toml'}: ")
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_command_cannot_name_an_assignment(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="'audit' cannot name an assignment"):
        assignments.load(_folder(tmp_path, "audit", MANIFEST))


def test_a_new_assignment_is_found_listed_and_graded_without_grader_code(tmp_path: Path) -> None:
    """hw3 beside hw1 and hw2: a manifest and a check module, nothing else; the grader's code is untouched."""
    checks = tmp_path / "checks"
    for name in assignments.names():
        shutil.copytree(assignments.CHECKS / name, checks / name, ignore=shutil.ignore_patterns("__pycache__"))
    (_folder(checks, "hw3", MANIFEST) / "test_solver.py").write_text(CHECKS)
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "solver.py").write_text("def solve():\n    return 42\n\n\ndef square(x):\n    return x + x\n")
    # The same grader, told to scan another checks folder (the one change a course makes is adding a folder).
    script = (
        "import sys; from pathlib import Path; from grader import assignments, cli; "
        f"assignments.CHECKS = Path({str(checks)!r}); sys.exit(cli.main(sys.argv[1:]))"
    )

    def grader(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
        )

    listed = grader("list")
    assert listed.returncode == 0, listed.stderr
    assert "hw3: A third assignment (5 points, 2 checks)" in listed.stdout
    assert "  1. Step 1 (Basics)       basics      2 points, 1 check" in listed.stdout
    assert "  2. End to end            end-to-end  3 points, 1 check" in listed.stdout
    done = grader("hw3", str(submission), "--format", "json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    # In the manifest's order (basics, then end to end), whatever the order of the check module.
    assert [(t["step"], t["status"]) for t in report["tests"]] == [("basics", "failed"), ("end-to-end", "passed")]
    assert report["tests"][0]["output"] == "square(3) returned 6; expected 9. Reread: Step 1-1 The basics."
    workflow = grader("workflow", "hw3", "--classroom")
    assert "python -m grader hw3" in workflow.stdout and "[ ! -f solver.py ]" in workflow.stdout
    assert "the runner hw3notgraded says so and posts 0 of 5." in workflow.stdout


def test_a_check_in_an_undeclared_step_is_a_grader_error(tmp_path: Path) -> None:
    checks = tmp_path / "checks"
    folder = _folder(checks, "hw3", MANIFEST)
    (folder / "test_solver.py").write_text(CHECKS.replace('step="basics"', 'step="basic"'))
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "solver.py").write_text("def solve():\n    return 42\n")
    script = (
        "import sys; from pathlib import Path; from grader import assignments, cli; "
        f"assignments.CHECKS = Path({str(checks)!r}); sys.exit(cli.main(sys.argv[1:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "hw3", str(submission), "--format", "junit"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 3
    assert "step 'basic' is not one of the steps (basics, end-to-end)" in done.stderr
    assert "<error" in done.stdout and "step 'basic' is not one of the steps" in done.stdout


@pytest.fixture(scope="module")
def listed() -> str:
    """What ``python -m grader list`` prints."""
    done = run_grader("list")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_list_shows_every_assignment_with_its_steps_and_points(listed: str) -> None:
    lines = listed.splitlines()
    assert lines[0] == "hw1: Your first PyTorch program (100 points, 38 checks)"
    assert "  1. Step 1 (Data)         data        30 points, 11 checks" in lines
    hw2 = next(index for index, line in enumerate(lines) if line.startswith("hw2: "))
    assert lines[hw2] == "hw2: Text classification with model(**batch) (100 points, 27 checks)"
    assert lines[hw2 + 1 : hw2 + 6] == [
        "  1. Step 1 (Data)         data        30 points, 8 checks",
        "  2. Step 2 (Model)        model       25 points, 6 checks",
        "  3. Step 3 (Training)     train       20 points, 7 checks",
        "  4. Step 4 (Evaluation)   evaluate    15 points, 5 checks",
        "  5. End to end            end-to-end  10 points, 1 check",
    ]


def _handout_points(name: str) -> list[float]:
    """The points column of the handout's "## Points" table, step by step (without the total)."""
    text = (ROOT / assignments.get(name).default_submission / "README.md").read_text()
    table = text.split("## Points", 1)[1].split("\n\n", 2)[1]
    rows = [line.split("|")[1:3] for line in table.splitlines()[2:]]
    return [float(points.strip().strip("*")) for step, points in rows if "Total" not in step]


def test_every_handout_states_the_points_the_checks_declare(listed: str) -> None:
    for name in assignments.names():
        lines = listed.split(f"{name}: ", 1)[1].splitlines()[1:]
        declared = [float(line.split(" points")[0].split()[-1]) for line in lines[: len(assignments.get(name).steps)]]
        assert _handout_points(name) == declared, name
