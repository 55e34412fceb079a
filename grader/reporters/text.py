"""The terminal view: grouped by step, score per step and in total, each failure with its message.

A failure that many checks share is said once: an unfinished function (the stub's ``NotImplementedError``) or a
module that cannot be imported gets one line, where it first blocks a check, and the checks it blocks are
listed compactly under it (name and points). Every other failure keeps its own message; passing checks are
listed by name in one line per step. So the untouched stubs fit a terminal screen.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

from grader.results import CheckResult, GradeReport

_GREEN, _RED, _BOLD, _DIM, _RESET = "\033[32m", "\033[31m", "\033[1m", "\033[2m", "\033[0m"
_WIDTH = 100
#: How a check's message names a student module that failed to import (grader.errors.ImportFailure).
_IMPORT = re.compile(r"\b(?P<module>[\w.-]+\.py) could not be imported: ")
#: How a check's message names the NotImplementedError a stub raises (grader.errors.StudentError).
_UNFINISHED = "your code raised NotImplementedError: "
#: What grader.plugin appends to the failure of a hypothesis check.
_EXAMPLE = ". Smallest failing input: "


@dataclass
class _Cause:
    """What blocks checks: its line (what to fix, where), a short name for later steps, the checks it blocks."""

    line: str
    short: str
    checks: list[CheckResult] = field(default_factory=list)


def render(report: GradeReport, color: bool = False) -> str:
    """The report as text, with ANSI colour when ``color``."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    lines = [paint(f"{report.assignment}: {report.submission}", _BOLD)]
    lines += [paint(f"Files: {problem}", _BOLD + _RED) for problem in report.file_problems]
    causes = _causes(report.checks)
    shown: set[str] = set()
    for step in report.steps():
        mark = paint("ok", _GREEN) if step.score == step.max_score else paint("--", _RED)
        lines.append(
            paint(f"{step.step.title:<22}{_points(step.score)}/{_points(step.max_score)}", _BOLD) + f"  {mark}"
        )
        checks = [check for check in report.checks if check.step == step.key]
        for check in checks:
            key = _cause_key(check)
            if key is None:
                if not check.passed:
                    lines += _failure(check, paint)
            elif key not in shown:
                shown.add(key)
                here = [c for c in causes[key].checks if c.step == step.key]
                lines += _wrap(f"{paint('TODO', _RED)} {key}; blocks {_listing(here)}", "  ", "    ")
            elif not any(_cause_key(earlier) == key for earlier in checks[: checks.index(check)]):
                here = [c for c in causes[key].checks if c.step == step.key]
                lines += _wrap(f"blocked by {causes[key].short} (above): {_listing(here)}", "  ", "    ")
        passed = [check for check in checks if check.passed]
        if passed:
            lines += _wrap(f"{paint('PASS', _GREEN)} {_listing(passed)}", "  ", "    ")
    total = f"Total: {_points(report.score)}/{_points(report.max_score)}"
    lines += ["", paint(total, _BOLD + (_GREEN if report.all_passed else _RED))]
    if report.hidden_pending:
        lines.append(f"{report.hidden_pending} hidden checks will run when the course staff grade.")
    if report.sandbox_gaps:
        lines.append(paint(f"Note: on this machine {'; '.join(report.sandbox_gaps)}.", _DIM))
    return "\n".join(lines)


def _failure(check: CheckResult, paint: Callable[[str, str], str]) -> list[str]:
    """A failure of its own: its title and points, its message, then (for staff) its traceback."""
    lines = [f"  {paint('FAIL', _RED)} {check.title} ({_points(check.score)}/{_points(check.max_score)})"]
    lines += _wrap(check.message, "       ", "       ")
    if check.traceback:
        lines += [paint("       " + line, _DIM) for line in check.traceback.splitlines()]
    return lines


def _causes(checks: list[CheckResult]) -> dict[str, _Cause]:
    """The failures several checks may share, by their line, each with the checks it blocks (in report order)."""
    causes: dict[str, _Cause] = {}
    for check in checks:
        key = _cause_key(check)
        if key is not None:
            causes.setdefault(key, _Cause(key, _short(check, key))).checks.append(check)
    return causes


def _cause_key(check: CheckResult) -> str | None:
    """The line that says what blocked failed ``check`` when it is shared: an unfinished function or a module
    that cannot be imported; None for any other failure (a real bug: shown with its own message and input).

    Taken from the message the plugin wrote, without what differs from check to check: the check's own
    context before the cause, the smallest failing input and the slide to reread after it.
    """
    if check.passed or check.traceback:
        return None  # staff asked for each check's traceback: each keeps its own
    body = check.message.removesuffix(f" Reread: {check.slide}.")
    body = body.split(_EXAMPLE, 1)[0].removesuffix(".")
    if found := _IMPORT.search(body):
        return body[found.start() :]
    start = body.find(_UNFINISHED)
    where = f" ({check.file} line {check.line}"
    at = body.rfind(where)
    if start < 0 or not check.file or at < start or not body.endswith(")"):
        return None
    # "NotImplementedError: Step 1-2: ... (data.py line 84, in __init__)": where first, as a compiler says it;
    # the stub's NotImplementedError is what TODO says.
    return f"{body[at + 2 : -1]}: {body[start + len(_UNFINISHED) : at]}"


def _short(check: CheckResult, key: str) -> str:
    """How a later step names a cause already shown: the module, or the function's file and line."""
    found = _IMPORT.match(key)
    return f"{found['module']}, which cannot be imported" if found else key.split(": ", 1)[0]


def _listing(checks: list[CheckResult]) -> str:
    """Checks of one verdict, their points together then their names: ``0/6: handwrite_items, handwrite_transform``."""
    score = sum(check.score for check in checks)
    most = sum(check.max_score for check in checks)
    return f"{_points(score)}/{_points(most)}: {', '.join(check.name.removeprefix('test_') for check in checks)}"


def _wrap(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(text, width=_WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False)


def _points(value: float) -> str:
    return f"{value:g}"
