"""One exception tree for everything that can go wrong while grading.

    GraderError                      what the grader itself reports
    ├── UsageError                   bad command line: one line, exit code 2
    └── SubmissionError              the submission, not the grader, is at fault
        ├── StudentError             student code raised an exception
        ├── ImportFailure            a student module could not be imported
        ├── Timeout                  a call ran past its time budget
        ├── MemoryLimit              the worker went past its memory limit
        ├── WorkerCrashed            the worker died (signal, os._exit, sys.exit)
        └── ProtocolViolation        the worker sent something that is not plain data

Errors are raised in the trusted process only, by the sandbox client, translated
from what the worker reported with ``raise ... from exc`` where there is a cause.
Each knows how to describe itself to a student (``str(error)``).
"""

from __future__ import annotations

import re

#: The worker's "where": ``model.py line 77, in softmax`` (``model.py line 3`` for a syntax error).
_WHERE = re.compile(r"(?P<file>[^/\\]+?) line (?P<line>[0-9]{1,9})(?:, in .*)?", re.DOTALL)


class GraderError(Exception):
    """Base of every error the grader raises on purpose."""


class UsageError(GraderError):
    """The command line asks for something that does not exist; exit code 2."""

    exit_code = 2


class SubmissionError(GraderError):
    """The submission failed in a way that fails the checks that needed it."""

    #: True when the worker process is gone and must be replaced.
    fatal = False


class StudentError(SubmissionError):
    """Student code raised an exception; ``type_names`` holds its class and bases."""

    def __init__(self, type_names: list[str], message: str, where: str, traceback: str) -> None:
        self.type_names = type_names
        self.message = message
        self.where = where
        self.traceback = traceback
        super().__init__(type_names[0], message)

    def __str__(self) -> str:
        location = f" ({self.where})" if self.where else ""
        return f"your code raised {self.type_names[0]}: {self.message}{location}"

    @property
    def location(self) -> tuple[str, int] | None:
        """The submission's file (a name in its folder) and line where the exception was raised, when known."""
        match = _WHERE.fullmatch(self.where)
        return (match["file"], int(match["line"])) if match else None

    def is_a(self, name: str) -> bool:
        """Whether the student's exception is ``name`` or a subclass of it."""
        return name in self.type_names


class ImportFailure(StudentError):
    """A student module failed to import (missing file, syntax error, error at import)."""

    def __init__(self, module: str, error: StudentError) -> None:
        super().__init__(error.type_names, error.message, error.where, error.traceback)
        self.module = module

    def __str__(self) -> str:
        location = f" ({self.where})" if self.where else ""
        return f"{self.module}.py could not be imported: {self.type_names[0]}: {self.message}{location}"


class Timeout(SubmissionError):
    """A call into student code ran past its wall-clock or CPU budget."""

    fatal = True


class MemoryLimit(SubmissionError):
    """The worker process used more memory than allowed."""

    fatal = True


class WorkerCrashed(SubmissionError):
    """The worker process ended while a call was in flight."""

    fatal = True


class ProtocolViolation(SubmissionError):
    """The worker sent bytes that do not decode to exact plain data within the caps."""

    fatal = True
