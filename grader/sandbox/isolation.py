"""How a worker is isolated: one interface, one implementation per level, chosen once per process.

:func:`choose` probes the machine once (a throwaway process tries the whole set-up) and returns the
strongest level that works:

- :class:`Namespaces` (root on Linux: a CI runner, a TA's container or VM): each worker is PID 1 of its own
  PID namespace, has its own mount, network and IPC namespaces, sees only the allow-listed file system of
  :mod:`grader.sandbox.view`, and runs as a user id no account of the host has, with no capabilities;
- :class:`UserNamespaces` (no root, where the kernel lets users make user namespaces): the same, the
  zygote being PID 1 of a PID namespace inside a user namespace of its own, in which the grading user
  appears as the worker's user;
- :class:`Session` (neither): a process session, killed as a group, and the zygote as child subreaper,
  which kills whatever the submission left until nothing is left. Student code can then read what the
  grading user can read, reach the network and signal the user's processes.

At every level the worker also gets a fresh session keyring, the system call filter of
:mod:`grader.sandbox.seccomp`, no descriptor of the grading process but its own channel, and the
cgroup limits of :mod:`grader.sandbox.cgroups` where the host lets this process make cgroups.
"""

from __future__ import annotations

import contextlib
import functools
import grp
import os
import pwd
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, NoReturn

from grader.sandbox import cgroups, limits, seccomp, syscalls, view

#: Where the worker's user id is looked for: ids above what distributions give accounts (60000) and below the
#: ranges handed to containers (100000 and up), skipping any the host's account files name.
_WORKER_IDS = range(70_000, 71_000)
#: A PID namespace per worker: its PID 1 ends, everything in it ends.
_WORKER_NAMESPACES = syscalls.CLONE_NEWNS | syscalls.CLONE_NEWNET | syscalls.CLONE_NEWIPC
#: How long the session level keeps killing what a submission left (processes that fork as they die).
_SWEEP_SECONDS = 2.0


@functools.cache
def worker_id() -> int:
    """A user and group id that neither an account nor a group of this host has."""
    taken = {entry.pw_uid for entry in pwd.getpwall()} | {entry.gr_gid for entry in grp.getgrall()}
    return next(number for number in _WORKER_IDS if number not in taken)


