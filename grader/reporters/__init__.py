"""Reporters: each turns a :class:`GradeReport` into one output format.

A reporter is a module with a ``render(report, color=False) -> str`` function;
register it in ``FORMATS``. Adding a format is one small module and one line.

Two optional functions serve formats that another program reads:

* ``render_error(assignment, message) -> str``: the document to emit when grading
  itself failed, so that the reader (Gradescope, the Classroom reporter, a CI
  server) still gets a well-formed result instead of nothing;
* ``deliver(text) -> None``: where the output goes when it is not stdout
  (the Classroom runner result goes to ``$GITHUB_OUTPUT``).
"""

from __future__ import annotations

import importlib
from typing import Protocol

from grader.results import GradeReport

FORMATS = {
    "text": "grader.reporters.text",
    "json": "grader.reporters.json",
    "gradescope": "grader.reporters.gradescope",
    "classroom": "grader.reporters.classroom",
    "junit": "grader.reporters.junit",
}


class Reporter(Protocol):
    """What a reporter module provides."""

    def render(self, report: GradeReport, color: bool = False) -> str:
        """The whole output for one submission."""
        ...


def get(name: str) -> Reporter:
    """The reporter module for format ``name``."""
    return importlib.import_module(FORMATS[name])  # type: ignore[return-value]


def render_error(name: str, assignment: str, message: str) -> str | None:
    """Format ``name``'s document for a grading that failed, or None when the format has none."""
    render = getattr(get(name), "render_error", None)
    return render(assignment, message) if render else None


def deliver(name: str, text: str) -> None:
    """Hand ``text`` to its reader: the reporter's own ``deliver`` when it has one, stdout otherwise."""
    own = getattr(get(name), "deliver", None)
    if own is not None:
        own(text)
    else:
        print(text)
