"""The student's terminal report (grader/reporters/text.py), what is wrong with a submission's files
(grader/inventory.py) and ``--traceback``'s frames (grader/plugin.py).

Real gradings run in one child process per assignment (the grader runs pytest and loads hypothesis's
profile, which this suite's own pytest must not share), each grading several folders.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SOLUTION, STUBS

from grader import assignments, inventory
from grader.reporters import text
from grader.results import CheckResult, GradeReport

_GRADE = """
import dataclasses, json, sys
from pathlib import Path
from grader import assignments
from grader.reporters import text
from grader.runner import Grader
grader = Grader(assignments.get(sys.argv[1]))
found = {}
for folder in sys.argv[2:]:
    report = grader.grade(Path(folder), show_tracebacks=True)
    plain = dataclasses.replace(report, checks=[dataclasses.replace(c, traceback="") for c in report.checks])
    found[folder] = {
        "text": text.render(plain),
        "tracebacks": [check.traceback for check in report.checks if not check.passed],
    }
grader.close()
print(json.dumps(found))
"""


def _grade(assignment: str, *folders: Path) -> dict[str, Any]:
    """Each folder's report as the terminal shows it (without tracebacks), and its failures' --traceback text."""
    done = subprocess.run(
        [sys.executable, "-c", _GRADE, assignment, *map(str, folders)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def hw1(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """hw1 graded on its stubs, on the stubs with a syntax error in model.py, on a folder holding only a
    notebook, and on a partly done submission (train.py untouched, evaluate returning a percentage)."""
    base = tmp_path_factory.mktemp("hw1")
    stubs = Path(shutil.copytree(STUBS, base / "stubs"))
    syntax = Path(shutil.copytree(STUBS, base / "syntax"))
    with (syntax / "model.py").open("a") as model:
        model.write("\n\ndef broken(:\n    pass\n")
    notebook = base / "notebook"
    notebook.mkdir()
    (notebook / "hw1.ipynb").write_text('{"cells": []}')
    partly = Path(shutil.copytree(SOLUTION, base / "partly"))
    shutil.copyfile(STUBS / "train.py", partly / "train.py")
    evaluate = (partly / "evaluate.py").read_text()
    scored = "return float(accuracy_score(labels, predictions))"
    assert scored in evaluate
    (partly / "evaluate.py").write_text(evaluate.replace(scored, scored + " * 100"))
    graded = _grade("hw1", stubs, syntax, notebook, partly)
    found = {name: graded[str(base / name)] for name in ("stubs", "syntax", "notebook", "partly")}
    found["syntax"]["line"] = (syntax / "model.py").read_text().splitlines().index("def broken(:") + 1
    return found


def test_the_untouched_stubs_fit_a_screen(hw1: dict[str, Any]) -> None:
    """One line (wrapped) per unfinished function, with the checks it blocks: 158 lines before, 45 now at the
    default 100 columns (a screen of 120 columns shows it in 40)."""
    report = hw1["stubs"]["text"]
    lines = report.splitlines()
    assert len(lines) <= 45, report
    # train_one_epoch blocks six checks of Step 3 (and train's passes_device_on): said once, where it is.
    assert report.count("train.py line 38, in train_one_epoch") == 1
    assert "NotImplementedError" not in report  # TODO says it
    assert "blocks 0/17: one_epoch_updates_weights, one_epoch_returns_weighted_mean_loss" in " ".join(lines)
    # The end-to-end check is blocked by the first function it calls, named in a line of its own.
    assert lines[-3] == "  blocked by data.py line 84, in __init__ (above): 0/10: digits_pipeline_reaches_accuracy"
    # What is not an unfinished function keeps its own message.
    assert "nothing written by hand to check yet" in report
    assert lines[-1] == "Total: 0/100"


def test_a_syntax_error_is_said_once_with_its_line(hw1: dict[str, Any]) -> None:
    report, line = hw1["syntax"]["text"], hw1["syntax"]["line"]
    assert report.count("SyntaxError") == 1
    assert f"TODO model.py could not be imported: SyntaxError: invalid syntax (model.py line {line})" in report
    assert "blocked by model.py, which cannot be imported (above): 0/10: digits_pipeline_reaches_accuracy" in report
    assert "Reread: Step 2-1: why super().__init__() is needed" not in report  # once per check, before


def test_a_partly_done_submission_keeps_each_real_failure(hw1: dict[str, Any]) -> None:
    report = hw1["partly"]["text"]
    assert "  FAIL evaluate returns the accuracy as a fraction in [0, 1] (0/3)" in report
    assert "evaluate returned 63.6364, a percentage; return the accuracy as a fraction in [0, 1]" in report
    assert "Reread: Step 4: Write the evaluation process." in report
    assert report.count("train.py line 38, in train_one_epoch") == 1
    assert "Step 1 (Data)         30/30  ok\n  PASS all 11 checks\n" in report
    assert "  PASS 7/7: predict_argmax_in_order, predict_and_evaluate_use_eval_mode," in report
    assert "Total: 67/100" in report


def test_a_notebook_alone_is_one_line(hw1: dict[str, Any]) -> None:
    report = hw1["notebook"]["text"]
    (files,) = [line for line in report.splitlines() if line.startswith("Files: ")]
    assert files.startswith("Files: found only hw1.ipynb, no .py file: export the notebook's code to data.py,")
    # Each module's checks in one line, by their number: the Files line says why.
    assert "  TODO evaluate.py is missing (Files, above); blocks 0/10: 5 checks" in report
    assert "  blocked by the missing data.py (above): 0/10: 1 check" in report
    assert len(report.splitlines()) <= 20, report  # 120 before


def test_hw2_stubs_fit_a_screen(tmp_path: Path) -> None:
    stubs = shutil.copytree(ROOT / "assignments" / "hw2", tmp_path / "stubs")
    report = _grade("hw2", stubs)[str(stubs)]["text"]
    assert len(report.splitlines()) <= 40, report
    assert report.count("data.py line 43, in tokenize") == 1
    assert "blocks 0/18: one_epoch_updates_weights, one_epoch_returns_weighted_mean_loss" in report


def test_traceback_shows_the_checks_frames_and_the_students(hw1: dict[str, Any]) -> None:
    """--traceback: the check's frames in grader/checks, then where the student's code raised, no pytest."""
    traces = hw1["partly"]["tracebacks"]
    unfinished = next(trace for trace in traces if "train_one_epoch" in trace)
    assert "grader/checks/hw1/test_train.py" in unfinished
    student = 'Raised in the submission (the worker\'s frames):\n  File "train.py", line 38, in train_one_epoch'
    assert student in unfinished
    assert "NotImplementedError: Step 3: write the training loop" in unfinished
    for trace in traces:
        assert "_pytest" not in trace and "pluggy" not in trace and "sandbox/client.py" not in trace
        assert len(trace.splitlines()) < 30, trace
    fraction = next(trace for trace in traces if "a percentage" in trace)
    assert "grader/checks/hw1/test_evaluate.py" in fraction and "Raised in the submission" not in fraction


def _check(name: str, step: str, passed: bool, message: str = "", file: str = "", line: int = 0) -> CheckResult:
    return CheckResult(
        name=f"test_{name}",
        title=f"{name} holds",
        step=step,
        slide="Step 2-2 Define the loss",
        max_score=2,
        passed=passed,
        message=f"{message} Reread: Step 2-2 Define the loss." if message else "",
        file=file,
        line=line,
    )


def _raised(what: str, where: str, example: str = "") -> str:
    return f"your code raised {what} ({where}).{f' Smallest failing input: {example}.' if example else ''}"


def test_only_the_same_unfinished_function_is_grouped() -> None:
    """The stub's NotImplementedError at one line is one TODO, whatever each check's context and input; a
    NotImplementedError elsewhere is another; any other exception stays a failure of its own."""
    stub = "NotImplementedError: Step 2-2: pick the loss for classification tasks"
    context = "build_loss('x') failed: "
    checks = [
        _check("a", "model", False, context + _raised(stub, "model.py line 9, in f", "n=1"), "model.py", 9),
        _check("b", "model", False, _raised(stub, "model.py line 9, in f"), "model.py", 9),
        _check("c", "model", False, _raised("TypeError: bad operand", "model.py line 9, in f", "n=3"), "model.py", 9),
        _check("d", "model", True),
        _check("e", "end-to-end", False, _raised(stub, "model.py line 9, in f"), "model.py", 9),
    ]
    graded = GradeReport("hw1", "s", checks, step_order=assignments.get("hw1").steps)
    report = text.render(graded)
    # In colour, the same lines (the colour codes take no width).
    assert re.sub(r"\x1b\[[0-9;]*m", "", text.render(graded, color=True)) == report
    assert report.splitlines() == [
        "hw1: s",
        "Step 2 (Model)        2/8  --",
        "  TODO model.py line 9, in f: Step 2-2: pick the loss for classification tasks; blocks 0/4: a, b",
        "  FAIL c holds (0/2)",
        "       your code raised TypeError: bad operand (model.py line 9, in f). Smallest failing input: n=3.",
        "       Reread: Step 2-2 Define the loss.",
        "  PASS 2/2: d",
        "End to end            0/2  --",
        "  blocked by model.py line 9, in f (above): 0/2: e",
        "",
        "Total: 2/10",
    ]


@pytest.mark.parametrize("name", ["hw1", "hw2"])
def test_file_problems(name: str) -> None:
    """Missing, misnamed, misplaced and notebook-only submissions: one line each, saying what was found."""
    modules = assignments.get(name).modules
    assert modules[:2] == ("data", "model") and "evaluate" in modules

    def problems(*files: str) -> list[str]:
        return inventory.file_problems([Path(file) for file in files], modules)

    complete = [f"{module}.py" for module in modules]
    assert problems(*complete, "notes.txt") == []
    without = [file for file in complete if file != "evaluate.py"]
    held = sorted([*without, "notes.txt"])
    assert problems(*without, "notes.txt") == [
        f"evaluate.py is missing (the folder holds {', '.join(held[:-1])} and {held[-1]})"
    ]
    assert problems("Data.py", *complete[1:]) == ["found Data.py: rename it to data.py"]
    assert problems("src/data.py", *complete[1:]) == ["found src/data.py: move it to the top of the submission folder"]
    assert problems("data.ipynb", *complete[1:]) == [
        "found data.ipynb: export its code to data.py (the grader imports .py files)"
    ]
    (notebook,) = problems(f"{name}.ipynb", "README.md")
    assert notebook.startswith(f"found only {name}.ipynb, no .py file: export the notebook's code to data.py, ")
    assert problems() == [f"{module}.py is missing (the folder holds nothing)" for module in modules]


def test_file_problems_show_the_students_names_printable_and_short() -> None:
    """File names are the student's: no terminal control gets through, no name or list runs on without end."""
    modules = assignments.get("hw1").modules
    hostile = "\x1b]0;PWNED\x07\x1b[2K\rdata\u202e.ipynb"
    (line,) = inventory.file_problems([Path(hostile)], modules)
    assert "\x1b" not in line and "\x07" not in line and "\r" not in line and "\u202e" not in line
    assert "%1B]0;PWNED%07%1B[2K%0Ddata%E2%80%AE.ipynb" in line
    many = [Path(f"{'n' * 200}{number}.ipynb") for number in range(2000)]
    (line,) = inventory.file_problems(many, modules)
    assert len(line) < 1500 and line.count("...") == 8 and "and 1992 more" in line
    (line,) = inventory.file_problems([Path("notes.txt"), *(Path(f"{n}.txt") for n in range(50))], modules[:1])
    assert "and 43 more" in line


def test_a_long_report_ends_with_every_steps_score() -> None:
    """Many failures of their own scroll the steps' scores away: the last lines repeat them, a short report not."""
    steps = assignments.get("hw1").steps
    checks = [
        _check(f"clause_{number}", step.key, False, f"expected {number}, got {number + 1}.")
        for step in steps
        for number in range(6)
    ]
    long = text.render(GradeReport("hw1", "s", checks, step_order=steps)).splitlines()
    assert len(long) > 60
    assert long[-len(steps) - 3 :] == [
        "Summary",
        *(f"{step.title:<22}0/12  --" for step in steps),
        "",
        "Total: 0/60",
    ]
    short = text.render(GradeReport("hw1", "s", checks[:3], step_order=steps))
    assert "Summary" not in short
