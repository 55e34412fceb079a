"""Parallel grading processes for a batch, forked before any torch op.

The parent imports what grading needs (no torch op runs here), then forks
``jobs`` grading processes; each builds its own :class:`grader.runner.Grader`
(and so its own zygote) and grades the submissions the parent hands it, one
at a time, writing each result atomically as soon as it is done.

Ctrl-C: a terminal sends SIGINT to the whole process group, so grading
processes ignore it and the parent alone decides. It sends each of them
SIGTERM, on which a grading process abandons the submission in hand (its
temporary folders are removed, its zygote and workers stopped) but finishes a
result it is writing; whoever has not ended after ``_STOP_SECONDS`` is killed.

Cores: when there are at least as many cores as grading processes, each process is
pinned to a core of its own, and its zygote and workers inherit the pin. A check
is a conversation (about a thousand calls per grading, each a message to the
worker and its answer); between two processes on different cores each message
wakes the other core and moves the data across, which costs two to three times the
CPU of a switch on one core (see ``tests/benchmarks/roundtrip.py``).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import secrets
import select
import shutil
import signal
import socket
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from grader import devices
from grader.assignments import Assignment
from grader.batch.intake import Submission, prepare
from grader.batch.outcome import Outcome, Status
from grader.batch.progress import Progress
from grader.batch.store import ResultStore
from grader.errors import SubmissionError
from grader.sandbox import Limits, isolation
from grader.sandbox.limits import die_with_parent, name_process

_STOP_SECONDS = 10.0
#: How often the progress bar's clock is redrawn while nothing finishes.
_TICK_SECONDS = 1.0


def open_pool(
    assignment: Assignment,
    store: ResultStore,
    jobs: int,
    limits: Limits,
    hide: tuple[Path, ...] = (),
    hidden: tuple[Path, ...] = (),
    device: str = "cpu",
    shared: bool = False,
) -> _Pool:
    """Start ``jobs`` grading processes, with the ``hidden`` checks too; student code never sees ``hide``.

    Call it before the class folder is read: the grading processes, their zygotes and so every worker are
    forks of this process, and what it holds then (the roster, fingerprints, hidden checks' sources) would be
    in their memory, where student code can look.
    """
    # Imported once here (no torch op runs in this process), inherited by every grading process and zygote
    # (with the deferred imports done, no grading process needs an early zygote), and what the checks use.
    for name in assignment.preload + assignment.deferred + assignment.probe_modules + assignment.check_imports:
        importlib.import_module(name)
    isolation.choose()  # probed once here (it forks a throwaway process), remembered by every grading process
    jobs = max(1, jobs)
    pool = _Pool(_Setup(assignment, limits, store, (*hide, *hidden), hidden, device), pinned_cores(jobs, shared))
    pool.idle = pool.start(jobs)
    return pool


def grade_all(
    pool: _Pool, pending: list[tuple[Submission, str]], store: ResultStore, limits: Limits, progress: Progress
) -> None:
    """Grade ``pending`` (submission, fingerprint) pairs with the ``pool``'s processes into ``store``.

    On KeyboardInterrupt it is raised again; the results already written stay (the caller closes the pool).
    """
    queue = deque(pending)
    keys = {submission.name: key for submission, key in pending}
    busy: dict[socket.socket, tuple[Submission, float]] = {}
    idle = pool.idle
    try:
        progress.tick()
        while queue or busy:
            while queue and idle:
                sock = idle.pop()
                submission, key = queue.popleft()
                _send(sock, {"name": submission.name, "path": str(submission.path), "key": key})
                busy[sock] = (submission, time.monotonic())
            ready, _, _ = select.select(list(busy), [], [], _TICK_SECONDS)
            progress.tick()
            for sock in _overdue(busy, limits.submission_budget, ready):
                submission, started = busy.pop(sock)
                budget = limits.submission_budget
                reason = f"grading took longer than {budget:g} s in all (--submission-timeout); stopped"
                store.write(submission.name, Outcome.failed(Status.TIMEOUT, reason), key=keys[submission.name])
                idle.append(pool.replace(sock, kill=True))
                progress.finished(submission.name, "0/0 timeout (the whole submission)", time.monotonic() - started)
            for sock in ready:
                submission, started = busy.pop(sock)
                line = _read_line(sock)
                if line is None:
                    reason = "the grading process died while grading this submission"
                    store.write(submission.name, Outcome.failed(Status.ERROR, reason))
                    idle.append(pool.replace(sock))
                    summary = "the grading process died; recorded as error"
                else:
                    result = json.loads(line)
                    summary = f"{result['score']:g}/{result['max_score']:g} {result['status']}"
                    idle.append(sock)
                progress.finished(submission.name, summary, time.monotonic() - started)
    finally:
        with StopSignals.cleaning():
            progress.close()


def _overdue(
    busy: dict[socket.socket, tuple[Submission, float]], budget: float, ready: list[Any]
) -> list[socket.socket]:
    """The grading processes that have had their submission for longer than ``budget`` (and not just answered)."""
    now = time.monotonic()
    return [sock for sock, (_, started) in busy.items() if now - started > budget and sock not in ready]


def pinned_cores(jobs: int, shared: bool = False) -> list[int]:
    """The cores to pin ``jobs`` grading processes to, one each; empty when the scheduler should place them.

    Only where this process may use whole cores: with more jobs than cores, two processes would share one
    while another idles, and under a cgroup CPU quota narrower than the CPU affinity (a container's
    --cpus on a bigger host) the cores named are shared with others and any may be the busy one. A batch
    ``shared`` with others (a shard: its siblings may run beside it) pins only to cores that are all its own,
    as many as its jobs (a Slurm task given its CPUs by task/affinity or task/cgroup): where it may use more
    (two shards side by side, a Slurm node without those plugins), every shard would pin to the same first ones.
    """
    try:
        cores = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return []
    if jobs > len(cores) or devices.usable_cores() < len(cores) or (shared and jobs != len(cores)):
        return []
    return cores


@dataclass(frozen=True)
class _Setup:
    """What every grading process grades with: student code never sees ``hide``; ``hidden`` checks also run."""

    assignment: Assignment
    limits: Limits
    store: ResultStore
    hide: tuple[Path, ...]
    hidden: tuple[Path, ...]
    device: str


class _Pool:
    """The grading processes: their pids (and the cores they are pinned to) by their sockets."""

    def __init__(self, setup: _Setup, cores: list[int] | None = None) -> None:
        self._setup = setup
        self._children: dict[socket.socket, int] = {}
        self._cores: dict[socket.socket, int] = {}
        #: Cores no grading process is pinned to (none at all: nothing is pinned).
        self._free_cores = list(cores or ())
        #: The channels of the grading processes waiting for a submission.
        self.idle: list[socket.socket] = []
        #: This batch's mark in its grading processes' temporary folder names, with their pids: what a killed
        #: one left is found by it, never another batch's (pids repeat across containers, and get reused).
        self._batch = secrets.token_hex(4)

    def start(self, count: int) -> list[socket.socket]:
        """Fork ``count`` more grading processes; returns the parent's ends of their channels.

        Each process hands over a fresh channel once its zygote is forked (see :func:`_serve`); they all
        start at once, so the wait is for the slowest, not for all of them in turn.
        """
        first = [self._fork() for _ in range(count)]
        channels = []
        for sock in first:
            _, fds, _, _ = socket.recv_fds(sock, 1, 1)
            pid = self._children.pop(sock)
            core = self._cores.pop(sock, None)
            sock.close()
            if not fds:
                raise OSError("a grading process ended while it started")
            channel = socket.socket(fileno=fds[0])
            self._children[channel] = pid
            if core is not None:
                self._cores[channel] = core
            channels.append(channel)
        return channels

    def _fork(self) -> socket.socket:
        ours, theirs = socket.socketpair()
        core = self._free_cores.pop(0) if self._free_cores else None
        # Blocked across the fork: until the child has set its own dispositions, a signal would run the
        # parent's handler in it (and with it the parent's cleanup).
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, StopSignals.signals)
        try:
            pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            raise
        if pid == 0:
            # A terminal's Ctrl-C (or hang-up) reaches the whole process group; the parent decides what it
            # means. SIGTERM ends this process until it can stop cleanly (see _serve).
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            ours.close()
            for other in self._children:
                other.close()
            code = 0
            try:
                die_with_parent()
                name_process("grader-grading")
                if core is not None:
                    # Before the zygote is forked: it and its workers inherit the pin. Only an optimisation.
                    with contextlib.suppress(OSError):
                        os.sched_setaffinity(0, {core})
                _serve(self._setup, theirs, self._tag(os.getpid()))
            except BaseException:
                code = 70
            finally:
                os._exit(code)
        theirs.close()
        self._children[ours] = pid
        if core is not None:
            self._cores[ours] = core
        # Last: a signal that came meanwhile is handled now (it may raise), with the child already known.
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        return ours

    def _tag(self, pid: int) -> str:
        """What the temporary folders of grading process ``pid`` are named with (see remove_leftovers)."""
        return f"{self._batch}-{pid}"

    def replace(self, sock: socket.socket, kill: bool = False) -> socket.socket:
        """Reap the grading process of ``sock`` (it died, or is killed first when ``kill``) and start another."""
        pid = self._children.pop(sock)
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # its zygote, and so every worker, die with it
        if sock in self._cores:
            self._free_cores.append(self._cores.pop(sock))
        sock.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        remove_leftovers(self._tag(pid))
        return self.start(1)[0]

    def close(self, interrupted: bool) -> None:
        """Let every grading process end (asked to stop at once when ``interrupted``) and reap it.

        A second Ctrl-C (or a SIGTERM, a hang-up) while they stop is only noted (see :class:`StopSignals`): it would
        leave their workspaces behind.
        """
        with StopSignals.cleaning():
            for sock, pid in self._children.items():
                if interrupted:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
                sock.close()  # an idle grading process ends when it reads the end of its socket
            _reap(set(self._children.values()), time.monotonic() + _STOP_SECONDS)
            for pid in self._children.values():
                remove_leftovers(self._tag(pid))  # of those killed at the deadline
            self._children.clear()
            self._free_cores += self._cores.values()
            self._cores.clear()


def remove_leftovers(tag: str) -> None:
    """Remove the temporary folders the dead Grader tagged ``tag`` did not: its workspaces, what it unzipped."""
    from grader.runner import workspace_parent, workspace_prefix

    # Wherever they may be: where workspaces go depends on /dev/shm's free room, then and now.
    folders = {workspace_parent() or tempfile.gettempdir(), tempfile.gettempdir(), "/dev/shm"}
    for folder in folders:
        for prefix in (workspace_prefix(tag), unpacked_prefix(tag)):
            for leftover in Path(folder).glob(f"{prefix}*"):
                shutil.rmtree(leftover, ignore_errors=True)


class StopSignals:
    """A batch's stop signals (Ctrl-C, ``kill``, a closed terminal), in the process that runs it.

    The first one raises KeyboardInterrupt: grading stops, and what every run ends with (stopping the
    grading processes, writing grades.csv and the summary) runs in :meth:`cleaning`, where a signal never
    raises, for an exception there would cut it short. Later signals are only noted in ``received``.
    A SIGHUP ignored from the start (``nohup``) stays ignored.
    """

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    received: ClassVar[list[int]] = []
    _cleaning = 0

    @classmethod
    def install(cls) -> None:
        for signum in cls.signals:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                signal.signal(signum, cls._handle)

    @classmethod
    def _handle(cls, signum: int, frame: Any) -> None:
        cls.received.append(signum)
        if len(cls.received) == 1 and not cls._cleaning:
            raise KeyboardInterrupt

    @classmethod
    @contextlib.contextmanager
    def cleaning(cls) -> Iterator[None]:
        cls._cleaning += 1
        try:
            yield
        finally:
            cls._cleaning -= 1


def _reap(pids: set[int], deadline: float) -> None:
    """Wait for ``pids`` until ``deadline``, then kill those left (their zygotes die with them)."""
    while pids and time.monotonic() < deadline:
        for pid in list(pids):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == 0:
                    continue
            pids.discard(pid)
        time.sleep(0.02)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


class _Stop:
    """A grading process's SIGTERM: stop grading at once, but never in the middle of writing a result."""

    requested = False
    writing = False

    @classmethod
    def handle(cls, signum: int, frame: Any) -> None:
        if cls.requested:
            return
        cls.requested = True
        if not cls.writing:
            # KeyboardInterrupt, not an exception of ours: pytest stops the session on it, where another
            # exception would only fail the check that was running.
            raise KeyboardInterrupt


def _serve(setup: _Setup, sock: socket.socket, tag: str) -> None:
    from grader.runner import Grader

    assignment, hidden = setup.assignment, setup.hidden
    grader_ = Grader(assignment, setup.limits, hide=setup.hide, device=setup.device, tag=tag)
    # The zygote just forked holds a copy of ``sock``, and so will every worker running student code: which
    # could then read jobs or write forged results on it. Jobs come on a fresh channel they never see.
    channel, theirs = socket.socketpair()
    socket.send_fds(sock, [b"\0"], [theirs.fileno()])
    theirs.close()
    sock.close()
    sock = channel
    # Only now: a SIGTERM before this ends the process outright, which is all there is to do yet, and the
    # zygote must not inherit the handler.
    signal.signal(signal.SIGTERM, _Stop.handle)
    try:
        while not _Stop.requested and (line := _read_line(sock)) is not None:
            job = json.loads(line)
            outcome = grade_one(grader_, assignment, Submission(job["name"], Path(job["path"])), hidden)
            _Stop.writing = True
            if _Stop.requested:  # the grading was cut short: what it found is not the submission's grade
                return
            setup.store.write(job["name"], outcome, key=job["key"])
            _send(sock, {"score": outcome.score, "max_score": outcome.max_score, "status": outcome.status.value})
            _Stop.writing = False
    finally:
        grader_.close()


def grade_one(grader_: Any, assignment: Assignment, submission: Submission, hidden: tuple[Path, ...] = ()) -> Outcome:
    """Grade one submission with ``grader_`` (a :class:`grader.runner.Grader`), in a folder of its own."""
    with tempfile.TemporaryDirectory(prefix=unpacked_prefix(grader_.tag)) as tmp:
        try:
            folder = prepare(submission.path, Path(tmp), assignment)
            report = grader_.grade(folder, hidden=hidden)
        except SubmissionError as exc:  # nothing to grade (see intake.prepare), nested too deep, unreadable
            return Outcome.failed(Status.INVALID, str(exc))
    return Outcome.of(report)


def unpacked_prefix(tag: str) -> str:
    """How the folders the Grader tagged ``tag`` unzips into are named (see :func:`remove_leftovers`)."""
    return f"grader-batch-{tag}-"


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(json.dumps(message).encode() + b"\n")


def _read_line(sock: socket.socket) -> str | None:
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            return None
        data += chunk
    return data.decode()
