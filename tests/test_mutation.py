"""The mutation suite: every realistic bug loses points in its own step; every correct rewrite gets full marks."""

from __future__ import annotations

from typing import Any

import hw1_forgeries
import hw1_variants
import pytest
from conftest import CLASS_MEMBERS, materialize, step_scores

STEPS = ("data", "model", "train", "evaluate", "end-to-end")


def _failures(document: dict[str, Any]) -> str:
    return "\n".join(f"{t['check']}: {t['output']}" for t in document["tests"] if t["status"] == "failed")


def test_reference_solution_gets_full_marks(class_results: dict[str, dict[str, Any]]) -> None:
    document = class_results["solution"]
    assert document["max_score"] == 100
    assert document["score"] == 100, _failures(document)
    assert set(step_scores(document)) == set(STEPS)


def test_untouched_stubs_get_zero(class_results: dict[str, dict[str, Any]]) -> None:
    document = class_results["stubs"]
    assert document["score"] == 0
    assert all(t["status"] == "failed" for t in document["tests"])
    # Every check says why: the stub's NotImplementedError, or (the source rule) that nothing is written yet.
    assert all("NotImplementedError" in t["output"] or "nothing written" in t["output"] for t in document["tests"])


@pytest.mark.parametrize("variant", hw1_variants.BUGGY, ids=lambda v: v.name)
def test_bug_loses_points_in_its_own_step_only(variant: Any, class_results: dict[str, dict[str, Any]]) -> None:
    steps = step_scores(class_results[variant.name])
    score, max_score = steps[variant.step]
    assert score < max_score, f"{variant.name} ({variant.why}) lost no points in step {variant.step}"
    elsewhere = {step: s for step, s in steps.items() if step not in (variant.step, "end-to-end") and s[0] < s[1]}
    assert not elsewhere, f"{variant.name} also lost points in {elsewhere}:\n{_failures(class_results[variant.name])}"


@pytest.mark.parametrize("variant", hw1_variants.CORRECT, ids=lambda v: v.name)
def test_correct_rewrite_gets_full_marks(variant: Any, class_results: dict[str, dict[str, Any]]) -> None:
    document = class_results[variant.name]
    assert document["score"] == document["max_score"] == 100, _failures(document)


def test_every_failure_message_names_a_slide(class_results: dict[str, dict[str, Any]]) -> None:
    for name, document in class_results.items():
        for test in document["tests"]:
            if test["status"] == "failed":
                assert "Reread: " in test["output"], (name, test["check"])
                assert "Traceback" not in test["output"], (name, test["check"])


for _variant in (*hw1_forgeries.FORGED, *hw1_forgeries.END_TO_END_FORGED, hw1_forgeries.TAMPERED_LIST_MODEL):
    CLASS_MEMBERS[_variant.name] = lambda target, edits=_variant.edits: materialize(edits, target)


@pytest.mark.parametrize("variant", hw1_forgeries.FORGED, ids=lambda v: v.name)
def test_work_not_done_scores_zero(variant: Any, class_results: dict[str, dict[str, Any]]) -> None:
    # Issue 14: functions that compute nothing, whatever they write onto the grader's objects or patch in
    # the worker (records, probes, a model that looks the held-out digits up).
    document = class_results[variant.name]
    passed = [t["check"] for t in document["tests"] if t["status"] == "passed"]
    assert document["score"] == 0, f"{variant.name} ({variant.why}) passed {passed}"


@pytest.mark.parametrize("variant", hw1_forgeries.END_TO_END_FORGED, ids=lambda v: v.name)
def test_end_to_end_points_need_learning(variant: Any, class_results: dict[str, dict[str, Any]]) -> None:
    # The rest of the solution is right; the digits are looked up, learnt before the pipeline runs, or not
    # learnt at all: the end-to-end points must not come.
    score, _ = step_scores(class_results[variant.name])["end-to-end"]
    assert score == 0, f"{variant.name} ({variant.why}) got {score} end-to-end points"


def test_probe_tampering_gains_nothing(class_results: dict[str, dict[str, Any]]) -> None:
    # The case: layers in a plain list got 81, and 90 with the model probes told to report them.
    tampered = class_results[hw1_forgeries.TAMPERED_LIST_MODEL.name]
    honest = class_results["layers-in-plain-list"]
    assert tampered["score"] <= honest["score"] < 100, _failures(tampered)
    assert step_scores(tampered)["model"][0] <= step_scores(honest)["model"][0] < 30


CLASS_MEMBERS["repeat-solution"] = lambda target: materialize((), target)
CLASS_MEMBERS["repeat-bug"] = lambda target: materialize(hw1_variants.BUGGY[0].edits, target)


def _verdicts(document: dict[str, Any]) -> list[tuple[str, float, str, str]]:
    # The messages too: a check names its input files the same way every run (no random temp names).
    return [(t["check"], t["score"], t["status"], t["output"]) for t in document["tests"]]


@pytest.mark.parametrize(
    "original, repeat", [("solution", "repeat-solution"), (hw1_variants.BUGGY[0].name, "repeat-bug")]
)
def test_same_submission_gets_the_same_verdicts(
    original: str, repeat: str, class_results: dict[str, dict[str, Any]]
) -> None:
    assert _verdicts(class_results[original]) == _verdicts(class_results[repeat])
