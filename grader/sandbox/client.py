"""The trusted side of the boundary: the only code that talks to a worker.

:class:`Sandbox` owns the zygote. :class:`Session` is a connection to one
submission (the checks of one step share it, each starting from a fresh random
state and without the objects earlier checks were handed): it forks a worker on
first use, sends requests, enforces the call's time budget and the memory limit
while waiting, and turns every answer into plain data, :class:`RemoteObject`
handles, or a :class:`SubmissionError`. After a fatal error (timeout, crash,
memory) the session stays failed: every later call in the same check raises the
same error at once, and the next check gets a fresh session and worker.
:class:`Hangs` remembers what already ran out of time, so that code which hangs
costs one time budget, not one per check that calls it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import select
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from grader.errors import (
    ImportFailure,
    MemoryLimit,
    ProtocolViolation,
    StudentError,
    SubmissionError,
    Timeout,
    WorkerCrashed,
)
from grader.sandbox import cgroups, printed, syscalls, view, wire, zygote
from grader.sandbox.isolation import Isolation, choose
from grader.sandbox.limits import Limits

_TICK = 0.05
#: What hangs of probes that were given no student object are charged to (see Hangs).
PROBES = "the grader's helpers in the worker"
#: Time an answer that has begun to arrive may take to arrive whole, beyond the call's budget.
_TRANSFER_SECONDS = 5.0
#: Time a worker that ran out of time has to say what it is running before it is killed.
_WHERE_SECONDS = 1.0
#: What a hang's "where" answer may name: a function's qualified name (``HandWrite.__len__``,
#: ``f.<locals>.<lambda>``) and a path inside the submission.
_QUALNAME = re.compile(r"[\w.<>]{1,100}")
_SUBMISSION_FILE = re.compile(r"(?!/)[\w./ -]{1,100}")
_PAGE = os.sysconf("SC_PAGE_SIZE")


class Sandbox:
    """Owns the zygote; create it before running any torch op in this process.

    The zygote imports ``preload`` and ``deferred`` itself (in parallel with this
    process's own start-up) before it forks the first worker. When some of
    ``deferred`` (slow imports the first checks do not need) is not imported yet,
    a second zygote without it serves the first workers until the first is ready.
    ``isolation`` is chosen once per process (:func:`grader.sandbox.isolation.choose`);
    student code never sees anything inside ``forbid`` (the batch's folders, hidden checks).
    """

    def __init__(
        self,
        limits: Limits | None = None,
        probe_modules: tuple[str, ...] = (),
        isolation: Isolation | None = None,
        preload: tuple[str, ...] = (),
        deferred: tuple[str, ...] = (),
        forbid: tuple[Path, ...] = (),
        cuda: bool = False,
    ) -> None:
        self.limits = limits or Limits()
        self.probe_modules = probe_modules
        self.isolation = isolation or choose()
        # Other processes of the grading user (student code too, where it runs as that user) may not read
        # this one's memory or /proc files: its environment, the checks' secrets.
        syscalls.set_dumpable(False)
        cgroups.remove_stale(self.isolation.layout)
        self._view = view.plan(forbid, cuda).to_dict() if self.isolation.contained else {}
        tag = f"{os.getpid()}-{secrets.token_hex(3)}"
        self._zygote = zygote.Link(self.isolation, tag + "f", preload + deferred + probe_modules)
        self._early: zygote.Link | None = None
        if any(name not in sys.modules for name in deferred):
            self._early = zygote.Link(self.isolation, tag + "e", preload + probe_modules)
        self._early_used = False

    def spawn(
        self,
        root: Path,
        home: Path,
        read: tuple[Path, ...] = (),
        seed: int = 0,
        early: bool = False,
        ahead: bool = True,
    ) -> _WorkerProcess:
        """A fresh worker serving the submission copy at ``root``; it may write ``root`` and ``home``, read ``read``.

        ``home`` must be an empty folder. ``early``: the caller needs none of the deferred imports, so a
        worker without them will do while the zygote that has them is still importing. ``ahead``: have the
        zygote fork the next worker for the same submission now (False when no other will be asked for).
        """
        env = {
            "HOME": str(home),
            "TMPDIR": "/tmp" if self.isolation.contained else str(home),
            "USER": view.USER,
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "OMP_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONBREAKPOINT": "0",
            # Deterministic cuBLAS (a GPU run then gives the same numbers every time).
            "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
        }
        if "CUDA_VISIBLE_DEVICES" in os.environ:
            env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
        message = {
            "op": "spawn",
            "root": str(root),
            "home": str(home),
            "env": env,
            "seed": seed,
            "probe_modules": list(self.probe_modules),
            "limits": self.limits.to_dict(),
            "read": [str(path) for path in read],
            "view": self._view,
        }
        link = self._link(early)
        reply, fds = link.spawn(message, ahead)
        return _WorkerProcess(
            self,
            link,
            reply["pid"],
            socket.socket(fileno=fds[0]),
            fds[1],
            reply["memory_enforced"],
        )

    def _link(self, early: bool) -> zygote.Link:
        """The zygote to fork from: the full one, or, for an ``early`` caller, the early one until it is ready."""
        if self._early is None or not early or self._zygote.ready():
            if self._early_used:
                self._early.drop_spare()
                self._early_used = False
            return self._zygote
        self._early_used = True
        return self._early

    def close(self) -> None:
        """Stop the zygotes; they kill any worker still alive."""
        self._zygote.close()
        if self._early is not None:
            self._early.close()


class _WorkerProcess:
    def __init__(
        self,
        sandbox: Sandbox,
        link: zygote.Link,
        pid: int,
        sock: socket.socket,
        out_fd: int,
        memory_enforced: bool,
    ) -> None:
        self.sandbox = sandbox
        self.link = link
        self.pid = pid
        self.memory_enforced = memory_enforced
        self.reaped = False
        self.sock = sock
        self.out_fd = out_fd
        os.set_blocking(out_fd, False)
        self.output = bytearray()
        self.dropped = 0
        self.alive = True

    def exchange(
        self,
        request: dict[str, Any],
        args_blobs: list[bytes],
        label: str,
        budget: float,
        on_wait: Callable[[float], None] | None = None,
    ) -> tuple[Any, list[bytes]]:
        """Send a request and wait for its answer, enforcing budget and memory.

        Sending has the call's budget too: a worker that stops reading its channel (or peeks at requests
        without taking them) would otherwise block the grader once the socket's buffer is full. ``on_wait``
        is told the seconds the call has run, every tick while it runs.
        """
        started = time.monotonic()
        deadline = started + budget
        self.sock.settimeout(budget)
        try:
            wire.send(self.sock, request, args_blobs)
        except TimeoutError as exc:
            raise self._timed_out(label, budget) from exc
        except OSError as exc:
            raise self._ended(label) from exc
        finally:
            self.sock.settimeout(None)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timed_out(label, budget, self._running())
            ready, _, _ = select.select([self.sock, self.out_fd], [], [], min(_TICK, remaining))
            if self.out_fd in ready:
                self.drain()
            if self.sock in ready:
                break
            self._watch_memory(label)
            if on_wait is not None:
                on_wait(time.monotonic() - started)
        # The answer has begun: it must be whole within the budget (and a few seconds to move a large one),
        # however slowly its bytes come; memory is still watched while it comes.
        arrival = max(deadline, time.monotonic() + _TRANSFER_SECONDS)
        try:
            return wire.recv(self.sock, deadline=arrival, tick=_TICK, on_wait=lambda: self._watch_memory(label))
        except TimeoutError as exc:
            raise self._timed_out(label, budget) from exc
        except (EOFError, ConnectionError) as exc:
            raise self._ended(label) from exc
        except (wire.WireError, ValueError) as exc:
            self.kill()
            raise ProtocolViolation(f"the worker sent malformed data while running {label}: {exc}") from exc
        finally:
            self.sock.settimeout(None)
            self.drain()

    def _watch_memory(self, label: str) -> None:
        """Where no memory cgroup holds the worker: kill it once it and what it started use too much."""
        contained = self.sandbox.isolation.contained
        if not self.memory_enforced and _memory_of(self.pid, contained) > self.sandbox.limits.memory_mb * 1024 * 1024:
            self.kill()
            raise MemoryLimit(f"{label} used more than {self.sandbox.limits.memory_mb} MB of memory")

    def _final_status(self) -> dict[str, Any]:
        """Kill the worker and ask the zygote how it ended (empty when it was not reaped within 2 s)."""
        self.kill()
        status = self.link.wait(self.pid, 2.0)
        self.reaped = status is not None
        return status or {}

    def _running(self) -> str:
        """Which function of the submission the worker is running, as it says when asked (``HandWrite.__len__
        (data.py line 42)``), or "" when it does not say so within a second. Untrusted: only shown."""
        if not self.alive:
            return ""
        try:
            os.kill(self.pid, wire.WHERE_SIGNAL)
            header, _ = wire.recv(self.sock, wire.WHERE_CAPS, deadline=time.monotonic() + _WHERE_SECONDS)
        except (OSError, EOFError, wire.WireError):  # TimeoutError is an OSError
            return ""
        finally:
            self.sock.settimeout(None)
        where = header.get("running") if type(header) is dict else None
        if type(where) is not dict:
            return ""
        function, file, line = where.get("function"), where.get("file"), where.get("line")
        if type(function) is not str or type(file) is not str or type(line) is not int or not 0 < line < 10**7:
            return ""
        # The worker's word, shown in a message only: a qualified name and a file of the submission, or nothing
        # (a rewritten code object could otherwise name the grader's files or write lines of its own).
        if not _QUALNAME.fullmatch(function) or not _SUBMISSION_FILE.fullmatch(file) or ".." in file.split("/"):
            return ""
        return f"{function} ({file} line {line})"

    def _timed_out(self, label: str, budget: float, running: str = "") -> SubmissionError:
        """The error for a call that ran out of time: a memory error if it was stuck at the memory limit.

        At the limit the kernel first reclaims (and swaps, where there is swap) before its OOM killer acts,
        so code that allocates without end can run out of time there instead of being killed. ``running``:
        the function of the submission the worker said it was running then.
        """
        status = self._final_status()
        # Without a memory cgroup the zygote cannot know; polling would have caught the limit instead.
        if self.memory_enforced and status.get("at_memory_limit"):
            return MemoryLimit(
                f"{label} reached the {self.sandbox.limits.memory_mb} MB memory limit and did not finish "
                f"within {budget:g} s"
            )
        if running:
            return Timeout(
                f"{label} did not finish within {budget:g} s: {running} was still running (an infinite loop, "
                "or far too slow)"
            )
        return Timeout(f"{label} did not finish within {budget:g} s (an infinite loop, or far too slow)")

    def _ended(self, label: str) -> SubmissionError:
        status = self._final_status()
        if status.get("oom"):
            return MemoryLimit(f"{label} used more than {self.sandbox.limits.memory_mb} MB of memory")
        if status.get("signal_name") == "SIGXCPU":
            return Timeout(f"{label} used up its CPU time limit")
        if "signal_name" in status:
            return WorkerCrashed(
                f"the process running your code crashed with {status['signal_name']} while running {label}"
            )
        code = status.get("exit_code", "unknown")
        return WorkerCrashed(
            f"the process running your code exited (exit code {code}) while running {label}: "
            "os._exit, sys.exit in a thread, or a crash"
        )

    def drain(self) -> None:
        """Read what the worker printed so far (within the output cap)."""
        cap = self.sandbox.limits.output_kb * 1024
        while True:
            try:
                chunk = os.read(self.out_fd, 1 << 16)
            except (BlockingIOError, OSError):
                return
            if not chunk:
                return
            room = max(cap - len(self.output), 0)
            self.output += chunk[:room]
            self.dropped += len(chunk) - min(room, len(chunk))

    def kill(self) -> None:
        """Kill the worker and everything in its session."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            self.alive = False

    def close(self) -> None:
        """Kill the worker and release its resources (the zygote reaps it in the background)."""
        self.kill()
        self.drain()
        self.sock.close()
        os.close(self.out_fd)
        if not self.reaped:
            self.link.release(self.pid)
            self.reaped = True


def _memory_of(worker: int, contained: bool = False) -> int:
    """Memory of the worker and whatever it started: its session and its descendants (orphans that left the
    session are its children too: it is a child subreaper, and PID 1 of its namespace where it has one), plus,
    with namespaces, what its files take on its own tmpfs. Proportional set size where it can be read, so that
    the pages all forks share with the zygote count once, not once per process; else resident size.
    """
    parents: dict[int, int] = {}
    members = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
            fields = stat[stat.rindex(b")") + 2 :].split()
        except (OSError, ValueError):
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        if int(fields[3]) == worker:
            members.add(pid)
    changed = True
    while changed:
        grown = {pid for pid, parent in parents.items() if parent in members or pid == worker}
        changed = not grown <= members
        members |= grown
    files = 0
    if contained:  # the worker's /tmp, home, /dev/shm and copy share one tmpfs; what is stored there is memory
        with contextlib.suppress(OSError):
            stats = os.statvfs(f"/proc/{worker}/root/tmp")
            files = (stats.f_blocks - stats.f_bfree) * stats.f_frsize
    return files + sum(_proportional(pid) for pid in members)


def _proportional(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


class RemoteObject:
    """A handle to an object that lives in the worker.

    Attribute access, calls, ``len`` and indexing are forwarded; results come
    back as plain data or further handles.
    """

    __slots__ = ("_id", "_session", "kind", "label", "origin", "type_name")

    def __init__(
        self, session: Session, ident: int, type_name: str, label: str, origin: str | None, kind: str | None = None
    ) -> None:
        self._session = session
        self._id = ident
        self.type_name = type_name
        self.label = label
        #: The student module this object came from.
        self.origin = origin
        #: What the object is, the same in every check: ``data`` (a module), ``data.split_dataset`` (what
        #: was looked up on one), else its type (``data.TitanicDataset`` for an instance). Names what hung.
        self.kind = kind or type_name

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._session.request("getattr", f"{self.label}.{name}", target=self, name=name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.request("call", f"{self.label}()", target=self, args=list(args), kwargs=kwargs)

    def __getitem__(self, key: Any) -> Any:
        return self._session.request("getitem", f"{self.label}[{key!r}]", target=self, key=key)

    def __len__(self) -> int:
        value = self._session.request("len", f"len({self.label})", target=self)
        if type(value) is not int or value < 0:
            raise StudentError(["TypeError"], f"len() gave {value!r}, not a non-negative int", "", "")
        return value

    def __repr__(self) -> str:
        return f"<{self.type_name} in the worker: {self.label}>"


class Watcher(Protocol):
    """Watches the calls of a session as they run (:class:`grader.progress.Indicator`)."""

    def waiting(self, seconds: float) -> None:
        """The current call has run ``seconds`` so far."""

    def done(self) -> None:
        """The current call ended."""


class Session:
    """A connection to one submission: one worker, started lazily, failed for good after a fatal error."""

    def __init__(
        self,
        sandbox: Sandbox,
        root: Path,
        home: Path,
        read: tuple[Path, ...] = (),
        seed: int = 0,
        hangs: Hangs | None = None,
        early: bool = False,
        ahead: bool = True,
    ) -> None:
        self._sandbox = sandbox
        # What already ran out of time, shared by all sessions of one submission.
        self._hangs = Hangs() if hangs is None else hangs
        self._root = root
        self._home = home
        self._read = read
        self._seed = seed
        #: The check needs none of the sandbox's deferred imports (see Sandbox.spawn).
        self._early = early
        #: Another session of this submission may follow (see Sandbox.spawn).
        self._ahead = ahead
        self._worker: _WorkerProcess | None = None
        self._budget = sandbox.limits.call_seconds
        self._modules: dict[str, RemoteObject] = {}
        self.fatal: SubmissionError | None = None
        self._output_from = (0, 0)
        self._reseed = False
        #: Told how long each call runs (a terminal's "running ..." line), when set.
        self.watcher: Watcher | None = None

    def begin_check(self) -> None:
        """A new check starts using this session: :attr:`output` shows what is printed from now on.

        The worker reseeds its random generators before the check's first request, so the check sees the
        same random state as in a fresh worker, whatever ran before it.
        """
        self._reseed = True
        if self._worker is not None:
            self._worker.drain()
            self._output_from = (len(self._worker.output), self._worker.dropped)

    @property
    def output(self) -> str:
        """What the student's code printed since :meth:`begin_check`, fit to show (see :mod:`.printed`): its
        end, without terminal controls; what went past the session's cap is counted, not kept."""
        if self._worker is None:
            return ""
        kept, dropped = self._output_from
        text = printed.tail(self._worker.output[kept:].decode("utf-8", "replace"))
        if self._worker.dropped > dropped:
            text += f"\n[... {self._worker.dropped - dropped:,} more bytes of output dropped]"
        return text

    @contextlib.contextmanager
    def budget(self, seconds: float) -> Iterator[None]:
        """Give the calls inside the block ``seconds`` each instead of the default budget."""
        previous, self._budget = self._budget, seconds
        try:
            yield
        finally:
            self._budget = previous

    def module(self, name: str) -> RemoteObject:
        """Import a student module (``data``, ``model``...) in the worker."""
        if name not in self._modules:
            try:
                handle = self.request("import", f"importing {name}.py", module=name, handle_label=name)
            except StudentError as exc:
                raise ImportFailure(name, exc) from exc
            self._modules[name] = handle
        return self._modules[name]

    def probe(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run grader-owned helper ``module:function`` inside the worker (for objects that must live there)."""
        return self.request("probe", name.partition(":")[2], name=name, args=list(args), kwargs=kwargs)

    def request(self, op: str, label: str, handle_label: str | None = None, **fields: Any) -> Any:
        """Send one request; decode the answer or raise the matching :class:`SubmissionError`.

        ``label`` names the call in messages; handles in the answer are labelled
        ``handle_label`` (default: ``label``).
        """
        if self.fatal is not None:
            raise self.fatal
        origin, entry = _origin(op, fields), _entry(op, fields)
        earlier = self._hangs.earlier(origin, entry)
        if earlier is not None:
            self.fatal = Timeout(f"{label} was not run: {earlier}")
            raise self.fatal
        encoder = wire.Encoder(self._refuse_foreign)
        request = {"op": op}
        for key, value in fields.items():
            request[key] = value if key in ("name", "module") else encoder.encode(value)
        worker = self._ensure_worker()
        if self._reseed:
            # A new check: the worker starts from a fresh random state and forgets the objects earlier
            # checks were handed (all but the imported modules), so its heap does not grow check by check.
            request["seed"] = self._seed
            request["keep"] = [module._id for module in self._modules.values()]
            self._reseed = False
        watcher = self.watcher
        try:
            on_wait = watcher.waiting if watcher is not None else None
            header, blobs = worker.exchange(request, encoder.blobs, label, self._budget, on_wait)
            return self._decode(header, blobs, label, handle_label or label, origin, _kind(op, fields))
        except SubmissionError as exc:
            if exc.fatal:
                self.fatal = exc
            if isinstance(exc, Timeout) and origin is not None:
                self._hangs.record(origin, entry, str(exc))
            raise
        finally:
            if watcher is not None:
                watcher.done()

    def _decode(
        self, header: Any, blobs: list[bytes], label: str, handle_label: str, origin: str | None, kind: str | None
    ) -> Any:
        if type(header) is not dict or len(header) != 1:
            raise ProtocolViolation(f"the worker sent a malformed answer while running {label}")
        decoder = wire.Decoder(blobs, lambda ref: RemoteObject(self, ref.id, ref.type, handle_label, origin, kind))
        if "ok" in header:
            try:
                return decoder.decode(header["ok"])
            except wire.WireError as exc:
                raise ProtocolViolation(f"{label} returned data that cannot be read: {exc}") from exc
        error = header.get("error")
        if type(error) is not dict:
            raise ProtocolViolation(f"the worker sent a malformed answer while running {label}")
        types, message = error.get("types"), error.get("message")
        where, trace = error.get("where"), error.get("traceback")
        if (
            type(types) is not list
            or not types
            or any(type(t) is not str for t in types)
            or type(message) is not str
            or type(where) is not str
            or type(trace) is not str
        ):
            raise ProtocolViolation(f"the worker sent a malformed error while running {label}")
        if "MemoryError" in types and self._worker is not None and not self._worker.memory_enforced:
            # Without a memory cgroup the kernel's cap is per process (RLIMIT_DATA): allocation fails there.
            self._worker.kill()
            limit = self._sandbox.limits.memory_mb
            raise MemoryLimit(f"{label} used more than {limit} MB of memory (an allocation was refused)")
        return _raise(
            StudentError(
                [_text(t[:200]) for t in types[:20]], _text(message[:2000]), _text(where[:200]), _text(trace[:20_000])
            )
        )

    def _refuse_foreign(self, value: Any) -> dict[str, Any]:
        if isinstance(value, RemoteObject) and value._session is self:
            return {"$h": value._id, "type": value.type_name}
        raise TypeError(f"cannot send {type(value).__name__} to the worker")

    def _ensure_worker(self) -> _WorkerProcess:
        if self._worker is None:
            self._worker = self._sandbox.spawn(self._root, self._home, self._read, self._seed, self._early, self._ahead)
        return self._worker

    def close(self) -> None:
        """End the worker (and everything it started)."""
        if self._worker is not None:
            self._worker.close()


def _text(value: str) -> str:
    """``value`` (the worker's words) as text any reporter can write and any terminal can show: a lone surrogate
    (invalid UTF-8) becomes its escape; escape sequences and control characters go (see printed.plain)."""
    return printed.plain(value.encode("utf-8", "backslashreplace").decode("utf-8"))


def _raise(error: SubmissionError) -> Any:
    raise error


class Hangs:
    """What ran out of time in one submission's grading, shared by the sessions (and so the checks) of it.

    A call into code that already hung once fails at once instead of waiting out another budget: the same
    entry (``data.TitanicDataset()``, ``len(data.TitanicDataset)``, a probe over one) in a later check, or any
    call into a module that hung at import. Other calls into the same module still run, so a hang costs
    points only in the checks that need the code that hangs. After ``per_module`` different entries of one
    module hung, the module as a whole counts as hung: a submission that hangs everywhere costs a few budgets
    per module, not one per check.
    """

    def __init__(self, per_module: int = 3) -> None:
        self._per_module = per_module
        #: What each entry's timeout said, by (module, entry).
        self._entries: dict[tuple[str, str], str] = {}
        #: The entries of each module that hung, in order.
        self._modules: dict[str, list[str]] = {}

    def earlier(self, module: str | None, entry: str) -> str | None:
        """Why a call of ``entry`` (into ``module``) is not run, or None when it should be."""
        if module is None:
            return None
        said = self._entries.get((module, entry))
        if said is not None:
            return f"the same code already ran out of time in an earlier check ({said})"
        hung = self._modules.get(module, [])
        first = f"import {module}" if f"import {module}" in hung else (hung[0] if hung else None)
        if first is not None and (first.startswith("import ") or len(hung) >= self._per_module):
            what = module if module == PROBES else f"{module}.py"
            return f"{what} already ran out of time in an earlier check ({self._entries[(module, first)]})"
        return None

    def record(self, module: str, entry: str, message: str) -> None:
        """``entry``, a call into ``module``, ran out of time with ``message``."""
        if (module, entry) not in self._entries:
            self._entries[(module, entry)] = message
            self._modules.setdefault(module, []).append(entry)


def _entry(op: str, fields: dict[str, Any]) -> str:
    """The student code a request runs, named the same way in every check (see :class:`Hangs`)."""
    target = fields.get("target")
    what = f"{target.kind}:{target.type_name}" if isinstance(target, RemoteObject) else ""
    if op == "import":
        return f"import {fields['module']}"
    if op == "getattr":
        return f"{what}.{fields['name']}"
    if op == "probe":
        arguments = [*fields.get("args", ()), *fields.get("kwargs", {}).values()]
        kinds = ", ".join(arg.kind for arg in arguments if isinstance(arg, RemoteObject))
        return f"{fields['name']}({kinds})"
    return f"{op} {what}"


def _kind(op: str, fields: dict[str, Any]) -> str | None:
    """The :attr:`RemoteObject.kind` of what a request returns: None (its type) but for imports and lookups."""
    target = fields.get("target")
    if op == "import":
        return str(fields["module"])
    if op == "getattr" and isinstance(target, RemoteObject):
        return f"{target.kind}.{fields['name']}"
    return None


def _origin(op: str, fields: dict[str, Any]) -> str | None:
    """The student module a request runs code of: the target's, the imported one, or a probe argument's."""
    if op == "import":
        return str(fields["module"])
    target = fields.get("target")
    if isinstance(target, RemoteObject):
        return target.origin
    arguments = [*fields.get("args", ()), *fields.get("kwargs", {}).values()]
    found = next((arg.origin for arg in arguments if isinstance(arg, RemoteObject) and arg.origin), None)
    # A probe given no student object runs only the grader's helpers, which student code may have replaced
    # (with a loop, say): their hangs are remembered as a module's are, not paid again in every check.
    return found if found is not None or op != "probe" else PROBES
