"""The terminal view: grouped by step, score per step and in total, each failure with its message.

A failure that many checks share is said once: an unfinished function (the stub's ``NotImplementedError``) or a
module that cannot be imported gets one line, where it first blocks a check, with the checks it blocks listed
compactly (their points, their names); a later step names it in one line. Every other failure keeps its own
message; passing checks are listed by name in one line per step (a step all passed in one line). So the
untouched stubs fit a terminal screen, and a report longer than one ends with the steps' scores.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable

from grader.results import CheckResult, GradeReport, StepResult

_GREEN, _RED, _BOLD, _DIM, _RESET = "\033[32m", "\033[31m", "\033[1m", "\033[2m", "\033[0m"
#: A report longer than about a screen (of 40 lines, and the untouched stubs' 45 at 100 columns) repeats the
#: steps' scores at its end, where the terminal stops.
_SCREEN = 50
#: How a check's message names a student module that failed to import (grader.errors.ImportFailure).
_IMPORT = re.compile(r"\b(?P<module>[\w.-]+\.py) could not be imported: ")
#: A student module that could not be imported because its file is not there.
_MISSING = re.compile(r"(?P<module>\w+)\.py could not be imported: ModuleNotFoundError: No module named '(?P=module)'")
#: How a check's message names the NotImplementedError a stub raises (grader.errors.StudentError).
_UNFINISHED = "your code raised NotImplementedError: "
#: What grader.plugin appends to the failure of a hypothesis check.
_EXAMPLE = ". Smallest failing input: "


def render(report: GradeReport, color: bool = False, width: int = 100) -> str:
    """The report as text, with ANSI colour when ``color``, wrapped to ``width`` columns."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    lines = [paint(f"{report.assignment}: {report.submission}", _BOLD)]
    for problem in report.file_problems:
        lines += [paint(line, _BOLD) for line in _wrap(f"Files: {problem}", "", "       ", width)]
    blocked = _blocked(report.checks)
    shown: set[str] = set()
    for step in report.steps():
        lines.append(_score_line(step, paint))
        checks = [check for check in report.checks if check.step == step.key]
        named: set[str] = set()  # the causes this step has named
        for check in checks:
            key = _cause_key(check)
            if key is None:
                if not check.passed:
                    lines += _failure(check, paint, width)
                continue
            here = [other for other in blocked[key] if other.step == step.key]
            # A module the Files line already says is missing: its checks by number, not by name.
            missing = _MISSING.fullmatch(key) if report.file_problems else None
            listing = _listing(here, names=missing is None)
            if key not in shown:
                what = f"{missing['module']}.py is missing (Files, above)" if missing else key
                lines += _marked("TODO", paint("TODO", _RED), f"{what}; blocks {listing}", width)
            elif key not in named:
                lines += _wrap(f"blocked by {_short(key)} (above): {listing}", "  ", "    ", width)
            shown.add(key)
            named.add(key)
        passed = [check for check in checks if check.passed]
        if len(passed) == len(checks) > 1:
            hidden = sum(check.hidden for check in checks)
            of_them = f" ({hidden} hidden)" if hidden else ""
            lines.append(f"  {paint('PASS', _GREEN)} all {len(checks)} checks{of_them}")  # names would fill a screen
        elif passed:
            lines += _marked("PASS", paint("PASS", _GREEN), _listing(passed), width)
    if len(lines) > _SCREEN:
        # The top has scrolled away: the last screen still shows every step's score.
        lines += ["", paint("Summary", _BOLD), *(_score_line(step, paint) for step in report.steps())]
    total = f"Total: {_points(report.score)}/{_points(report.max_score)}"
    lines += ["", paint(total, _BOLD + (_GREEN if report.all_passed else _RED))]
    if report.hidden_pending:
        lines.append(f"{report.hidden_pending} hidden checks will run when the course staff grade.")
    if report.sandbox_gaps:
        lines.append(paint(f"Note: on this machine {'; '.join(report.sandbox_gaps)}.", _DIM))
    return "\n".join(lines)


def _score_line(step: StepResult, paint: Callable[[str, str], str]) -> str:
    mark = paint("ok", _GREEN) if step.score == step.max_score else paint("--", _RED)
    return paint(f"{step.step.title:<22}{_points(step.score)}/{_points(step.max_score)}", _BOLD) + f"  {mark}"


def _failure(check: CheckResult, paint: Callable[[str, str], str], width: int) -> list[str]:
    """A failure of its own: its title and points, its message, what the student's code printed, then (for staff)
    its traceback."""
    title = f"{check.title} (hidden check)" if check.hidden else check.title
    lines = [f"  {paint('FAIL', _RED)} {title} ({_points(check.score)}/{_points(check.max_score)})"]
    lines += _wrap(check.message, "       ", "       ", width)
    if check.output:  # set apart from the grader's words
        lines += ["       your output:"] + [paint("       | " + line, _DIM) for line in check.output.splitlines()]
    if check.traceback:
        lines += [paint("       " + line, _DIM) for line in check.traceback.splitlines()]
    return lines


def _blocked(checks: list[CheckResult]) -> dict[str, list[CheckResult]]:
    """The failures several checks may share, by their line (:func:`_cause_key`), each with the checks it blocks."""
    blocked: dict[str, list[CheckResult]] = {}
    for check in checks:
        key = _cause_key(check)
        if key is not None:
            blocked.setdefault(key, []).append(check)
    return blocked


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


def _short(key: str) -> str:
    """How a later step names a cause already shown: the module (missing or not importable), or the function's
    file and line."""
    if missing := _MISSING.fullmatch(key):
        return f"the missing {missing['module']}.py"
    found = _IMPORT.match(key)
    return f"{found['module']}, which cannot be imported" if found else key.split(": ", 1)[0]


def _listing(checks: list[CheckResult], names: bool = True) -> str:
    """Checks of one verdict, their points together then their names: ``0/6: handwrite_items, handwrite_transform``
    (``0/6: 2 checks`` without ``names``)."""
    score = sum(check.score for check in checks)
    most = sum(check.max_score for check in checks)
    count = f"{len(checks)} check{'s' if len(checks) != 1 else ''}"
    listed = ", ".join(_name(check) for check in checks) if names else count
    return f"{_points(score)}/{_points(most)}: {listed}"


def _name(check: CheckResult) -> str:
    """A check as a list names it: its function's name, marked when it is a hidden check (staff's runs show them)."""
    name = check.name.removeprefix("test_")
    return f"{name} (hidden)" if check.hidden else name


def _marked(mark: str, painted: str, text: str, width: int) -> list[str]:
    """``mark text`` wrapped, then ``mark`` painted (colour codes would count as width)."""
    lines = _wrap(f"{mark} {text}", "  ", "    ", width)
    return [lines[0].replace(mark, painted, 1), *lines[1:]]


def _wrap(text: str, first: str, rest: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False)


def _points(value: float) -> str:
    return f"{value:g}"
