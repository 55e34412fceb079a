"""The mutation suite, through ``python -m grader audit``: for every assignment, each realistic bug of its
corpus loses points in its own step (and nowhere else but end to end), each correct rewrite gets full marks,
the reference solution full marks, the untouched stubs none, and the same submission the same verdicts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import corpus, run_grader

from grader import assignments

#: Every audit is marked slow (``python -m pytest -m slow``, run by .ci/run too): each grades some 100
#: submissions, three minutes or more on two cores, a third of the default suite's budget. The default suite
#: grades the reference solutions and stubs of every assignment directly (test_assign, test_hw2, test_cli).
FAST: tuple[str, ...] = ()


def _params(items: list[Any], name_of: Any = lambda item: item) -> list[Any]:
    return [
        pytest.param(*(item if isinstance(item, tuple) else (item,)), marks=() if name_of(item) in FAST else
                     pytest.mark.slow, id=":".join(item) if isinstance(item, tuple) else item)
        for item in items
    ]  # fmt: skip


NAMES = _params(assignments.names())
BUGS = _params([(name, v.name) for name in assignments.names() for v in corpus(name).buggy], lambda i: i[0])
CORRECT = _params([(name, v.name) for name in assignments.names() for v in corpus(name).correct], lambda i: i[0])
FORGED = _params([(name, v.name) for name in assignments.names() for v in corpus(name).forged], lambda i: i[0])


class _Audits:
    """``python -m grader audit NAME --out DIR`` per assignment, run once, when a test first asks for it."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._done: dict[str, dict[str, Any]] = {}

    def __getitem__(self, name: str) -> dict[str, Any]:
        if name not in self._done:
            out = self._factory.mktemp(f"audit-{name}")
            done = run_grader("audit", name, "--out", str(out), "--jobs", "2", timeout=1800)
            report = json.loads((out / "audit.json").read_text())
            documents = {path.stem: json.loads(path.read_text()) for path in (out / "grades").glob("*.json")}
            self._done[name] = {"done": done, "report": report, "documents": documents}
        return self._done[name]


@pytest.fixture(scope="session")
def audits(tmp_path_factory: pytest.TempPathFactory) -> _Audits:
    """Every assignment's audit: its exit status, output and results."""
    return _Audits(tmp_path_factory)


def _verdict(audits: _Audits, name: str, variant: str) -> dict[str, Any]:
    return next(v for v in audits[name]["report"]["variants"] if v["name"] == variant)


def _failures(audits: _Audits, name: str, variant: str) -> str:
    document = audits[name]["documents"][variant]
    return "\n".join(f"{t['check']}: {t['output']}" for t in document["tests"] if t["status"] == "failed")


@pytest.mark.parametrize("name", NAMES)
def test_audit_passes(name: str, audits: _Audits) -> None:
    done, report = audits[name]["done"], audits[name]["report"]
    wrong = [v for v in report["variants"] if not v["ok"]]
    assert done.returncode == 0, f"{wrong}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert report["ok"] and report["caught"] == report["bugs"] == len(corpus(name).buggy)
    assert f"Mutation score: {report['bugs']}/{report['bugs']} bugs caught (100%)" in done.stdout
    for variant in report["variants"]:
        assert variant["name"] in done.stdout


@pytest.mark.parametrize("name", NAMES)
def test_reference_gets_full_marks_and_stubs_none(name: str, audits: _Audits) -> None:
    solution, stubs = _verdict(audits, name, "solution"), _verdict(audits, name, "stubs")
    assert solution["ok"] and solution["score"] == solution["max_score"] == 100, _failures(audits, name, "solution")
    assert stubs["ok"] and stubs["score"] == 0 and stubs["max_score"] == 100
    tests = audits[name]["documents"]["stubs"]["tests"]
    assert all(t["status"] == "failed" for t in tests)
    # Every check says why: the stub's NotImplementedError, or (a source rule) that nothing is written yet.
    assert all("NotImplementedError" in t["output"] or "nothing written" in t["output"] for t in tests)