class Isolation:
    """The weakest level, :class:`Session`'s behaviour; stronger levels override what they do differently."""

    level: ClassVar[str] = "session"
    #: Whether the grading user's files, processes and network are out of student code's reach.
    contained: ClassVar[bool] = False

    def __init__(self, layout: cgroups.Layout, reason: str = "", drops_root: bool = False) -> None:
        self.layout = layout
        #: Why no stronger level is used ("" at the strongest).
        self.reason = reason
        #: (Session, as root) workers become the unused user id, without capabilities.
        self.drops_root = drops_root

    @property
    def runs_as_root(self) -> bool:
        """Whether student code would run as root, with the grading process's capabilities."""
        return not self.contained and os.geteuid() == 0 and not self.drops_root

    def describe(self) -> str:
        """What holds, in one line for reports and the first line of a batch."""
        what = {
            "namespaces": "own PID, mount, network and IPC namespaces, allow-listed files, an unused user id",
            "userns": "a user namespace with own PID, mount, network and IPC namespaces, allow-listed files",
            "session": "a process session only: student code runs as the grading user and can read that user's "
            "files and use the network",
        }[self.level]
        if self.level == "session" and self.drops_root:
            what = "a process session only, as user 70000 without capabilities: student code can read what any user "
            what += "may read and use the network"
        because = f" ({self.reason})" if self.reason else ""
        return f"isolation: {self.level}{because}: {what}; {self.layout.describe()}"

    def gaps(self) -> list[str]:
        """What this machine cannot give student code a limit or a wall on (empty where all of it holds)."""
        found = []
        if self.runs_as_root:
            found.append(f"student code runs as root, with every capability ({self.reason})")
        elif self.drops_root:
            found.append(f"student code can read what any user may read and use the network ({self.reason})")
        elif not self.contained:
            found.append(f"student code runs as you: it can read your files and use the network ({self.reason})")
        if self.layout.memory is None or not self.layout.memory.usable:
            found.append("memory is watched by the grader, not capped by the kernel")
        if (self.layout.pids is None or not self.layout.pids.usable) and self.runs_as_root:
            found.append("the number of processes is not limited")
        elif self.layout.pids is None or not self.layout.pids.usable:
            found.append("processes are capped per user, not per worker: a submission can use up a batch's others'")
        return found

    @property
    def uid(self) -> int:
        """The user id student code runs as (as it sees itself)."""
        return worker_id() if self.drops_root else os.geteuid()

    @property
    def gid(self) -> int:
        """The group id student code runs as (as it sees itself)."""
        return worker_id() if self.drops_root else os.getegid()

    def enter_zygote(self) -> None:
        """In the zygote, first thing after its fork (before it imports anything)."""

    def fork_worker(self) -> tuple[int, int]:
        """Fork a worker: (its pid as the zygote knows it, its pid as the grading process knows it); 0s in it."""
        pid = os.fork()
        return pid, pid

    def confine(self, workspace: view.Workspace, plan: view.View, keep: set[int], processes: int) -> None:
        """In a fresh worker, before any student code: everything this level promises."""
        if self.drops_root:
            _become(self.uid, self.gid)
            limits.die_with_parent()  # a change of user clears the parent-death signal
            syscalls.drop_capabilities()
        if os.geteuid() != 0:
            _cap_user_processes(processes)
        with contextlib.suppress(OSError):
            syscalls.join_new_session_keyring()
        seccomp.install()
        syscalls.close_descriptors(keep)

    def sweep(self, live: set[int]) -> None:
        """In the zygote: kill every process but the ``live`` workers that it adopted as subreaper.

        A process may fork while it is killed, and a chain of them reaches the zygote one link at a time,
        so this goes on until none is left (or for :data:`_SWEEP_SECONDS`).
        """
        deadline = time.monotonic() + _SWEEP_SECONDS
        while time.monotonic() < deadline:
            adopted = _children(os.getpid()) - live
            if not adopted:
                return
            for pid in adopted:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                while os.waitpid(-1, os.WNOHANG)[0] in adopted:
                    pass
            time.sleep(0.002)


class Session(Isolation):
    """The fallback: a process session, a subreaper, rlimits, the system call filter."""


class Namespaces(Isolation):
    """Root: PID, mount, network and IPC namespaces, the allow-listed view, an unused user id."""

    level: ClassVar[str] = "namespaces"
    contained: ClassVar[bool] = True

    @property
    def uid(self) -> int:
        return worker_id()

    @property
    def gid(self) -> int:
        return worker_id()

    def fork_worker(self) -> tuple[int, int]:
        own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        try:
            syscalls.unshare(syscalls.CLONE_NEWPID)  # the next child is PID 1 of a new PID namespace
            pid = os.fork()
        except BaseException:
            os.close(own)
            raise
        if pid == 0:
            os.close(own)
            return 0, 0
        try:
            syscalls.setns(own, syscalls.CLONE_NEWPID)  # later children get a new one again
        finally:
            os.close(own)
        return pid, pid

    def confine(self, workspace: view.Workspace, plan: view.View, keep: set[int], processes: int) -> None:
        syscalls.unshare(_WORKER_NAMESPACES)
        view.build(plan, workspace)
        syscalls.join_new_session_keyring()
        self._become_worker()
        if self.layout.pids is None or not self.layout.pids.usable:
            _cap_user_processes(processes)
        limits.die_with_parent()  # a change of user clears the parent-death signal
        syscalls.drop_capabilities()
        seccomp.install()
        syscalls.close_descriptors(keep)

    def _become_worker(self) -> None:
        _become(self.uid, self.gid)


