"""``--format json``: Gradescope's field names, plus ``step``, ``check`` and ``printed`` (the student's output), and
``files``: what is missing or misnamed in the submission (grader.inventory)."""

from __future__ import annotations

import json

from grader.results import GradeReport


def to_dict(report: GradeReport) -> dict[str, object]:
    """The JSON document as plain data."""
    return {
        "score": report.score,
        "max_score": report.max_score,
        "execution_time": round(report.duration, 3),
        "sandbox": report.sandbox,
        "files": list(report.file_problems),
        "tests": [
            {
                "name": check.title,
                "check": check.name,
                "step": check.step,
                "score": check.score,
                "max_score": check.max_score,
                "status": "passed" if check.passed else "failed",
                "output": check.message,
                # What the student's code printed in a failed check (see grader.sandbox.printed).
                "printed": check.output,
                "visibility": "after_published" if check.hidden else "visible",
            }
            for check in report.checks
        ],
    }


def render(report: GradeReport, color: bool = False) -> str:
    """The report as indented JSON."""
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False)
