"""``python -m grader classroom ASSIGNMENT [OUT.yml]``: the GitHub Classroom workflow of one assignment.

The workflow is ``grader/templates/classroom.yml`` with the assignment's name (the grading step's id, the
runner the reporter reads, ``<NAME>_RESULTS``) and its first module (how the step tells a submission at the
repository's root from one under ``assignments/<name>/``) filled in. The Gradescope zip, the other CI
template, is :mod:`grader.gradescope`.
"""

from __future__ import annotations

from pathlib import Path

from grader.assignments import Assignment

_TEMPLATE = Path(__file__).resolve().parent / "templates" / "classroom.yml"


def classroom_workflow(assignment: Assignment) -> str:
    """The workflow file for ``assignment``."""
    text = _TEMPLATE.read_text(encoding="utf-8")
    for placeholder, value in (
        ("@RESULTS@", f"{assignment.name.upper()}_RESULTS"),
        ("@MODULE@", assignment.modules[0]),
        ("@ASSIGNMENT@", assignment.name),
    ):
        text = text.replace(placeholder, value)
    return text