class UserNamespaces(Namespaces):
    """No root: the zygote is PID 1 of a PID namespace inside its own user namespace; workers as :class:`Namespaces`."""

    level: ClassVar[str] = "userns"

    def enter_zygote(self) -> None:
        """Become PID 1 of a new PID namespace in a new user namespace that maps the grading user to the worker's.

        The process forked as the zygote stays outside as a bare parent: it waits for the new PID 1 (the
        zygote proper) and exits as it does.
        """
        uid, gid = os.geteuid(), os.getegid()
        syscalls.unshare(syscalls.CLONE_NEWUSER | syscalls.CLONE_NEWPID)
        # A process that is not dumpable (see client.Sandbox) may not write its own maps: for that moment only.
        syscalls.set_dumpable(True)
        try:
            Path("/proc/self/setgroups").write_text("deny")
            Path("/proc/self/uid_map").write_text(f"{self.uid} {uid} 1")
            Path("/proc/self/gid_map").write_text(f"{self.gid} {gid} 1")
        finally:
            syscalls.set_dumpable(False)
        pid = os.fork()
        if pid != 0:
            syscalls.close_descriptors(set())
            code = 70
            with contextlib.suppress(ChildProcessError):
                code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            os._exit(code if code >= 0 else 70)
        limits.die_with_parent()

    def fork_worker(self) -> tuple[int, int]:
        # The zygote is PID 1 of its own namespace: the grading process knows the worker by another pid,
        # which the worker reads off this machine's /proc (still mounted here) and hands back.
        reader, writer = os.pipe()
        pid, _ = super().fork_worker()
        if pid == 0:
            os.close(reader)
            os.write(writer, os.readlink("/proc/self").encode())
            os.close(writer)
            return 0, 0
        os.close(writer)
        try:
            host = int(os.read(reader, 32) or b"0")
        finally:
            os.close(reader)
        return pid, host

    def _become_worker(self) -> None:
        """Already the worker's user (the user namespace's only one); the capabilities go next."""

    def sweep(self, live: set[int]) -> None:
        """Nothing to sweep: whatever a worker started ended with its PID namespace."""


def _become(uid: int, gid: int) -> None:
    """As root: become ``uid``/``gid`` with no supplementary group and an empty bounding set."""
    syscalls.drop_bounding_set()  # needs CAP_SETPCAP, which the change of user drops
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


def _cap_user_processes(processes: int) -> None:
    """Without a pids cgroup: let the worker start ``processes`` more than its user runs now (RLIMIT_NPROC)."""
    import resource

    count = len(_tasks_of(os.getuid()))
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NPROC, (count + processes, count + processes))


def _tasks_of(uid: int) -> list[str]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    found += os.listdir(f"/proc/{entry.name}/task")
    return found


