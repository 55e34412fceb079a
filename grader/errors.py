"""One exception tree for everything that can go wrong while grading.

    GraderError                      what the grader itself reports: exit code 3 (grading failed)
    ├── UsageError                   bad command line: one line, exit code 2
    ├── Interrupted                  a batch stopped by a signal: exit code 128 + the signal
    └── SubmissionError              the submission, not the grader, is at fault: exit code 1
        ├── StudentError             student code raised an exception
        ├── ImportFailure            a student module could not be imported
        ├── Timeout                  a call ran past its time budget
        ├── MemoryLimit              the worker went past its memory limit
        ├── WorkerCrashed            the worker died (signal, os._exit, sys.exit)
        └── ProtocolViolation        the worker sent something that is not plain data

Errors are raised in the trusted process only, by the sandbox client, translated
from what the worker reported with ``raise ... from exc`` where there is a cause.
Each knows how to describe itself to a student (``str(error)``), and, as click's exceptions do, its
exit code and how to show itself on the command line (:meth:`GraderError.show`): the command line
maps any of them to its message and status in one place (``grader.cli.fail``).
"""

from __future__ import annotations

import re
import signal
import sys
from enum import IntEnum
from typing import TextIO

#: The worker's "where": ``model.py line 77, in softmax`` (``model.py line 3`` for a syntax error).
_WHERE = re.compile(r"(?P<file>[^/\\]+?) line (?P<line>[0-9]{1,9})(?:, in .*)?", re.DOTALL)


class ExitCode(IntEnum):
    """What the process exit status means."""

    ALL_PASSED = 0
    SOME_FAILED = 1
    USAGE_ERROR = 2
    #: Grading itself failed; a format read by another program still got its error document.
    INTERNAL_ERROR = 3
    #: A batch stopped by Ctrl-C (128 + SIGINT, as a shell reports it); finished results are kept.
    INTERRUPTED = 128 + signal.SIGINT


class GraderError(Exception):
    """Base of every error the grader raises on purpose; on the command line, grading failed (exit code 3)."""

    exit_code: int = ExitCode.INTERNAL_ERROR

    def format_message(self) -> str:
        """The one line the command line shows, after ``Error: ``."""
        return str(self)

    def show(self, file: TextIO | None = None) -> None:
        """Print the error as the command line shows it: ``Error: <message>`` on stderr."""
        print(f"Error: {self.format_message()}", file=file or sys.stderr, flush=True)


class UsageError(GraderError):
    """The command line asks for something that does not exist or does not go together; exit code 2."""

    exit_code = ExitCode.USAGE_ERROR


class Interrupted(GraderError):
    """A run stopped by a signal (Ctrl-C, a scheduler's SIGTERM); exit code 128 + the signal, as a shell says."""

    def __init__(self, message: str, signum: int = signal.SIGINT) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum

    def show(self, file: TextIO | None = None) -> None:
        """Print the line that says what was kept; no ``Error: `` before it: stopping is nobody's error."""
        print(self.format_message(), file=file or sys.stderr, flush=True)


class SubmissionError(GraderError):
    """The submission failed in a way that fails the checks that needed it (a grade: exit code 1)."""

    exit_code = ExitCode.SOME_FAILED

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
