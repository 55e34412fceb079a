"""``--format classroom``: the runner result GitHub Classroom's autograding reporter reads.

``classroom-resources/autograding-grading-reporter`` reads, for each runner id in its
``runners`` input, the environment variable ``<ID>_RESULTS``: base64 of a JSON object
``{"version": 1, "status": "pass"|"fail"|"error", "max_score", "tests": [...]}`` whose
tests carry the fields the command and io graders emit (``name``, ``status``, ``score``,
``message``, ``test_code``, ``filename``, ``line_no``, ``duration``). It adds up the tests'
``score`` against ``max_score`` and prints every test, so ``tests`` is never missing, even
when grading fails. A workflow step passes that value on as its output ``result``: with
``$GITHUB_OUTPUT`` set, :func:`deliver` appends ``result=<base64>`` to it, as the graders do.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from grader.results import CheckResult, GradeReport


def to_dict(report: GradeReport) -> dict[str, Any]:
    """The runner result as plain data."""
    return {
        "version": 1,
        "status": "pass" if report.all_passed else "fail",
        "max_score": report.max_score,
        "tests": [_test(check, report.step(check.step).title) for check in report.checks],
    }


def render(report: GradeReport, color: bool = False) -> str:
    """The runner result, base64-encoded as the reporter expects."""
    return _encode(to_dict(report))


def render_error(assignment: str, message: str) -> str:
    """A runner result for a grading that failed: status ``error`` and one test that says why.

    ``max_score`` is 0, so the reporter records no points instead of a false zero.
    """
    test = {
        "name": f"{assignment} grading",
        "status": "error",
        "score": 0,
        "message": f"The grader could not finish: {message}",
        "test_code": "",
        "filename": "",
        "line_no": 0,
        "duration": 0,
    }
    return _encode({"version": 1, "status": "error", "max_score": 0, "tests": [test]})


def deliver(text: str) -> None:
    """Append ``result=<text>`` to ``$GITHUB_OUTPUT`` inside a workflow step; print ``text`` elsewhere."""
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        print(text)
        return
    with open(target, "a", encoding="utf-8") as output:
        output.write(f"result={text}\n")


def _test(check: CheckResult, step: str) -> dict[str, Any]:
    return {
        "name": f"{step}: {check.title}",
        "status": "pass" if check.passed else "fail",
        "score": check.score,
        "message": check.message,
        "test_code": check.name,
        "filename": "",
        "line_no": 0,
        "duration": check.duration,
    }


def _encode(document: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(document, ensure_ascii=False).encode("utf-8")).decode("ascii")