@pytest.mark.parametrize("name, variant", BUGS)
def test_bug_loses_points_in_its_own_step_only(name: str, variant: str, audits: _Audits) -> None:
    verdict = _verdict(audits, name, variant)
    assert verdict["ok"], f"{verdict['why']}: {verdict['problems']}\n{_failures(audits, name, variant)}"
    assert verdict["step"] in verdict["lost"]


@pytest.mark.parametrize("name, variant", CORRECT)
def test_correct_rewrite_gets_full_marks(name: str, variant: str, audits: _Audits) -> None:
    verdict = _verdict(audits, name, variant)
    assert verdict["ok"] and verdict["score"] == verdict["max_score"] == 100, _failures(audits, name, variant)


@pytest.mark.parametrize("name, variant", FORGED)
def test_work_not_done_scores_zero(name: str, variant: str, audits: _Audits) -> None:
    """Issue 14: functions that compute nothing, whatever they write onto the grader's objects or patch in the
    worker (records, probes, a model that looks the held-out data up)."""
    verdict = _verdict(audits, name, variant)
    assert verdict["ok"] and verdict["score"] == 0, _failures(audits, name, variant)


@pytest.mark.parametrize("name", NAMES)
def test_same_submission_gets_the_same_verdicts(name: str, audits: _Audits) -> None:
    again = [v for v in audits[name]["report"]["variants"] if v["expected"] == "same"]
    assert len(again) == 2 and all(v["ok"] for v in again)
    documents = audits[name]["documents"]
    for verdict in again:
        original = verdict["name"].removesuffix(".again")
        # The messages too: a check names its input files the same way every run (no random temp names).
        assert _outputs(documents[original]) == _outputs(documents[verdict["name"]])


def _outputs(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(t["check"], t["score"], t["status"], t["output"]) for t in document["tests"]]


@pytest.mark.parametrize("name", NAMES)
def test_every_failure_message_names_a_slide(name: str, audits: _Audits) -> None:
    for submission, document in audits[name]["documents"].items():
        for test in document["tests"]:
            if test["status"] == "failed":
                assert "Reread: " in test["output"], (submission, test["check"])
                assert "Traceback" not in test["output"], (submission, test["check"])


#: hw1 bugs whose messages once misled (issue 17) and, for each, a check and what its output must say (None:
#: the check passes, the bug being another check's).
_MESSAGES = {
    "split-unseeded": [("test_split_defaults", "follows the global random state"), ("test_split_parts", "seed")],
    "split-random-split-unseeded": [("test_split_defaults", "follows the global random state")],
    "split-python-shuffle-unseeded": [("test_split_defaults", "follows the global random state")],
    "csv-split-on-commas": [("test_titanic_rows", "commas inside quotes"), ("test_titanic_rows", "csv.DictReader")],
    "csv-unpack-split-line": [("test_titanic_rows", "commas inside quotes"), ("test_titanic_rows", "csv.DictReader")],
    "epoch-loss-tensor": [
        ("test_one_epoch_returns_weighted_mean_loss", "is a tensor"),
        ("test_train_returns_one_loss_per_epoch", None),
        ("test_digits_pipeline_reaches_accuracy", None),
    ],
    "loss-gold-output-swapped": [
        ("test_digits_pipeline_reaches_accuracy", "PyTorch's, not a stub's"),
        ("test_digits_pipeline_reaches_accuracy", "arguments are swapped"),
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(_MESSAGES))
def test_messages_name_the_cause(variant: str, audits: _Audits) -> None:
    tests = {test["check"]: test for test in audits["hw1"]["documents"][variant]["tests"]}
    for check, phrase in _MESSAGES[variant]:
        test = tests[check]
        if phrase is None:
            assert test["status"] == "passed", (check, test["output"])
        else:
            assert test["status"] == "failed" and phrase in test["output"], (check, test["output"])
    assert "the default seed must be 0" not in _failures(audits, "hw1", variant)


def test_hw2_corpus_covers_every_step() -> None:
    """hw2's corpus holds at least 30 realistic bugs and 10 correct rewrites, bugs in every step but end to end."""
    hw2 = corpus("hw2")
    assert len(hw2.buggy) >= 30 and len(hw2.correct) >= 10
    steps = {step.key for step in assignments.get("hw2").steps if not step.whole_pipeline}
    assert {variant.step for variant in hw2.buggy} == steps
