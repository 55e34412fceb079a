"""One submission's outcome: its status from the report, and a JSON form that reads back to the same document."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from grader.batch.outcome import Outcome, Status
from grader.reporters import json as json_reporter
from grader.results import CheckResult, GradeReport


def _report(*checks: CheckResult) -> GradeReport:
    return GradeReport("hw1", "alice", list(checks), duration=12.3456, sandbox="namespaces: ...")


PASSED = CheckResult("test_rows", "the rows are read", "data", "Step 1-1", 2.5, True, duration=0.5)
FAILED = CheckResult(
    "test_loss",
    "the loss is \u00e9crite by hand",
    "model",
    "Step 2-2",
    10,
    False,
    message="expected 1.0, got \udce9",
    output="epoch 1: loss 2.3",
)
HIDDEN = CheckResult("test_secret", "a hidden check", "model", "", 2, True, hidden=True)


def _limit(kind: str, title: str) -> CheckResult:
    return CheckResult(f"test_{kind}", title, "train", "", 5, False, message=f"{kind} happened", error=kind)


def test_a_report_is_graded_unless_a_check_hit_a_limit_and_the_worst_limit_names_it() -> None:
    assert Outcome.of(_report(PASSED, FAILED)) == Outcome(Status.GRADED, _report(PASSED, FAILED), "")
    # Whatever the checks' order: memory before timeout before crash, as the batch has always reported them.
    crashed, timed_out, memory = _limit("WorkerCrashed", "c"), _limit("Timeout", "t"), _limit("MemoryLimit", "m")
    assert Outcome.of(_report(crashed, timed_out)).status is Status.TIMEOUT
    outcome = Outcome.of(_report(PASSED, crashed, timed_out, memory))
    assert (outcome.status, outcome.reason) == (Status.MEMORY, "m: MemoryLimit happened")
    assert Outcome.of(_report(crashed)).reason == "c: WorkerCrashed happened"
    assert Outcome.of(_report(_limit("StudentError", "s"))).status is Status.GRADED  # a failure, not a limit


def test_the_json_form_is_the_json_reports_document_plus_status_and_reads_back_the_same() -> None:
    report = _report(PASSED, FAILED, HIDDEN)
    report.file_problems.append("found Data.py: rename it to data.py")
    outcome = Outcome.of(report)
    document = outcome.to_json()
    assert document == {**json_reporter.to_dict(report), "status": "graded"}
    on_disk = json.loads(json.dumps(document, ensure_ascii=False))
    again = Outcome.from_json(on_disk, "hw1", "alice")
    assert again.to_json() == document
    assert (again.score, again.max_score) == (outcome.score, outcome.max_score) == (4.5, 14.5)
    assert [(c.name, c.title, c.passed, c.hidden, c.message, c.output) for c in again.report.checks] == [  # type: ignore[union-attr]
        (c.name, c.title, c.passed, c.hidden, c.message, c.output) for c in report.checks
    ]
    assert again.report.file_problems == ["found Data.py: rename it to data.py"]  # type: ignore[union-attr]
    timed_out = Outcome.of(_report(PASSED, _limit("Timeout", "t")))
    assert Outcome.from_json(timed_out.to_json()).to_json() == {
        **json_reporter.to_dict(timed_out.report),  # type: ignore[arg-type]
        "status": "timeout",
        "output": "t: Timeout happened",
    }


@pytest.mark.parametrize("status", [Status.INVALID, Status.ERROR, Status.TIMEOUT])
def test_an_outcome_without_a_report_has_no_points_and_says_why(status: Status) -> None:
    outcome = Outcome.failed(status, "none of data.py found")
    document = outcome.to_json()
    assert document == {
        "score": 0,
        "max_score": 0,
        "execution_time": 0,
        "tests": [],
        "status": status.value,
        "output": "none of data.py found",
    }
    assert Outcome.from_json(document) == outcome
    assert status.kept is (status is not Status.ERROR)  # a dead grading process is graded again


DAMAGED = {
    "unknown status": lambda d: d.update(status="forged"),
    "score raised by hand": lambda d: d.update(score=99),
    "a check's points raised": lambda d: d["tests"][1].update(score=10),
    "a check's verdict flipped": lambda d: d["tests"][1].update(status="passed"),
    "an unknown check status": lambda d: d["tests"][0].update(status="skipped"),
    "a check without its step": lambda d: d["tests"][0].pop("step"),
    "a check that is no object": lambda d: d["tests"].append("test_x"),
    "points that are true": lambda d: d.update(max_score=True),
    "a time that is NaN": lambda d: d.update(execution_time=float("nan")),
    "tests that are no list": lambda d: d.update(tests={}),
    "a reason that is no string": lambda d: d.update(output=3),
    "checks on a result without a report": lambda d: d.pop("sandbox"),
    "no status": lambda d: d.pop("status"),
}


@pytest.mark.parametrize("change", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_document_that_is_not_an_outcomes_is_refused(change: Any) -> None:
    """A damaged or edited result file is refused, so that a rerun grades the submission again."""
    document = Outcome.of(_report(PASSED, FAILED)).to_json()
    Outcome.from_json(copy.deepcopy(document))  # as written, it reads back
    change(document)
    with pytest.raises(ValueError):
        Outcome.from_json(document)
    with pytest.raises(ValueError):
        Outcome.from_json([document])
