"""The terminal view: grouped by step, score per step and in total, each failure with its message."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from grader.results import GradeReport

_GREEN, _RED, _BOLD, _DIM, _RESET = "\033[32m", "\033[31m", "\033[1m", "\033[2m", "\033[0m"


def render(report: GradeReport, color: bool = False, width: int = 100) -> str:
    """The report as text, with ANSI colour when ``color``, messages wrapped to ``width`` columns."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    lines = [paint(f"{report.assignment}: {report.submission}", _BOLD), ""]
    for step in report.steps():
        mark = paint("ok", _GREEN) if step.score == step.max_score else paint("--", _RED)
        lines.append(
            paint(f"{step.step.title:<22}{_points(step.score)}/{_points(step.max_score)}", _BOLD) + f"  {mark}"
        )
        for check in (c for c in report.checks if c.step == step.key):
            status = paint("PASS", _GREEN) if check.passed else paint("FAIL", _RED)
            lines.append(f"  {status} {check.title} ({_points(check.score)}/{_points(check.max_score)})")
            if not check.passed:
                lines += textwrap.wrap(
                    check.message, width=width, initial_indent="       ", subsequent_indent="       "
                )
                lines += _printed(check.output, paint)
            if check.traceback:
                lines += [paint("       " + line, _DIM) for line in check.traceback.splitlines()]
        lines.append("")
    total = f"Total: {_points(report.score)}/{_points(report.max_score)}"
    lines.append(paint(total, _BOLD + (_GREEN if report.all_passed else _RED)))
    if report.hidden_pending:
        lines.append(f"{report.hidden_pending} hidden checks will run when the course staff grade.")
    if report.sandbox_gaps:
        lines.append(paint(f"Note: on this machine {'; '.join(report.sandbox_gaps)}.", _DIM))
    return "\n".join(lines)


def _printed(output: str, paint: Callable[[str, str], str]) -> list[str]:
    """What the student's code printed during a failed check, set apart from the grader's words."""
    if not output:
        return []
    return ["       your output:"] + [paint("       | " + line, _DIM) for line in output.splitlines()]


def _points(value: float) -> str:
    return f"{value:g}"
