"""``python -m grader audit``: how verdicts are judged, and what a wrong one does (the real runs: test_mutation)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from grader import assignments, audit, cli
from grader.errors import UsageError

HW1 = assignments.get("hw1")


def _document(lost: dict[str, float], message: str = "expected 1, got 2. Reread: Step 2-2.") -> dict[str, Any]:
    """A batch document of hw1 where each step of ``lost`` lost that many of its 10 points."""
    tests = []
    for step in HW1.steps:
        missing = lost.get(step.key, 0)
        tests.append(
            {
                "check": f"test_{step.key}",
                "name": step.key,
                "step": step.key,
                "score": 10 - missing,
                "max_score": 10,
                "status": "failed" if missing else "passed",
                "output": message if missing else "",
            }
        )
    score = sum(t["score"] for t in tests)
    return {"score": score, "max_score": 10 * len(tests), "tests": tests, "status": "graded"}


def _judge(expected: audit.Expectation, document: dict[str, Any], **others: dict[str, Any]) -> audit.Verdict:
    return audit.judge(HW1, expected, {expected.name: document, **others})


def test_a_bug_caught_in_its_own_step_and_end_to_end_is_right() -> None:
    verdict = _judge(audit.Expectation("b", "bug", step="train"), _document({"train": 4, "end-to-end": 10}))
    assert verdict.ok and verdict.lost == {"train": 4, "end-to-end": 10}
    assert verdict.actual() == "36/50, lost in train -4, end-to-end -10"


@pytest.mark.parametrize(
    "expected, lost, problem",
    [
        (audit.Expectation("b", "bug", step="train"), {}, "lost no points in train (a false pass)"),
        (audit.Expectation("b", "bug", step="train"), {"data": 2}, "lost no points in train"),
        (audit.Expectation("b", "bug", step="train"), {"train": 2, "model": 1}, "also lost points in model"),
        (audit.Expectation("c", "full"), {"evaluate": 1}, "a correct submission lost points (a false failure)"),
        (audit.Expectation("stubs", "none"), {"data": 10}, "points for work that was not done"),
    ],
)
def test_wrong_verdicts_say_what_is_wrong(expected: audit.Expectation, lost: dict[str, float], problem: str) -> None:
    if expected.kind == "none":
        lost = {step.key: 10 for step in HW1.steps if step.key not in lost}
    verdict = _judge(expected, _document(lost))
    assert not verdict.ok
    assert any(problem in text for text in verdict.problems), verdict.problems


def test_a_message_without_a_slide_or_with_a_traceback_is_wrong() -> None:
    for message in ("expected 1, got 2", "Traceback (most recent call last): ... Reread: Step 3."):
        verdict = _judge(audit.Expectation("b", "bug", step="data"), _document({"data": 1}, message))
        assert verdict.problems == ["test_data: the message names no slide or shows a traceback"]


def test_the_same_submission_must_get_the_same_verdicts() -> None:
    original = _document({"data": 1})
    again = audit.Expectation("b.again", "same", original="b")
    assert _judge(again, _document({"data": 1}), b=original).ok
    assert not _judge(again, _document({"data": 2}), b=original).ok


def test_an_ungraded_submission_is_a_wrong_verdict() -> None:
    invalid = {"score": 0, "max_score": 0, "tests": [], "status": "invalid", "output": "no assignment files"}
    verdict = _judge(audit.Expectation("c", "full"), invalid)
    assert verdict.problems == ["not graded (invalid: no assignment files)"]
    assert verdict.actual() == "invalid, not graded"


def _corpus_folder(tmp_path: Path, source: str) -> assignments.Assignment:
    checks = tmp_path / "hw1"
    (checks / "audit").mkdir(parents=True)
    (checks / "audit" / "variants.py").write_text(source)
    return dataclasses.replace(HW1, checks_dir=checks)


@pytest.mark.parametrize(
    "variants, message",
    [
        ('BUGGY = (Variant("x", "data", (Edit("data.py", "no such text", ""),)),)', "occurs 0 times in data.py"),
        ('BUGGY = (Variant("x", "optimizer", (Edit("data.py", "import csv", ""),)),)', "step 'optimizer'"),
        ('BUGGY = (Variant("stubs", "data", (Edit("data.py", "import csv", ""),)),)', "name 'stubs' is taken"),
        ('BUGGY = (Variant("x", "data", ()),)', "x: no edits"),
    ],
)
def test_a_corpus_that_does_not_apply_is_a_usage_error(tmp_path: Path, variants: str, message: str) -> None:
    source = f"from grader.audit import Edit, Variant\n{variants}\nCORRECT = ()\n"
    with pytest.raises(UsageError, match=message):
        audit.load_corpus(_corpus_folder(tmp_path, source))


def test_new_files_and_edits_are_applied_to_a_copy(tmp_path: Path) -> None:
    solution = tmp_path / "solution"
    solution.mkdir()
    (solution / "model.py").write_text("a = 1\n")
    edits = (audit.Edit("model.py", "a = 1", "a = 2"), audit.Edit("helper.py", "", "b = 3\n"))
    target = audit.materialize(solution, edits, tmp_path / "variant")
    assert (target / "model.py").read_text() == "a = 2\n" and (target / "helper.py").read_text() == "b = 3\n"
    assert (solution / "model.py").read_text() == "a = 1\n"


def test_a_wrong_verdict_exits_1_and_says_where_points_were_lost(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_run(assignment: Any, workdir: Path, *args: Any, **kwargs: Any) -> audit.Report:
        verdicts = [
            _judge(audit.Expectation("solution", "full", why="the reference solution"), _document({})),
            _judge(audit.Expectation("slip", "bug", step="model", why="a slip"), _document({"data": 3})),
        ]
        return audit.Report("hw1", verdicts, 1.0)

    monkeypatch.setattr(audit, "run", fake_run)
    assert cli.main(["audit", "hw1"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^  ok +solution +full marks +50/50$", out, re.MULTILINE)
    assert re.search(r"^  WRONG +slip +loses points in model +47/50, lost in data -3$", out, re.MULTILINE)
    assert "lost in data -3" in out and "the bug lost no points in model (a false pass)" in out
    assert "- data: test_data (-10): expected 1, got 2. Reread: Step 2-2." in out
    assert "Mutation score: 0/1 bugs caught (0%); 1/1 correct submissions got full marks; 1 wrong verdicts." in out


def test_audit_outside_the_repository_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    moved = dataclasses.replace(HW1, checks_dir=tmp_path)
    with pytest.raises(UsageError, match="'audit' runs in the grader's repository"):
        audit.load_corpus(moved)
