"""How a batch shows its progress: a bar redrawn in place on a terminal, a plain line per submission elsewhere.

On a terminal the bar (done/total, percent, elapsed time, ETA) is one line of stderr redrawn with ``\\r``;
each finished submission's line is printed above it. Anywhere else (a log file, CI) only the lines are
printed, so that the log reads the same whether or not anyone watched it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

_WIDTH = 24
_CLEAR = "\r\033[K"


def clock(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on."""
    minutes, secs = divmod(round(max(seconds, 0.0)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def estimate(done: int, total: int, busy_seconds: float, jobs: int) -> float | None:
    """Seconds left: the mean time of a finished submission, times those left, shared among the jobs.

    None before the first submission finished (nothing to go on yet).
    """
    if done <= 0:
        return None
    left = total - done
    if left <= 0:
        return 0.0
    return busy_seconds / done * left / max(1, min(jobs, left))


def bar(done: int, total: int, elapsed: float, eta: float | None) -> str:
    """The progress line, e.g. ``[######------------------]  6/24  25%  elapsed 0:31  ETA 1:33``."""
    fraction = done / total if total else 1.0
    filled = round(fraction * _WIDTH)
    left = "--:--" if eta is None else clock(eta)
    width = len(str(total))
    return (
        f"[{'#' * filled}{'-' * (_WIDTH - filled)}] {done:>{width}}/{total}  {fraction:4.0%}  "
        f"elapsed {clock(elapsed)}  ETA {left}"
    )


class Progress:
    """Progress of ``total`` submissions graded by ``jobs`` processes; lines go to ``log``.

    With a ``terminal`` stream (a TTY), a bar is drawn on it too and kept below the lines.
    """

    def __init__(
        self,
        total: int,
        jobs: int,
        log: Callable[[str], None],
        terminal: TextIO | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.jobs = jobs
        self.done = 0
        self._log = log
        self._terminal = terminal
        self._now = now
        self._started = now()
        self._busy = 0.0
        self._eta: float | None = None
        self._eta_at = self._started

    def finished(self, name: str, summary: str, seconds: float) -> None:
        """One submission is done: ``[done/total] name: summary (seconds)``, then the bar again."""
        self.done += 1
        self._busy += seconds
        self._eta = estimate(self.done, self.total, self._busy, self.jobs)
        self._eta_at = self._now()
        self._draw(_CLEAR)  # the line goes where the bar was; the bar is drawn again below it
        self._log(f"[{self.done}/{self.total}] {name}: {summary} ({seconds:.1f} s)")
        self.tick()

    def tick(self) -> None:
        """Redraw the bar (the clock moved); nothing off a terminal."""
        if self._terminal is None:
            return
        now = self._now()
        # Between two results the estimate counts down rather than standing still.
        eta = None if self._eta is None else max(self._eta - (now - self._eta_at), 0.0)
        self._draw(_CLEAR + bar(self.done, self.total, now - self._started, eta))

    def close(self) -> None:
        """End the bar's line, so that what is printed next starts on a line of its own."""
        self._draw("\n")

    def _draw(self, text: str) -> None:
        if self._terminal is None:
            return
        try:
            self._terminal.write(text)
            self._terminal.flush()
        except OSError:  # the terminal is gone (hung up): grading goes on, or stops cleanly, without the bar
            self._terminal = None
