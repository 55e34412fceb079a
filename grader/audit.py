"""``python -m grader audit ASSIGNMENT``: the checks checked, before release, against a mutation corpus.

Each assignment carries its corpus beside its checks, in the staff-only folder
``grader/checks/<hw>/audit/`` (never shipped: not in the wheel, not in the Gradescope zip, not visible
to student code): ``variants.py`` defines ``BUGGY`` and ``CORRECT``, tuples of :class:`Variant`. A variant
is the reference solution with :class:`Edit` s applied: a realistic bug, which must lose points in its
own step (and nowhere else but a step that runs the whole pipeline), or a correct rewrite in another style,
which must get full marks. The audit grades them all in one batch, with the reference solution (full
marks), the untouched stubs (no points) and second copies of the solution and of the first bug (the same
verdicts: grading is deterministic), and checks that every failure message names a slide and holds no
traceback. It prints each variant's expected and actual verdict and where points were lost, then the
mutation score (bugs caught), and exits 1 on any wrong verdict.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.assignments import Assignment
from grader.errors import UsageError
from grader.sandbox import Limits

REPOSITORY = Path(__file__).resolve().parent.parent
CORPUS = "variants.py"
#: Suffix of the second copies graded to check that the same submission gets the same verdicts.
AGAIN = ".again"


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` (it must occur exactly once) by ``new`` in ``file``; ``old`` empty: a new file."""

    file: str
    old: str
    new: str


@dataclass(frozen=True)
class Variant:
    """The reference solution with ``edits``: a bug of step ``step``, or (``step`` None) a correct rewrite."""

    name: str
    step: str | None
    edits: tuple[Edit, ...]
    #: One line: the mistake (a bug) or the different but correct style (a rewrite).
    why: str = ""
    #: Steps that must give this bug no points at all (work that was not done, dressed up as done).
    no_points_in: tuple[str, ...] = ()


@dataclass(frozen=True)
class Corpus:
    """An assignment's mutation corpus."""

    buggy: tuple[Variant, ...]
    correct: tuple[Variant, ...]
    #: Submissions that do no work and try to collect points anyway (forged records, tampered probes): no points.
    forged: tuple[Variant, ...] = ()

    @property
    def variants(self) -> tuple[Variant, ...]:
        """Every variant, bugs, rewrites and forgeries."""
        return self.buggy + self.correct + self.forged


@dataclass(frozen=True)
class Expectation:
    """What one graded submission of the audit must get."""

    name: str
    #: "full" (full marks), "none" (no points), "bug" (loses points in ``step``) or "same" (as ``original``).
    kind: str
    step: str = ""
    original: str = ""
    why: str = ""
    no_points_in: tuple[str, ...] = ()

    def describe(self) -> str:
        """The expected verdict in words."""
        return {
            "full": "full marks",
            "none": "no points",
            "bug": f"loses points in {self.step}" + "".join(f", none in {s}" for s in self.no_points_in),
            "same": f"same verdicts as {self.original}",
        }[self.kind]


