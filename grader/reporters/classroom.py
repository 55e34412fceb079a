"""``--format classroom``: the runner results GitHub Classroom's autograding reporter reads.

``classroom-resources/autograding-grading-reporter`` (v1; the Classroom application it served is sunset,
see :mod:`grader.reporters.github` for Actions without it) reads, for each id in its ``runners`` input, the
variable ``<ID>_RESULTS``: base64 of ``{"version": 1, "status", "max_score", "tests": [...]}``. Its log
says ``Total points for <id>: (passed tests / tests) x max_score`` while the points it posts are the sum
of the tests' ``score``: the two agree only when every test of a runner is worth the same, and its
JavaScript arithmetic is exact only when a runner's number of tests is a power of two (``15 / 22 * 22``
is 14.999999999999998 there). So the checks go to runners by point value, in chunks of a power of two
(hw1's eighteen 2-point checks: ``hw1points2a`` with 16, ``hw1points2b`` with 2), and what its log shows
is what it records, to the digit.

Inside a workflow step (``$GITHUB_ENV`` set) :func:`emit` appends ``<ID>_RESULTS=<base64>`` to
``$GITHUB_ENV`` and ``runners=<ids>`` to ``$GITHUB_OUTPUT`` (the workflow passes that output to the
reporter), and prints the report as ``--format github`` does: the reporter shows a failing test's name
only, the log above it says why. A variable may hold at most 128 KiB (Linux's limit for one string of a
process's environment; over it the reporter cannot start): the encoded results stay under
:data:`ENCODED_LIMIT_BYTES` in all, whatever the submission prints, by shortening the messages, and the
log says so when it did.
"""

from __future__ import annotations

import base64
import json
import os
import re
from typing import Any

from grader.reporters import github
from grader.results import CheckResult, GradeReport

#: All the encoded results together (the largest variable is at most this): half of Linux's 128 KiB.
ENCODED_LIMIT_BYTES = 64 * 1024
#: The message lengths tried, longest first, until the results fit.
_MESSAGE_LIMITS = (2000, 1000, 500, 200, 80, 0)
_CUT = " … (cut short: the whole message is in the grading step's log)"


def runners(report: GradeReport, message_limit: int = _MESSAGE_LIMITS[0]) -> dict[str, dict[str, Any]]:
    """Runner id -> runner result: checks of one point value, a power of two of them, in the report's order."""
    groups: dict[float, list[CheckResult]] = {}
    for check in report.checks:
        groups.setdefault(check.max_score, []).append(check)
    results = {}
    for points in sorted(groups):
        checks, chunks = groups[points], []
        while checks:
            size = 1 << (len(checks).bit_length() - 1)
            chunks.append(checks[:size])
            checks = checks[size:]
        for index, chunk in enumerate(chunks):
            suffix = "abcdefghijklmnopqrstuvwxyz"[index] if len(chunks) > 1 else ""
            results[f"{_slug(report.assignment)}points{points:g}{suffix}".replace(".", "p")] = {
                "version": 1,
                "status": "pass" if all(check.passed for check in chunk) else "fail",
                "max_score": round(points * len(chunk), 6),
                "tests": [_test(check, report.step(check.step).title, message_limit) for check in chunk],
            }
    return results


def fitted(report: GradeReport) -> tuple[dict[str, str], int | None]:
    """Runner id -> encoded result, within :data:`ENCODED_LIMIT_BYTES` in all; the message limit it took
    (None when no message had to be cut)."""
    longest = max((len(check.message) for check in report.checks), default=0)
    for limit in _MESSAGE_LIMITS:
        encoded = {ident: _encode(result) for ident, result in runners(report, limit).items()}
        if sum(len(value) for value in encoded.values()) <= ENCODED_LIMIT_BYTES or limit == 0:
            return encoded, (limit if longest > limit else None)
    raise AssertionError("unreachable")  # pragma: no cover


def render(report: GradeReport, color: bool = False) -> str:
    """The variables, one ``<ID>_RESULTS=<base64>`` line per runner (what goes to ``$GITHUB_ENV``)."""
    encoded, _ = fitted(report)
    return "\n".join(f"{variable(ident)}={value}" for ident, value in encoded.items())


def render_error(assignment: str, message: str) -> str:
    """The variable of a grading that failed: one runner (named after the assignment), status ``error``.

    ``max_score`` is 0: a failure of the grader posts no points rather than a false zero; the reporter's
    log shows the message.
    """
    test = {
        "name": f"{assignment} grading",
        "status": "error",
        "score": 0,
        "message": f"The grader could not finish: {message}"[: _MESSAGE_LIMITS[0]],
        "test_code": "",
        "filename": "",
        "line_no": 0,
        "duration": 0,
    }
    document = {"version": 1, "status": "error", "max_score": 0, "tests": [test]}
    return f"{variable(_slug(assignment))}={_encode(document)}"


def variable(ident: str) -> str:
    """The variable the reporter reads for runner ``ident``."""
    return f"{ident.upper()}_RESULTS"


def emit(report: GradeReport, color: bool = False) -> None:
    """In a workflow step: the variables and ``runners`` for the reporter, and the report in the log."""
    encoded, cut = fitted(report)
    if not _deliver("\n".join(f"{variable(ident)}={value}" for ident, value in encoded.items()), list(encoded)):
        return
    github.emit(report, color)
    if cut is not None:
        print(
            f"Note: the messages passed to the Classroom reporter are cut to {cut} characters, to keep its "
            f"variables under GitHub's limit ({len(''.join(encoded.values())):,} bytes in all); the whole "
            "messages are in the log above."
        )


def emit_error(assignment: str, message: str) -> None:
    """In a workflow step: the error runner for the reporter, and the error in the log."""
    if _deliver(render_error(assignment, message), [_slug(assignment)]):
        github.emit_error(assignment, message)


def _slug(assignment: str) -> str:
    """``assignment`` as the start of a runner id: letters and digits only (the reporter's own rule)."""
    return re.sub(r"[^A-Za-z0-9]", "", assignment) or "grader"


def _deliver(lines: str, ids: list[str]) -> bool:
    """Append ``lines`` to ``$GITHUB_ENV`` and the runner ids to ``$GITHUB_OUTPUT``; print them outside a
    workflow step. True when they went to the files."""
    environment, output = os.environ.get("GITHUB_ENV"), os.environ.get("GITHUB_OUTPUT")
    if not environment or not output:
        print(lines)
        return False
    with open(environment, "a", encoding="utf-8") as handle:
        handle.write(lines + "\n")
    with open(output, "a", encoding="utf-8") as handle:
        handle.write(f"runners={','.join(ids)}\n")
    return True


def _test(check: CheckResult, step: str, message_limit: int) -> dict[str, Any]:
    message = check.message
    if len(message) > message_limit:
        message = message[:message_limit] + _CUT if message_limit else ""
    return {
        "name": f"{step}: {check.title}",
        "status": "pass" if check.passed else "fail",
        "score": check.score,
        "message": message,
        "test_code": "",
        "filename": check.file,
        "line_no": check.line,
        "duration": check.duration,
    }


def _encode(document: dict[str, Any]) -> str:
    # ASCII JSON: a lone surrogate (output that was not UTF-8) travels as its escape, which JSON.parse reads.
    return base64.b64encode(json.dumps(document).encode("ascii")).decode("ascii")
