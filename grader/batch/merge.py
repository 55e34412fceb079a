"""From the results in OUT to the class's files: ``grades.csv`` and ``summary.html``.

A whole batch writes them when it ends; a batch split into shards leaves them to one merge, run when
every shard is done (``--merge``), since each shard sees only its own part of the class.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from grader import hidden as hidden_checks
from grader.assignments import Assignment, Step
from grader.batch import feedback
from grader.batch.outcome import Outcome
from grader.batch.store import ResultStore
from grader.reporters import summary

#: Formula prefixes: a cell starting with one runs as a formula when grades.csv is opened in a spreadsheet.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def grades_csv(outcomes: dict[str, Outcome], steps: Sequence[Step] = ()) -> str:
    """``grades.csv``: one row per submission; a column per step and per check, headed by title and maximum.

    One header row, so that every spreadsheet and gradebook import reads it: a step's column is headed
    ``<its title> [max <points>]``, a check's ``<its title> [max <points>]`` too (``[<check id>, max <points>]``
    when two checks share a title). ``reason`` says why a submission is not ``graded`` (empty when it is), on
    one line.
    """
    documents = {name: outcome.to_json() for name, outcome in outcomes.items()}
    tests = [t for d in documents.values() for t in d["tests"]]
    titles = {step.key: step.title for step in steps}
    known = [step.key for step in steps]
    step_keys = sorted(
        dict.fromkeys(t["step"] for t in tests), key=lambda k: known.index(k) if k in known else len(known)
    )
    step_max = {
        s: max(sum(t["max_score"] for t in d["tests"] if t["step"] == s) for d in documents.values()) for s in step_keys
    }
    checks: dict[str, tuple[str, float]] = {}
    for test in tests:
        title, top = checks.get(test["check"], (test["name"], 0))
        checks[test["check"]] = (title, max(top, test["max_score"]))
    uses = Counter(title for title, _ in checks.values())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "submission",
            "score",
            "max_score",
            *(f"{titles.get(s, s)} [max {_points(step_max[s])}]" for s in step_keys),
            "status",
            "reason",
            *(
                f"{title} [{f'{check}, ' if uses[title] > 1 else ''}max {_points(top)}]"
                for check, (title, top) in checks.items()
            ),
        ]
    )
    for name, document in documents.items():
        tests = document["tests"]
        # A submission no check ran on (invalid) has no points per step or check, not zeros.
        by_step = {s: _points(sum(t["score"] for t in tests if t["step"] == s)) for s in step_keys if tests}
        by_check = {t["check"]: _points(t["score"]) for t in tests}
        writer.writerow(
            [
                _cell(name),
                _points(document["score"]),
                _points(document["max_score"]),
                *(by_step.get(s, "") for s in step_keys),
                document["status"],
                _cell(" ".join(document.get("output", "").split())),
                *(by_check.get(c, "") for c in checks),
            ]
        )
    return buffer.getvalue()


def _cell(text: str) -> str:
    """``text`` as a cell a spreadsheet shows and never runs as a formula."""
    return "'" + text if text.startswith(_FORMULA) else text


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


def identical(store: ResultStore, outcomes: dict[str, Outcome]) -> list[list[str]]:
    """Groups of two or more submissions graded from the same files: the same fingerprint in ``OUT/.keys``.

    Only submissions checks ran on: those without (an empty folder, an unreadable one) share no files.
    """
    groups: dict[str, list[str]] = {}
    for name, outcome in outcomes.items():
        if outcome.report is not None and (key := store.key(name)) is not None:
            groups.setdefault(key, []).append(name)
    return [names for names in groups.values() if len(names) > 1]


def publish(
    store: ResultStore,
    assignment: Assignment,
    names: list[str],
    outcomes: dict[str, Outcome],
    hidden: bool,
    log: Callable[[str], None],
) -> tuple[Path, Path]:
    """Write grades.csv, summary.html and the feedback of the class ``names`` from ``outcomes`` (those without
    one: pending).

    With ``hidden`` checks, warn when they are not what the assignment announces.
    """
    pending = [name for name in names if name not in outcomes]
    documents = {name: outcome.to_json() for name, outcome in outcomes.items()}
    grades = store.write_file("grades.csv", grades_csv(outcomes, assignment.steps))
    returned = feedback.write_all(store, assignment, outcomes)
    page = store.write_file(
        "summary.html",
        summary.render(assignment.name, documents, pending, assignment.steps, identical(store, outcomes)),
    )
    if hidden and (warning := hidden_warning(assignment, outcomes)):
        log(f"Warning: {warning}")
    log(f"Wrote {grades}, {page} and {returned}/ ({len(outcomes)} of {len(names)} submissions).")
    return grades, page
