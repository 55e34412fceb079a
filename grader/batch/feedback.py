"""``OUT/feedback/<name>.txt`` and ``<name>.md``: what a TA hands back to each student.

The text is the report the student would see from ``python -m grader`` (:mod:`grader.reporters.text`),
the Markdown the same in :mod:`grader.reporters.markdown`. Hidden checks are in it by their visibility,
``after_published`` (as on Gradescope): feedback is handed back with the grades, so they are shown,
marked as hidden checks. A submission no check ran on (invalid, or the grader's error) gets a file that
says why. Written with grades.csv (:func:`grader.batch.merge.publish`), by a whole batch or a merge.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

from grader.assignments import Assignment
from grader.batch.outcome import Outcome, Status
from grader.batch.store import FEEDBACK, ResultStore
from grader.reporters import markdown, text
from grader.results import GradeReport

_SUFFIXES = (".txt", ".md")
#: Why a submission got no report, as its student reads it (the result's reason follows).
_WHY = {
    Status.INVALID: "Nothing could be graded",
    Status.ERROR: "Not graded yet: the grader failed on this submission, not your code; the course staff will grade "
    "it again",
    Status.TIMEOUT: "Grading was stopped",
}


def student_report(assignment: Assignment, name: str, report: GradeReport) -> GradeReport:
    """``report`` as its student sees it: the assignment's steps in order, hidden checks marked as hidden."""
    checks = [
        dataclasses.replace(check, title=f"{check.title} (hidden check)") if check.hidden else check
        for check in report.checks
    ]
    return dataclasses.replace(report, submission=name, checks=checks, step_order=assignment.steps)


def render(assignment: Assignment, name: str, outcome: Outcome) -> dict[str, str]:
    """The feedback files of submission ``name``: file suffix -> content."""
    if outcome.report is not None:
        report = student_report(assignment, name, outcome.report)
        return {".txt": text.render(report, color=False) + "\n", ".md": markdown.render(report)}
    why = f"{_WHY.get(outcome.status, 'Not graded')}: {outcome.reason or outcome.status.value}"
    return {
        ".txt": f"{assignment.name}: {name}\n\n{why}\n",
        ".md": f"# {markdown.escape(assignment.name)}: {markdown.escape(name)}\n\n{markdown.block(why)}\n",
    }


def path(out: Path, name: str, suffix: str = ".txt") -> Path:
    """Where submission ``name``'s feedback file with ``suffix`` is, under the batch's ``out``."""
    return out / FEEDBACK / f"{name}{suffix}"


def write_all(store: ResultStore, assignment: Assignment, outcomes: dict[str, Outcome]) -> Path:
    """Write every submission's feedback into ``OUT/feedback``, atomically; returns that folder.

    A file already holding its text is left alone (a resumed batch rewrites only what changed), and one of a
    submission without a result now (out of date, no longer in the class) is removed: it is no one's feedback.
    """
    folder = store.out / FEEDBACK
    folder.mkdir(exist_ok=True)
    wanted: set[Path] = set()
    for name, outcome in outcomes.items():
        for suffix, content in render(assignment, name, outcome).items():
            target = path(store.out, name, suffix)
            wanted.add(target)
            with contextlib.suppress(OSError):
                if target.read_bytes() == content.encode("utf-8", "backslashreplace"):
                    continue
            store.write_file(f"{FEEDBACK}/{target.name}", content)
    for stale in folder.iterdir():
        if stale.suffix in _SUFFIXES and stale not in wanted:
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
    return folder
