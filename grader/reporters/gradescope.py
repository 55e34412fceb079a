"""``--format gradescope``: Gradescope's ``results.json``.

The fields are those of Gradescope's autograder specification: top-level ``score``,
``execution_time``, ``output``, ``visibility``, ``stdout_visibility`` and ``tests``; per
test ``score``, ``max_score``, ``status``, ``name``, ``number``, ``output``, ``tags`` and
``visibility``. Hidden checks are ``after_published``: students see them once the staff
publish the grades. The autograder zip that writes this file is :mod:`grader.gradescope`.
"""

from __future__ import annotations

import json
from typing import Any

from grader.results import CheckResult, GradeReport

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
#: The grader's stdout on Gradescope is the staff's debugging log, not feedback.
_STDOUT_VISIBILITY = "hidden"


def to_dict(report: GradeReport) -> dict[str, Any]:
    """The ``results.json`` document as plain data; tests are numbered ``<step's number>.<n>``."""
    numbers: dict[str, int] = {}
    tests = []
    for check in report.checks:
        numbers[check.step] = numbers.get(check.step, 0) + 1
        tests.append(_test(check, f"{report.step(check.step).number}.{numbers[check.step]}"))
    return {
        "score": report.score,
        "execution_time": round(report.duration),
        "output": _summary(report),
        "visibility": "visible",
        "stdout_visibility": _STDOUT_VISIBILITY,
        "tests": tests,
    }


def render(report: GradeReport, color: bool = False) -> str:
    """The report as Gradescope's ``results.json``."""
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False)


def render_error(assignment: str, message: str) -> str:
    """A ``results.json`` for a grading that failed: no points, and the reason for the student."""
    document = {
        "score": 0,
        "execution_time": 0,
        "output": f"The autograder could not grade this {assignment} submission: {message}. If that is not "
        "about what you uploaded, please tell the course staff.",
        "visibility": "visible",
        "stdout_visibility": _STDOUT_VISIBILITY,
        "tests": [],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _test(check: CheckResult, number: str) -> dict[str, Any]:
    output = check.message
    if check.output:
        output += "\n\nYour output:\n" + check.output
    if check.traceback:
        output += "\n\n" + check.traceback
    return {
        "score": check.score,
        "max_score": check.max_score,
        "status": "passed" if check.passed else "failed",
        "name": check.title,
        "number": number,
        "output": output,
        "tags": [check.step],
        "visibility": "after_published" if check.hidden else "visible",
    }


def _summary(report: GradeReport) -> str:
    """Points per step, over the visible checks only: the summary must not reveal hidden results early."""
    checks = [check for check in report.checks if not check.hidden]
    visible = GradeReport(report.assignment, report.submission, checks, step_order=report.step_order)
    lines = [f"{step.step.title}: {step.score:g}/{step.max_score:g}" for step in visible.steps()]
    hidden = len(report.checks) - len(visible.checks)
    label = "Total of the visible checks" if hidden else "Total"
    lines.append(f"{label}: {visible.score:g}/{visible.max_score:g}")
    if hidden:
        lines.append(f"{hidden} hidden checks were graded too; their results appear when the grades are published.")
    return "\n".join(lines)
