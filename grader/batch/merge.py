"""From the results in OUT to the class's files: ``grades.csv`` and ``summary.html``.

A whole batch writes them when it ends; a batch split into shards leaves them to one merge, run when
every shard is done (``--merge``), since each shard sees only its own part of the class.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from grader import hidden as hidden_checks
from grader.assignments import Assignment
from grader.batch.outcome import Outcome
from grader.batch.store import ResultStore
from grader.reporters import summary

#: Formula prefixes: a cell starting with one runs as a formula when grades.csv is opened in a spreadsheet.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def grades_csv(outcomes: dict[str, Outcome]) -> str:
    """``grades.csv``: one row per submission, one column per step and per check."""
    documents = {name: outcome.to_json() for name, outcome in outcomes.items()}
    steps = list(dict.fromkeys(t["step"] for d in documents.values() for t in d["tests"]))
    checks = list(dict.fromkeys(t["check"] for d in documents.values() for t in d["tests"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["submission", "score", "max_score", *steps, "status", *checks])
    for name, document in documents.items():
        tests = document["tests"]
        # A submission no check ran on (invalid) has no points per step or check, not zeros.
        by_step = {step: _points(sum(t["score"] for t in tests if t["step"] == step)) for step in steps if tests}
        by_check = {t["check"]: _points(t["score"]) for t in tests}
        writer.writerow(
            [
                "'" + name if name.startswith(_FORMULA) else name,
                _points(document["score"]),
                _points(document["max_score"]),
                *(by_step.get(s, "") for s in steps),
                document["status"],
                *(by_check.get(c, "") for c in checks),
            ]
        )
    return buffer.getvalue()


def _points(value: float) -> str:
    """Points as a spreadsheet reads them: ``100``, ``0``, ``2.5`` (never ``0.0`` beside ``100``)."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def hidden_warning(assignment: Assignment, outcomes: dict[str, Outcome]) -> str:
    """The manifest check of a staff run (see :func:`grader.hidden.mismatch`), on the first graded result."""
    for outcome in outcomes.values():
        if outcome.report is not None and outcome.report.checks:
            return hidden_checks.mismatch(hidden_checks.manifest(assignment), outcome.report)
    return ""


def publish(
    store: ResultStore,
    assignment: Assignment,
    names: list[str],
    outcomes: dict[str, Outcome],
    hidden: bool,
    log: Callable[[str], None],
) -> tuple[Path, Path]:
    """Write grades.csv and summary.html of the class ``names`` from ``outcomes`` (those without one: pending).

    With ``hidden`` checks, warn when they are not what the assignment announces.
    """
    pending = [name for name in names if name not in outcomes]
    documents = {name: outcome.to_json() for name, outcome in outcomes.items()}
    grades = store.write_file("grades.csv", grades_csv(outcomes))
    page = store.write_file("summary.html", summary.render(assignment.name, documents, pending, assignment.steps))
    if hidden and (warning := hidden_warning(assignment, outcomes)):
        log(f"Warning: {warning}")
    log(f"Wrote {grades} and {page} ({len(outcomes)} of {len(names)} submissions).")
    return grades, page
