"""``--format github`` (the default inside GitHub Actions): the log, a job summary and annotations.

What the Actions runner reads (``actions/runner``: ``ActionCommand.TryParseV2`` and the command extensions):

* the log, one collapsible group per step (``::group::`` ... ``::endgroup::``); what a submission can put in
  a line of it (its exception messages) is fenced by ``::stop-commands::TOKEN`` ... ``::TOKEN::``, since the
  runner reads a workflow command from any line that starts with ``::`` after spaces, and a ``##[command]``
  anywhere in a line: a student's message cannot end a group, add an annotation or mask text. The token
  is a digest of the fenced text, which that text therefore cannot hold;
* one ``::error`` per failed check, with ``file`` and ``line`` where student code raised what failed it
  (relative to ``$GITHUB_WORKSPACE``, as the runner expects) and a ``title``; message and properties
  escaped as the runner unescapes them (data: ``%``, CR, LF; properties also ``:`` and ``,``). GitHub
  shows at most 10 error annotations per step: the job summary lists every failed check;
* a Markdown job summary appended to ``$GITHUB_STEP_SUMMARY``: the total, a table of steps and each failed
  check with its message and slide, within GitHub's 1 MiB per step.

The exit status is the grader's (0 all passed, 1 some failed, 3 grading failed).
"""

from __future__ import annotations

import hashlib
import os
import re
import textwrap

from grader.reporters import source_file
from grader.results import CheckResult, GradeReport

#: What one summary may take: GitHub refuses a step summary over 1 MiB (and shows none of it).
SUMMARY_LIMIT_BYTES = 512 * 1024
#: The longest message a summary or an annotation repeats (the log has each message whole).
MESSAGE_LIMIT_CHARS = 2000
_INDENT = "       "


def render(report: GradeReport, color: bool = False) -> str:
    """The log: the report grouped by step, an annotation per failed check, then the total."""
    lines = [f"{report.assignment}: {report.submission}"]
    for step in report.steps():
        mark = "ok" if step.score == step.max_score else "--"
        lines.append(f"::group::{escape_data(f'{step.step.title}: {step.score:g}/{step.max_score:g} {mark}')}")
        body = []
        for check in (c for c in report.checks if c.step == step.key):
            status = "PASS" if check.passed else "FAIL"
            body.append(f"  {status} {check.title} ({check.score:g}/{check.max_score:g})")
            if not check.passed:
                for paragraph in check.message.splitlines() or [""]:
                    body += textwrap.wrap(paragraph, width=100, initial_indent=_INDENT, subsequent_indent=_INDENT)
            body += [_INDENT + line for line in check.traceback.splitlines()]
        lines += fenced(body)
        lines.append("::endgroup::")
    lines += [annotation(report, check) for check in report.checks if not check.passed]
    lines.append(f"Total: {report.score:g}/{report.max_score:g}")
    if report.hidden_pending:
        lines.append(f"{report.hidden_pending} hidden checks will run when the course staff grade.")
    if report.sandbox_gaps:
        lines += fenced([f"Note: on this machine {'; '.join(report.sandbox_gaps)}."])
    return "\n".join(lines)


def render_error(assignment: str, message: str) -> str:
    """The log of a grading that failed: one error annotation saying why."""
    title = escape_property(f"{assignment}: the grader could not finish")
    return f"::error title={title}::{escape_data(f'{message}. Please tell the course staff.')}"


def emit(report: GradeReport, color: bool = False) -> None:
    """Print the log; inside a workflow step, append the job summary to ``$GITHUB_STEP_SUMMARY``."""
    print(render(report, color))
    _append_summary(summary(report))


def emit_error(assignment: str, message: str) -> None:
    """Print the error annotation; inside a workflow step, say it in the job summary too."""
    print(render_error(assignment, message))
    _append_summary(f"## {_md(assignment)}: not graded\n\nThe grader could not finish:\n\n{_block(message)}\n")


def fenced(lines: list[str]) -> list[str]:
    """``lines`` between ``::stop-commands::TOKEN`` and ``::TOKEN::``: the runner reads no command in them."""
    if not lines:
        return []
    token = "grader-" + hashlib.sha256("\n".join(lines).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return [f"::stop-commands::{token}", *lines, f"::{token}::"]


def annotation(report: GradeReport, check: CheckResult) -> str:
    """The ``::error`` of a failed check: where student code raised what failed it, when that is known."""
    properties = []
    if where := source_file(report, check):
        properties += [f"file={escape_property(where)}", f"line={check.line}"]
    # Stripped: the runner trims the ends of the properties.
    properties.append(f"title={escape_property(_title(report, check).strip())}")
    return f"::error {','.join(properties)}::{escape_data(_clip(check.message))}"


def summary(report: GradeReport) -> str:
    """The job summary: the total, the steps, and each failed check with its message and slide."""
    verdict = "all checks passed" if report.all_passed else "some checks failed"
    parts = [
        f"## {_md(report.assignment)}: {report.score:g}/{report.max_score:g} points ({verdict})\n",
        "| Step | Points | |\n| --- | ---: | :---: |",
    ]
    for step in report.steps():
        mark = "✅" if step.score == step.max_score else "❌"
        parts.append(f"| {_md(step.step.title)} | {step.score:g}/{step.max_score:g} | {mark} |")
    parts.append(f"| **Total** | **{report.score:g}/{report.max_score:g}** | |\n")
    if report.hidden_pending:
        parts.append(f"{report.hidden_pending} hidden checks will run when the course staff grade.\n")
    failed = [check for check in report.checks if not check.passed]
    if failed:
        parts.append(f"### Failed checks ({len(failed)})\n")
    used = sum(len(part.encode()) for part in parts)
    for index, check in enumerate(failed):
        file = source_file(report, check) or check.file
        where = f" · {_code(f'{file} line {check.line}')}" if file else ""
        section = (
            f"**{_md(report.step(check.step).title)}: {_md(check.title)}** · 0/{check.max_score:g} points{where}  \n"
            f"Reread: {_md(check.slide)}\n\n{_block(_clip(_without_slide(check)))}\n"
        )
        if used + len(section.encode()) > SUMMARY_LIMIT_BYTES - 1024:
            parts.append(f"{len(failed) - index} more failed checks are in the log of this step (summary size limit).")
            break
        parts.append(section)
        used += len(section.encode())
    return "\n".join(parts) + "\n"


def escape_data(text: str) -> str:
    """A workflow command's data as the runner unescapes it: ``%``, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: what :func:`escape_data` escapes, and ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _title(report: GradeReport, check: CheckResult) -> str:
    return f"{report.step(check.step).title}: {check.title} (0/{check.max_score:g})"


def _append_summary(text: str) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)


def _without_slide(check: CheckResult) -> str:
    """The message without its closing "Reread: <slide>." (the summary names the slide on a line of its own)."""
    return check.message.removesuffix(f" Reread: {check.slide}.")


def _clip(text: str) -> str:
    return text if len(text) <= MESSAGE_LIMIT_CHARS else text[:MESSAGE_LIMIT_CHARS] + " …"


def _md(text: str) -> str:
    """Text (a title, a slide) in Markdown, read as written: its punctuation escaped, HTML and pipes too."""
    text = re.sub(r"([\\`*_{}\[\]()#+\-.!|~>])", r"\\\1", text.replace("\n", " "))
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _code(text: str) -> str:
    """``text`` as an inline code span, whatever backticks it holds."""
    text = text.replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"


def _block(text: str) -> str:
    """``text`` as a fenced code block: shown as written, whatever it holds."""
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence}text\n{text}\n{fence}"
