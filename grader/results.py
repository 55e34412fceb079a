"""The result model every reporter renders: plain dataclasses, no formatting."""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.assignments import Step


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check on one submission."""

    name: str
    title: str
    #: The key of the assignment's step the check belongs to.
    step: str
    slide: str
    max_score: float
    passed: bool
    message: str = ""
    output: str = ""
    traceback: str = ""
    hidden: bool = False
    duration: float = 0.0
    #: Kind of submission error that failed the check ("Timeout", "WorkerCrashed", ...), "" otherwise.
    error: str = ""
    #: Where student code raised the exception that failed the check: a file of the submission (relative to
    #: its folder) and a line, when known; "" and 0 otherwise.
    file: str = ""
    line: int = 0

    @property
    def score(self) -> float:
        """All or nothing: a check's points when it passed."""
        return self.max_score if self.passed else 0.0


@dataclass(frozen=True)
class StepResult:
    """Points of one step."""

    step: Step
    score: float
    max_score: float

    @property
    def key(self) -> str:
        """The step's key."""
        return self.step.key


@dataclass
class GradeReport:
    """All verdicts for one submission of one assignment."""

    assignment: str
    submission: str
    checks: list[CheckResult] = field(default_factory=list)
    duration: float = 0.0
    hidden_pending: int = 0
    #: How student code was isolated (grader.sandbox.isolation.Isolation.describe).
    sandbox: str = ""
    #: What the machine could not wall off or limit (said in the report).
    sandbox_gaps: list[str] = field(default_factory=list)
    #: The assignment's steps, in the lecture's order (from its manifest).
    step_order: tuple[Step, ...] = ()
    #: What is wrong with the submission's files, one line each: a module missing, misnamed or only in a
    #: notebook (grader.inventory.file_problems).
    file_problems: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        """Total points earned."""
        return round(sum(check.score for check in self.checks), 6)

    @property
    def max_score(self) -> float:
        """Total points available."""
        return round(sum(check.max_score for check in self.checks), 6)

    @property
    def all_passed(self) -> bool:
        """Whether every check passed."""
        return all(check.passed for check in self.checks)

    def steps(self) -> list[StepResult]:
        """Points per step that has checks, in the assignment's order."""
        results = []
        for step in self._known_steps():
            checks = [check for check in self.checks if check.step == step.key]
            if checks:
                results.append(
                    StepResult(step, round(sum(c.score for c in checks), 6), round(sum(c.max_score for c in checks), 6))
                )
        return results

    def step(self, key: str) -> Step:
        """The step called ``key`` (one the manifest does not declare is titled by its key, numbered last)."""
        return next(step for step in self._known_steps() if step.key == key)

    def _known_steps(self) -> list[Step]:
        """The manifest's steps, then any other step a check names (in the order the checks name them)."""
        steps = list(self.step_order)
        known = {step.key for step in steps}
        for key in dict.fromkeys(check.step for check in self.checks):
            if key not in known:
                steps.append(Step(key, key, len(steps) + 1))
                known.add(key)
        return steps
