"""``python -m grader workflow ASSIGNMENT [OUT.yml]``: the GitHub Actions workflow that grades one assignment.

The workflow is ``grader/templates/workflow.yml`` with the assignment filled in: its name, its first module
(how the grading step tells a submission at the repository's root from one under ``assignments/<name>/``),
the torch it is tested with and where pip finds the grader (a wheel committed to the repository, or a
requirement and a package index). It grades on every push with ``--format github`` (the default in a
workflow step). ``--classroom`` adds GitHub Classroom's reporter step, for courses that still run the
sunset Classroom application: the grading step then uses ``--format classroom``, and a grading that did
not run at all (a failed install) still reaches the reporter as an error worth 0 of the assignment's
points. The Gradescope zip, the other place grading runs, is :mod:`grader.gradescope`.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from grader import __version__
from grader.assignments import Assignment

_TEMPLATE = Path(__file__).resolve().parent / "templates" / "workflow.yml"
#: The torch the grader is tested with (.ci/run) and that Gradescope's setup.sh installs.
TORCH = "2.13.0"
#: Where the README tells courses to commit the grader's wheel in the template repository.
WHEEL = f".github/grader/grader-{__version__}-py3-none-any.whl"
_CLASSROOM = re.compile(r"^# BEGIN CLASSROOM\n(.*?)^# END CLASSROOM\n", re.DOTALL | re.MULTILINE)


def workflow(assignment: Assignment, package: str = WHEEL, index_url: str = "", classroom: bool = False) -> str:
    """The workflow file for ``assignment``; ``package`` and ``index_url``: what pip installs as the grader."""
    text = _CLASSROOM.sub(lambda match: match[1] if classroom else "", _TEMPLATE.read_text(encoding="utf-8"))
    missing = re.sub(r"[^A-Za-z0-9]", "", assignment.name) + "notgraded"
    points = _points(assignment) if classroom else 0.0
    for placeholder, value in (
        ("@MISSING_VARIABLE@", f"{missing.upper()}_RESULTS"),
        ("@MISSING@", missing),
        ("@FALLBACK@", _fallback(assignment, points) if classroom else ""),
        ("@POINTS@", f"{points:g}"),
        ("@FORMAT@", " --format classroom" if classroom else ""),
        ("@PACKAGE@", _quoted(package)),
        ("@INDEX_URL@", _quoted(index_url)),
        ("@TORCH@", TORCH),
        ("@MODULE@", assignment.modules[0]),
        ("@ASSIGNMENT@", assignment.name),
    ):
        text = text.replace(placeholder, value)
    return text


def _fallback(assignment: Assignment, points: float) -> str:
    """The Classroom runner result of a grading that did not run: an error, 0 of the assignment's points."""
    test = {
        "name": f"{assignment.name} grading",
        "status": "error",
        "score": 0,
        "message": "The grader did not run or did not finish: the step that failed above says why (installing "
        "the grader, or grading). No points were given; push again once it is fixed.",
        "test_code": "",
        "filename": "",
        "line_no": 0,
        "duration": 0,
    }
    document = {"version": 1, "status": "error", "max_score": points, "tests": [test]}
    return base64.b64encode(json.dumps(document).encode("ascii")).decode("ascii")


def _points(assignment: Assignment) -> float:
    """The assignment's public points (what a student's own run grades)."""
    from grader import plugin

    return round(sum(info.points for _, _, info in plugin.collect(assignment.checks_dir) if not info.hidden), 6)


def _quoted(value: str) -> str:
    """``value`` inside the template's single quotes (YAML doubles a single quote)."""
    return value.replace("'", "''")
