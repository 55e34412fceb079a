"""Reporters: each turns a :class:`GradeReport` into one output format.

A reporter is a module with a ``render(report, color=False) -> str`` function (the terminal
view's also takes ``width``, the terminal's columns); register it in ``FORMATS``. Adding a format
is one small module and one line.

Optional functions serve formats that another program reads:

* ``render_error(assignment, message) -> str``: the document to emit when grading
  itself failed, so that the reader (Gradescope, the Classroom reporter, a CI
  server) still gets a well-formed result instead of nothing;
* ``emit(report, color) -> None`` and ``emit_error(assignment, message) -> None``: where
  the output goes when it is not only the rendered text on stdout (GitHub Actions' job
  summary file, the Classroom reporter's variables).

The command line goes through :func:`emit` and :func:`emit_error` only.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from grader.results import CheckResult, GradeReport

FORMATS = {
    "text": "grader.reporters.text",
    "json": "grader.reporters.json",
    "gradescope": "grader.reporters.gradescope",
    "classroom": "grader.reporters.classroom",
    "junit": "grader.reporters.junit",
    "github": "grader.reporters.github",
}


class Reporter(Protocol):
    """What a reporter module provides."""

    def render(self, report: GradeReport, color: bool = False) -> str:
        """The whole output for one submission."""
        ...


def get(name: str) -> Reporter:
    """The reporter module for format ``name``."""
    return importlib.import_module(FORMATS[name])  # type: ignore[return-value]


def default_format(environ: Mapping[str, str] = os.environ) -> str:
    """``github`` inside a GitHub Actions step (which sets ``GITHUB_ACTIONS=true``), ``text`` elsewhere."""
    return "github" if environ.get("GITHUB_ACTIONS") == "true" else "text"


def render_error(name: str, assignment: str, message: str) -> str | None:
    """Format ``name``'s document for a grading that failed, or None when the format has none."""
    render = getattr(get(name), "render_error", None)
    return render(assignment, message) if render else None


def emit(name: str, report: GradeReport, color: bool = False, width: int | None = None) -> None:
    """Hand ``report`` to its reader in format ``name``: the reporter's own ``emit``, else its text on stdout.

    ``width`` (the terminal's columns) goes to a format that wraps to it, the terminal view.
    """
    reporter = get(name)
    own = getattr(reporter, "emit", None)
    if own is not None:
        own(report, color)
    elif width is not None:
        print(reporter.render(report, color=color, width=width))  # type: ignore[call-arg]
    else:
        print(reporter.render(report, color=color))


def emit_error(name: str, assignment: str, message: str) -> bool:
    """Hand a failed grading's document to its reader; False when format ``name`` has none (text, json)."""
    reporter = get(name)
    own = getattr(reporter, "emit_error", None)
    if own is not None:
        own(assignment, message)
        return True
    document = render_error(name, assignment, message)
    if document is None:
        return False
    print(document)
    return True


def source_file(report: GradeReport, check: CheckResult) -> str:
    """Where student code raised what failed ``check``, as a path from the repository root, or "".

    The root is ``$GITHUB_WORKSPACE`` in a GitHub Actions step, else the current folder (where CI runs the
    grader). A file outside it, or no longer there, has no path a reader could open: "".
    """
    if not check.file or check.line <= 0:
        return ""
    path = Path(report.submission, check.file)
    root = Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd())
    try:
        if not path.is_file() or path.is_symlink():
            return ""
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (OSError, ValueError):
        return ""
