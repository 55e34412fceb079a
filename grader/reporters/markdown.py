"""The text report as Markdown: what a TA pastes into a comment box or returns as a file.

A batch writes it beside the text report as ``OUT/feedback/<submission>.md`` (see
:mod:`grader.batch.feedback`). The submission's name and every message are the student's doing, so
names are escaped and messages sit in fenced code blocks whose fence no backtick run in them can close.
"""

from __future__ import annotations

import re

from grader.results import GradeReport

#: Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping them all leaves no markup.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def render(report: GradeReport, color: bool = False) -> str:
    """The report as Markdown (``color`` is ignored: Markdown has none)."""
    lines = [f"# {escape(report.assignment)}: {escape(report.submission)}", ""]
    lines += [f"**Total: {_points(report.score)}/{_points(report.max_score)}**", ""]
    for step in report.steps():
        mark = "ok" if step.score == step.max_score else "not all points"
        lines += [f"## {escape(step.step.title)}: {_points(step.score)}/{_points(step.max_score)} ({mark})", ""]
        for check in (c for c in report.checks if c.step == step.key):
            status = "PASS" if check.passed else "FAIL"
            lines.append(f"- **{status}** {escape(check.title)} ({_points(check.score)}/{_points(check.max_score)})")
            if not check.passed and check.message:
                lines += ["", *("  " + line for line in block(check.message).splitlines())]
        lines.append("")
    if report.hidden_pending:
        lines += [f"{report.hidden_pending} hidden checks will run when the course staff grade.", ""]
    return "\n".join(lines)


def escape(text: str) -> str:
    """``text`` shown as itself by a Markdown renderer: every punctuation mark escaped, so none is markup."""
    return _PUNCTUATION.sub(r"\\\1", text)


def block(text: str) -> str:
    """``text`` as a fenced code block whose fence is longer than any run of backticks in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _points(value: float) -> str:
    return f"{value:g}"
