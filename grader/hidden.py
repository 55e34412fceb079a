"""Hidden checks: graded by the staff, never shipped to students.

Hidden checks are ordinary check modules (``test_*.py`` with ``@check``) kept in a folder
outside the public tree. ``--hidden DIR`` runs them together with the public checks; every
check found there is reported as hidden, and the folder is in the sandbox's hide list, so
student code cannot read it. What students do receive is a manifest next to the public
checks, ``grader/checks/<hw>/hidden.json`` = ``{"count": N, "points": P}``, from which a
student's run says how many hidden checks will run later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from grader.assignments import Assignment
from grader.errors import UsageError
from grader.results import GradeReport

MANIFEST = "hidden.json"


@dataclass(frozen=True)
class Manifest:
    """What students are told about the hidden checks of an assignment."""

    count: int = 0
    points: float = 0


def manifest(assignment: Assignment) -> Manifest:
    """The assignment's manifest; no file means no hidden checks."""
    path = assignment.checks_dir / MANIFEST
    if not path.is_file():
        return Manifest()
    data = json.loads(path.read_text(encoding="utf-8"))
    return Manifest(count=int(data["count"]), points=float(data["points"]))


def folder(path: str) -> Path:
    """The ``--hidden`` folder, resolved; a usage error unless it holds check modules."""
    resolved = Path(path).resolve()
    if not resolved.is_dir():
        raise UsageError(f"hidden checks folder '{path}' does not exist.")
    if not any(resolved.glob("test_*.py")):
        raise UsageError(f"hidden checks folder '{path}' holds no test_*.py check modules.")
    return resolved


def mismatch(expected: Manifest, report: GradeReport) -> str:
    """Why the manifest misstates the hidden checks that ran, or "" when it is right."""
    hidden = [check for check in report.checks if check.hidden]
    count, points = len(hidden), sum(check.max_score for check in hidden)
    if (count, points) == (expected.count, expected.points):
        return ""
    return (
        f"{MANIFEST} announces {expected.count} hidden checks worth {expected.points:g} points, but "
        f"{count} worth {points:g} ran; update it so that students are told the truth."
    )
