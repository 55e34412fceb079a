"""What grading one submission came to: a status, the report when checks ran, and why when it is not graded.

An :class:`Outcome` is what the grading processes hand the batch, what the results store writes as
``OUT/<name>.json`` and reads back, and what grades.csv and the summary are built from. Its JSON form
is the ``--format json`` document plus ``status`` (and ``output``, the reason), and reading it back
gives the same document again; a file that is not such a document (empty, cut short, edited) is
refused with :class:`ValueError`, so that the batch grades it again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from grader.reporters import json as json_reporter
from grader.results import CheckResult, GradeReport
from grader.sandbox import printed


class Status(StrEnum):
    """How a submission's grading ended."""

    #: Every check ran (a check that failed is still a grade).
    GRADED = "graded"
    #: A call, or the whole submission (``--submission-timeout``), ran out of time.
    TIMEOUT = "timeout"
    #: The worker running student code died.
    CRASHED = "crashed"
    #: Student code went past ``--memory-mb``.
    MEMORY = "memory"
    #: Nothing could be graded: no assignment files, an unsafe zip, ... (the submission's fault).
    INVALID = "invalid"
    #: The grading process died: the grader's failure, graded again on the next run.
    ERROR = "error"

    @property
    def kept(self) -> bool:
        """Whether a rerun keeps a result with this status (an error is no grade, it is graded again)."""
        return self is not Status.ERROR


#: The checks' error kinds that give a graded report another status, the first found winning.
_ERROR_STATUS = (("MemoryLimit", Status.MEMORY), ("Timeout", Status.TIMEOUT), ("WorkerCrashed", Status.CRASHED))
_TEST_STATUS = {"passed": True, "failed": False}
_VISIBILITY = {"visible": False, "after_published": True}
_TEST_TEXT = ("name", "check", "step", "status", "output", "visibility")


@dataclass(frozen=True)
class Outcome:
    """One submission's result: ``report`` is None when no check ran on it (``reason`` says why)."""

    status: Status
    report: GradeReport | None = None
    reason: str = ""

    @classmethod
    def of(cls, report: GradeReport) -> Outcome:
        """The outcome of a grading that ran to its end: a check that hit a limit names the status and reason."""
        for kind, status in _ERROR_STATUS:
            for check in report.checks:
                if check.error == kind:
                    return cls(status, report, f"{check.title}: {check.message}")
        return cls(Status.GRADED, report)

    @classmethod
    def failed(cls, status: Status, reason: str) -> Outcome:
        """A submission that got no grade: ``invalid`` (its fault), ``error`` (the grader's), ``timeout`` (in all).

        ``reason`` may quote the submission (a folder's name, a zip member's): it is kept without terminal controls,
        since the batch's log, the feedback and grades.csv show it.
        """
        return cls(status, None, printed.plain(reason))

    @property
    def score(self) -> float:
        """Points earned (0 without a report)."""
        return self.report.score if self.report else 0

    @property
    def max_score(self) -> float:
        """Points available (0 without a report: no check ran)."""
        return self.report.max_score if self.report else 0

    def to_json(self) -> dict[str, Any]:
        """The JSON document: ``--format json``'s fields (no ``sandbox`` when no check ran), ``status``, ``output``."""
        if self.report is None:
            document: dict[str, Any] = {"score": 0, "max_score": 0, "execution_time": 0, "tests": []}
        else:
            document = json_reporter.to_dict(self.report)
        document["status"] = self.status.value
        if self.reason:
            document["output"] = self.reason
        return document

    @classmethod
    def from_json(cls, document: Any, assignment: str = "", submission: str = "") -> Outcome:
        """The outcome :meth:`to_json` gave ``document``; ValueError when it is not one (then it is graded again).

        Whatever the document does not hold (each check's slide, traceback) stays empty.
        """
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        try:
            status = Status(document.get("status"))
        except ValueError:
            raise ValueError(f"unknown status {document.get('status')!r}") from None
        reason = document.get("output", "")
        tests = document.get("tests")
        if not isinstance(reason, str) or not isinstance(tests, list):
            raise ValueError("'output' must be a string and 'tests' a list")
        for key in ("score", "max_score", "execution_time"):
            if not _number(document.get(key)):
                raise ValueError(f"'{key}' is not a number")
        if "sandbox" not in document:  # no check ran: what Outcome.failed wrote
            if tests or document["score"] != 0 or document["max_score"] != 0 or document["execution_time"] != 0:
                raise ValueError("a result without a report has no checks, no points and no time")
            return cls.failed(status, reason)
        if not isinstance(document["sandbox"], str):
            raise ValueError("'sandbox' is not a string")
        files = document.get("files", [])
        if not isinstance(files, list) or not all(isinstance(line, str) for line in files):
            raise ValueError("'files' must be a list of strings")
        report = GradeReport(
            assignment,
            submission,
            [_check(test) for test in tests],
            duration=document["execution_time"],
            sandbox=document["sandbox"],
            file_problems=files,
        )
        if not (_same(report.score, document["score"]) and _same(report.max_score, document["max_score"])):
            raise ValueError("'score' or 'max_score' is not the sum of the checks'")
        return cls(status, report, reason)


def _check(test: Any) -> CheckResult:
    if not isinstance(test, dict) or not all(isinstance(test.get(key), str) for key in _TEST_TEXT):
        raise ValueError(f"a check needs the strings {', '.join(_TEST_TEXT)}")
    if not isinstance(test.get("printed", ""), str):
        raise ValueError("a check's 'printed' is not a string")
    if test["status"] not in _TEST_STATUS or test["visibility"] not in _VISIBILITY:
        raise ValueError(f"a check's status or visibility is unknown: {test['status']!r}, {test['visibility']!r}")
    if not (_number(test.get("score")) and _number(test.get("max_score"))):
        raise ValueError("a check's 'score' or 'max_score' is not a number")
    result = CheckResult(
        name=test["check"],
        title=test["name"],
        step=test["step"],
        slide="",
        max_score=test["max_score"],
        passed=_TEST_STATUS[test["status"]],
        message=test["output"],
        output=test.get("printed", ""),
        hidden=_VISIBILITY[test["visibility"]],
    )
    if not _same(result.score, test["score"]):
        raise ValueError(f"check {test['check']!r} has {test['score']} points, its verdict gives {result.score}")
    return result


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _same(computed: float, written: float) -> bool:
    return math.isclose(computed, written, rel_tol=0, abs_tol=1e-6)
