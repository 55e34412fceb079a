"""On a terminal, a one-line "running <check>... 5 s" while a call into student code runs long.

A student whose code hangs otherwise stares at a silent terminal for the call's whole budget. The line is
drawn only after :data:`AFTER` seconds (most calls take milliseconds), rewritten as the seconds pass, and
erased once the call ends, so the report that follows is the same as without it.
"""

from __future__ import annotations

import shutil
from typing import TextIO

#: Seconds a call runs before the line appears.
AFTER = 2.0
_ERASE = "\r\033[2K"


class Indicator:
    """Draws the line on ``stream`` (a terminal) for the check called ``title``: the sandbox client calls
    :meth:`waiting` as a call goes on and :meth:`done` when it ends."""

    def __init__(self, stream: TextIO, title: str, after: float = AFTER) -> None:
        self._stream = stream
        self._title = title
        self._after = after
        self._shown = -1

    def waiting(self, seconds: float) -> None:
        """The current call has run ``seconds`` so far."""
        whole = int(seconds)
        if seconds < self._after or whole == self._shown:
            return
        self._shown = whole
        width = shutil.get_terminal_size().columns - 1
        self._write(f"{_ERASE}running {self._title}... {whole} s"[: width + len(_ERASE)])

    def done(self) -> None:
        """The call ended: erase the line if it was drawn."""
        if self._shown >= 0:
            self._shown = -1
            self._write(_ERASE)

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # the terminal went away: the grading goes on without the line
            pass