@dataclass
class Verdict:
    """What the audit found for one submission."""

    expectation: Expectation
    score: float
    max_score: float
    status: str
    #: Points lost per step, in the assignment's order.
    lost: dict[str, float] = field(default_factory=dict)
    #: Why the verdict is wrong; empty when it is right.
    problems: list[str] = field(default_factory=list)
    #: The failed checks: (step, check, points, message).
    failures: list[tuple[str, str, float, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the checks judged this submission as expected."""
        return not self.problems

    def actual(self) -> str:
        """The verdict in words: points, and the steps where points were lost."""
        if self.status not in ("graded", "timeout", "crashed", "memory"):
            return f"{self.status}, not graded"
        where = ", ".join(f"{step} -{points:g}" for step, points in self.lost.items())
        return f"{self.score:g}/{self.max_score:g}" + (f", lost in {where}" if where else "")


def load_corpus(assignment: Assignment) -> Corpus:
    """The assignment's corpus, checked: unique names, declared steps, edits that apply to the solution."""
    path = assignment.audit_dir / CORPUS
    solution = REPOSITORY / assignment.solution
    if not path.is_file() or not solution.is_dir():
        raise UsageError(
            f"{assignment.name} has no mutation corpus here ({path} and {solution} are needed): "
            "'audit' runs in the grader's repository."
        )
    spec = importlib.util.spec_from_file_location(f"_grader_audit_{assignment.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    corpus = Corpus(tuple(module.BUGGY), tuple(module.CORRECT), tuple(getattr(module, "FORGED", ())))
    keys = {step.key for step in assignment.steps}
    seen: set[str] = set()
    for variant in corpus.variants:
        if variant.name in seen or variant.name in ("solution", "stubs") or variant.name.endswith(AGAIN):
            raise UsageError(f"{path}: variant name '{variant.name}' is taken")
        seen.add(variant.name)
        buggy = variant in corpus.buggy
        if buggy and variant.step not in keys:
            raise UsageError(f"{path}: {variant.name}: step '{variant.step}' is not one of {sorted(keys)}")
        if not buggy and variant.step is not None:
            raise UsageError(f"{path}: {variant.name}: a correct rewrite or a forgery has no step (None)")
        if any(step not in keys for step in variant.no_points_in):
            raise UsageError(f"{path}: {variant.name}: no_points_in names a step that is not one of {sorted(keys)}")
        if not variant.edits:
            raise UsageError(f"{path}: {variant.name}: no edits")
        _apply(solution, variant.edits, None, f"{path}: {variant.name}")
    return corpus


def materialize(solution: Path, edits: Sequence[Any], target: Path) -> Path:
    """A copy of the solution folder with ``edits`` (each with ``file``, ``old``, ``new``) applied, at ``target``."""
    shutil.copytree(solution, target, ignore=shutil.ignore_patterns("__pycache__"))
    _apply(solution, edits, target, str(target))
    return target


def _apply(solution: Path, edits: Sequence[Any], target: Path | None, label: str) -> None:
    """Apply ``edits`` to the copy at ``target``; with ``target`` None, only check that they would apply."""
    texts: dict[str, str] = {}
    for edit in edits:
        if edit.file not in texts:
            source = solution / edit.file
            texts[edit.file] = source.read_text(encoding="utf-8") if source.is_file() else ""
        text = texts[edit.file]
        if edit.old == "" and text == "":
            texts[edit.file] = edit.new
            continue
        if text.count(edit.old) != 1:
            raise UsageError(
                f"{label}: the text to replace occurs {text.count(edit.old)} times in {edit.file}, not once"
            )
        texts[edit.file] = text.replace(edit.old, edit.new)
    if target is not None:
        for name, text in texts.items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_text(text, encoding="utf-8")


def build_class(assignment: Assignment, corpus: Corpus, folder: Path, only: str = "*") -> list[Expectation]:
    """Write the audit's submissions into ``folder`` (one sub-folder each); what each must get.

    ``only``: a glob over the variants' names (the solution, the stubs and the second copies come always).
    """
    solution = REPOSITORY / assignment.solution
    stubs = REPOSITORY / assignment.default_submission
    shutil.copytree(solution, folder / "solution", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(stubs, folder / "stubs", ignore=shutil.ignore_patterns("__pycache__", "*.md"))
    shutil.copytree(solution, folder / f"solution{AGAIN}", ignore=shutil.ignore_patterns("__pycache__"))
    expected = [
        Expectation("solution", "full", why="the reference solution"),
        Expectation("stubs", "none", why="the untouched stubs"),
        Expectation(f"solution{AGAIN}", "same", original="solution", why="graded twice"),
    ]
    for variant in corpus.variants:
        if not fnmatch.fnmatchcase(variant.name, only):
            continue
        materialize(solution, variant.edits, folder / variant.name)
        if variant in corpus.forged:
            expected.append(Expectation(variant.name, "none", why=variant.why))
        elif variant.step is None:
            expected.append(Expectation(variant.name, "full", why=variant.why))
        else:
            expected.append(
                Expectation(variant.name, "bug", step=variant.step, why=variant.why, no_points_in=variant.no_points_in)
            )
    first = next((e for e in expected if e.kind == "bug"), None)
    if first is not None:
        materialize(solution, corpus_variant(corpus, first.name).edits, folder / f"{first.name}{AGAIN}")
        expected.append(Expectation(f"{first.name}{AGAIN}", "same", original=first.name, why="graded twice"))
    return expected


def corpus_variant(corpus: Corpus, name: str) -> Variant:
    """The variant called ``name``."""
    return next(v for v in corpus.variants if v.name == name)


def judge(assignment: Assignment, expected: Expectation, documents: dict[str, dict[str, Any]]) -> Verdict:
    """Compare one submission's batch document with what it must get."""
    document = documents.get(expected.name, {"score": 0, "max_score": 0, "tests": [], "status": "missing"})
    tests = document["tests"]
    verdict = Verdict(expected, document["score"], document["max_score"], document["status"])
    for step in assignment.steps:
        own = [t for t in tests if t["step"] == step.key]
        lost = round(sum(t["max_score"] - t["score"] for t in own), 6)
        if lost:
            verdict.lost[step.key] = lost
    verdict.failures = [(t["step"], t["check"], t["max_score"], t["output"]) for t in tests if t["status"] != "passed"]
    problems = verdict.problems
    if not tests:
        problems.append(f"not graded ({document['status']}: {document.get('output', '')})")
    elif expected.kind == "full" and (verdict.score != verdict.max_score or document["status"] != "graded"):
        problems.append("a correct submission lost points (a false failure)")
    elif expected.kind == "none" and verdict.score != 0:
        problems.append("points for work that was not done")
    elif expected.kind == "bug":
        if expected.step not in verdict.lost:
            problems.append(f"the bug lost no points in {expected.step} (a false pass)")
        pipeline = {step.key for step in assignment.steps if step.whole_pipeline}
        elsewhere = [step for step in verdict.lost if step not in (expected.step, *pipeline)]
        if elsewhere:
            problems.append(f"the bug also lost points in {', '.join(elsewhere)}")
        for step in expected.no_points_in:
            if any(t["score"] > 0 for t in tests if t["step"] == step):
                problems.append(f"points in {step} for work that was not done")
    elif expected.kind == "same" and _verdicts(document) != _verdicts(documents.get(expected.original, {})):
        problems.append(f"graded differently from {expected.original} (grading is not deterministic)")
    for _, check, _, message in verdict.failures:
        if "Reread: " not in message or "Traceback" in message:
            problems.append(f"{check}: the message names no slide or shows a traceback")
    return verdict


def _verdicts(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    # The messages too: a check names its inputs the same way on every run.
    return [(t["check"], t["score"], t["status"], t["output"]) for t in document.get("tests", [])]


@dataclass
class Report:
    """The audit of one assignment."""

    assignment: str
    verdicts: list[Verdict]
    seconds: float

    @property
    def ok(self) -> bool:
        """Whether every verdict was right."""
        return all(verdict.ok for verdict in self.verdicts)

    def bugs(self) -> list[Verdict]:
        """The verdicts on the corpus's bugs."""
        return [v for v in self.verdicts if v.expectation.kind == "bug"]

    def caught(self) -> list[Verdict]:
        """The bugs that lost points in their own step."""
        return [v for v in self.bugs() if v.expectation.step in v.lost]

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (``OUT/audit.json``)."""
        return {
            "assignment": self.assignment,
            "ok": self.ok,
            "seconds": round(self.seconds, 1),
            "bugs": len(self.bugs()),
            "caught": len(self.caught()),
            "variants": [
                {
                    "name": v.expectation.name,
                    "expected": v.expectation.kind,
                    "step": v.expectation.step,
                    "why": v.expectation.why,
                    "score": v.score,
                    "max_score": v.max_score,
                    "status": v.status,
                    "lost": v.lost,
                    "ok": v.ok,
                    "problems": v.problems,
                }
                for v in self.verdicts
            ],
        }


def render(report: Report) -> str:
    """The report as text: one line per submission, details of each wrong verdict, the mutation score."""
    width = max(len("submission"), *(len(v.expectation.name) for v in report.verdicts)) + 2
    said = max(len(v.expectation.describe()) for v in report.verdicts) + 2
    lines = [f"{report.assignment}: audit of {len(report.verdicts)} submissions ({report.seconds:.0f} s)", ""]
    lines.append(f"  {'':<7}{'submission':<{width}}{'expected':<{said}}actual")
    for verdict in report.verdicts:
        mark, expected = "ok" if verdict.ok else "WRONG", verdict.expectation.describe()
        lines.append(f"  {mark:<7}{verdict.expectation.name:<{width}}{expected:<{said}}{verdict.actual()}")
        if not verdict.ok:
            indent = " " * 9
            lines.append(f"{indent}{verdict.expectation.why}")
            lines += [f"{indent}{problem}" for problem in verdict.problems]
            for step, check, points, message in verdict.failures:
                lines.append(f"{indent}- {step}: {check} (-{points:g}): {message[:300]}")
    bugs, caught = report.bugs(), report.caught()
    correct = [v for v in report.verdicts if v.expectation.kind == "full"]
    wrong = [v for v in report.verdicts if not v.ok]
    score = f"{len(caught)}/{len(bugs)} bugs caught ({100 * len(caught) / len(bugs):.0f}%)" if bugs else "no bugs"
    full = sum(v.ok for v in correct)
    lines += [
        "",
        f"Mutation score: {score}; {full}/{len(correct)} correct submissions got full marks; "
        f"{len(wrong)} wrong verdicts.",
    ]
    return "\n".join(lines)


def run(
    assignment: Assignment,
    workdir: Path,
    jobs: int,
    limits: Limits,
    only: str = "*",
    device: str = "cpu",
    log: Callable[[str], None] = print,
) -> Report:
    """Grade the corpus of ``assignment`` in one batch under ``workdir`` (``class/`` and ``grades/``)."""
    from grader.batch import run as batch

    corpus = load_corpus(assignment)
    folder, out = workdir / "class", workdir / "grades"
    if folder.exists():
        shutil.rmtree(folder)  # rebuilt from the corpus; the grades of unchanged variants are kept
    folder.mkdir(parents=True)
    expected = build_class(assignment, corpus, folder, only)
    started = time.monotonic()
    terminal = sys.stderr if sys.stderr.isatty() else None
    outcomes = batch.run(assignment, folder, out, jobs, limits, log=log, terminal=terminal, device=device)
    documents = {name: outcome.to_json() for name, outcome in outcomes.items()}
    report = Report(assignment.name, [judge(assignment, e, documents) for e in expected], time.monotonic() - started)
    (workdir / "audit.json").write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    return report