def _children(parent: int) -> set[int]:
    found = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
            if int(stat[stat.rindex(b")") + 2 :].split()[1]) == parent:
                found.add(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


_LEVELS: dict[str, type[Isolation]] = {"namespaces": Namespaces, "userns": UserNamespaces, "session": Session}


_forced: list[str] = []


def force(level: str) -> None:
    """Use ``level`` (one of :func:`level_names`) from now on in this process, instead of probing."""
    if level not in _LEVELS:
        raise ValueError(f"unknown isolation level {level!r}")
    _forced[:] = [level]


def choose() -> Isolation:
    """The strongest level this machine allows (or the one :func:`force` set), probed once per process."""
    return _choose(_forced[0] if _forced else None)


@functools.cache
def _choose(forced: str | None) -> Isolation:
    """The probe forks a throwaway process that goes through the whole set-up twice (the zygote's way back to
    its own PID namespace included); only its success counts, since being root is not enough (a container
    may forbid namespaces) and a user namespace may be allowed yet powerless (AppArmor's restriction).
    """
    layout = cgroups.delegate(cgroups.detect())
    if forced is not None:
        drops = forced == "session" and os.geteuid() == 0 and not _probe_worker_user()
        return _LEVELS[forced](layout, "chosen with --isolation" if forced == "session" else "", drops)
    if os.name != "posix" or os.uname().sysname != "Linux":
        return Session(layout, "not Linux")
    if os.geteuid() == 0:
        failure = _probe(Namespaces(layout))
        if not failure:
            return Namespaces(layout)
        refused = _probe_worker_user()
        reason = f"namespaces failed as root: {failure}" + (f"; {refused}" if refused else "")
        return Session(layout, reason, drops_root=not refused)
    failure = _probe(UserNamespaces(layout))
    return UserNamespaces(layout, "not root") if not failure else Session(layout, _userns_refusal(failure))


def _userns_refusal(failure: str) -> str:
    """Why user namespaces cannot be used, in the words of the setting that forbids them where one does."""
    settings = (
        ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1", "restricted by AppArmor"),
        ("/proc/sys/kernel/unprivileged_userns_clone", "0", "disabled"),
        ("/proc/sys/user/max_user_namespaces", "0", "disabled"),
    )
    for path, value, what in settings:
        with contextlib.suppress(OSError):
            if Path(path).read_text().strip() == value:
                name = path.removeprefix("/proc/sys/").replace("/", ".")
                return f"unprivileged user namespaces are {what} ({name} = {value})"
    return f"user namespaces failed: {failure}"


def _report_and_exit(attempt: Callable[[], None], writer: int) -> NoReturn:
    """In a forked child: run ``attempt``, write what it raised to ``writer``, exit 0 when it returned, else 1."""
    code = 1
    try:
        attempt()
        code = 0
    except BaseException as exc:
        os.write(writer, f"{exc}".encode()[:500])
    finally:
        os._exit(code)


def _in_child(attempt: Callable[[int], None]) -> tuple[int, str]:
    """Run ``attempt(writer)`` in a throwaway child: its exit status and what it (or a child of its that was
    handed ``writer``) said went wrong."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        _report_and_exit(lambda: attempt(writer), writer)
    os.close(writer)
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    with os.fdopen(reader, "rb") as handle:
        return status, handle.read().decode(errors="replace")


def _probe_worker_user() -> str:
    """As root: "" when the worker's unused user id can run this interpreter (read its folders), else why not."""

    def attempt(_writer: int) -> None:
        try:
            _become(worker_id(), worker_id())
            for path in [p for p in sys.path if p and os.path.isdir(p)]:
                os.listdir(path)
            os.stat(sys.executable)
        except OSError as exc:
            raise OSError(f"user {worker_id()} cannot read {exc.filename}: {exc.strerror}") from None

    status, said = _in_child(attempt)
    return "" if status == 0 else said or "a process of the worker's user could not start"


def _probe(isolation: Isolation) -> str:
    """Try ``isolation``'s whole set-up in a throwaway process: "" when it worked, else what failed."""
    base = tempfile.mkdtemp(prefix="grader-probe-")
    os.chmod(base, 0o755)
    for name in ("source", "view", "home"):
        os.mkdir(os.path.join(base, name))
    workspace = view.Workspace(
        root=os.path.join(base, "submission"),
        home=os.path.join(base, "home"),
        source=os.path.join(base, "source"),
        read=(),
        mountpoint=os.path.join(base, "view"),
        size_mb=1,
        uid=isolation.uid,
        gid=isolation.gid,
    )

    def zygote(writer: int) -> None:
        isolation.enter_zygote()
        for _ in range(2):
            worker, _ = isolation.fork_worker()
            if worker == 0:
                _report_and_exit(lambda: isolation.confine(workspace, view.plan(), {writer}, 8), writer)
            if os.waitstatus_to_exitcode(os.waitpid(worker, 0)[1]) != 0:
                os._exit(1)  # the worker said why

    status, said = _in_child(zygote)
    shutil.rmtree(base, ignore_errors=True)
    if status == 0:
        return ""
    return said or f"the set-up process ended with status {status}"


def level_names() -> tuple[str, ...]:
    """The levels :func:`choose` may be forced to, strongest first."""
    return tuple(_LEVELS)
