"""``OUT/feedback/<name>.txt`` and ``<name>.md``: what a TA hands back to each student.

The text is the report the student would see from ``python -m grader`` (:mod:`grader.reporters.text`);
the Markdown is the same text under a heading, in a code block: whatever the text report becomes, its twin
says the same, and a comment box that takes Markdown keeps its lines. Hidden checks are in it by their visibility,
``after_published`` (as on Gradescope): feedback is handed back with the grades, so they are shown,
marked as hidden checks. A submission no check ran on (invalid, or the grader's error) gets a file that
says why. Written with grades.csv (:func:`grader.batch.merge.publish`), by a whole batch or a merge.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from pathlib import Path

from grader.assignments import Assignment
from grader.batch.outcome import Outcome, Status
from grader.batch.store import FEEDBACK, ResultStore
from grader.reporters import text
from grader.results import GradeReport

_SUFFIXES = (".txt", ".md")
#: CommonMark lets every ASCII punctuation character be backslash-escaped.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
#: Why a submission got no report, as its student reads it (the result's reason follows).
_WHY = {
    Status.INVALID: "Nothing could be graded",
    Status.ERROR: "Not graded yet: the grader failed on this submission, not your code; the course staff will grade "
    "it again",
    Status.TIMEOUT: "Grading was stopped",
}


def student_report(assignment: Assignment, name: str, report: GradeReport) -> GradeReport:
    """``report`` as its student sees it: the assignment's steps in order (the text report marks hidden checks)."""
    return dataclasses.replace(report, submission=name, step_order=assignment.steps)


def render(assignment: Assignment, name: str, outcome: Outcome) -> dict[str, str]:
    """The feedback files of submission ``name``: file suffix -> content."""
    if outcome.report is not None:
        body = text.render(student_report(assignment, name, outcome.report), color=False)
    else:
        why = f"{_WHY.get(outcome.status, 'Not graded')}: {outcome.reason or outcome.status.value}"
        body = f"{assignment.name}: {name}\n\n{why}"
    return {".txt": body + "\n", ".md": f"# {escape(assignment.name)}: {escape(name)}\n\n{block(body)}\n"}


def escape(value: str) -> str:
    """``value`` shown as itself by a Markdown renderer: every ASCII punctuation mark escaped, so none is markup."""
    return _PUNCTUATION.sub(r"\\\1", value)


def block(value: str) -> str:
    """``value`` as a fenced code block whose fence is longer than any run of backticks in it (the student's)."""
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{value}\n{fence}"


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
