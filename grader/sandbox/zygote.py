"""The fork server: one process, forked before any torch op, that forks every worker.

The trusted process imports torch (and what student code commonly imports)
once, forks this zygote at once, before it runs any torch op and before it
loads any check, and from then on asks the zygote for workers. Each worker is a
fork of an idle, already-imported interpreter: no second ``import torch``, and
no OpenMP state to hang on. The zygote adopts orphans (child subreaper), reaps
every child and tells the trusted process how each worker ended.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
import time
from typing import Any

from grader.errors import GraderError
from grader.sandbox import isolation, limits
from grader.sandbox.worker import WorkerSpec, child_main

_MESSAGE_BYTES = 1 << 16
#: The zygote's first message: its imports are done.
_READY = b'{"ready": true}'
#: The trusted process's ends of every zygote's control socket.
_CONTROLS: set[socket.socket] = set()


def start(preload: tuple[str, ...] = ()) -> tuple[int, socket.socket]:
    """Fork the zygote; returns its pid and the control socket.

    The zygote imports ``preload`` itself, after the fork, so that this work runs in
    parallel with the caller's own start-up; then it says it is ready (see :meth:`Link.ready`).
    """
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        # A process forked after CUDA is initialised cannot use it: workers need a zygote without it.
        raise GraderError("CUDA was initialised in the grading process before the zygote was started")
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        ours.close()
        # Another zygote's control socket must not live on here (or in our workers): that zygote
        # would never see it closed, and student code could talk to it.
        for other in _CONTROLS:
            other.close()
        code = 0
        gc.disable()
        try:
            for name in preload:
                importlib.import_module(name)
            # Objects that exist now are never collected; keeps the collector from touching (and so
            # copying) every inherited page in each forked worker. The collector was off for the imports
            # when the caller had it off; student code runs with it on.
            gc.freeze()
            gc.enable()
            theirs.sendall(_READY)
            _Zygote(theirs).serve()
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    theirs.close()
    _CONTROLS.add(ours)
    return pid, ours


def send(control: socket.socket, message: dict[str, Any]) -> None:
    """Send one control message (``spawn`` and ``wait`` are answered, ``release`` is not)."""
    control.sendall(json.dumps(message).encode())


def receive(control: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """Read the next reply (and any file descriptors); replies come in the order of the requests."""
    data, fds, _flags, _addr = socket.recv_fds(control, _MESSAGE_BYTES, 4)
    if not data:
        raise EOFError("the zygote is gone")
    return json.loads(data), fds


class Link:
    """The trusted side's end of one zygote: spawn (one worker forked ahead), release, wait, close."""

    def __init__(self, preload: tuple[str, ...]) -> None:
        self.pid, self.control = start(preload)
        self._ready = False
        self._ahead: dict[str, Any] | None = None
        self._spare: tuple[dict[str, Any], dict[str, Any], list[int]] | None = None

    def ready(self, block: bool = False) -> bool:
        """Whether the zygote has finished its imports (waiting for that when ``block``)."""
        if not self._ready and (block or select.select([self.control], [], [], 0)[0]):
            reply, _ = receive(self.control)
            if reply != json.loads(_READY):
                raise EOFError(f"the zygote said {reply!r} instead of being ready")
            self._ready = True
        return self._ready

    def spawn(self, message: dict[str, Any], ahead: bool = True) -> tuple[dict[str, Any], list[int]]:
        """A worker for ``message``; with ``ahead``, the zygote forks the next one now, while the check runs."""
        self.ready(block=True)
        self._collect()
        spare, self._spare = self._spare, None
        if spare is not None and spare[0] == message:
            reply, fds = spare[1], spare[2]
        else:
            if spare is not None:
                self._discard(spare)
            send(self.control, message)
            reply, fds = receive(self.control)
        if ahead:
            send(self.control, message)
            self._ahead = message
        return reply, fds

    def _collect(self) -> None:
        """Read the reply of a spawn sent ahead, so that the next reply read is the one asked for."""
        if self._ahead is not None:
            reply, fds = receive(self.control)
            self._spare = (self._ahead, reply, fds)
            self._ahead = None

    def _discard(self, spare: tuple[dict[str, Any], dict[str, Any], list[int]]) -> None:
        for fd in spare[2]:
            os.close(fd)
        self.release(spare[1]["pid"])

    def release(self, pid: int) -> None:
        """Kill worker ``pid``; the zygote reaps it and removes its cgroups in the background."""
        send(self.control, {"op": "release", "pid": pid})

    def drop_spare(self) -> None:
        """Kill the worker forked ahead (this zygote will not be asked for another)."""
        self._collect()
        if self._spare is not None:
            self._discard(self._spare)
            self._spare = None

    def wait(self, pid: int, timeout: float) -> dict[str, Any] | None:
        """How worker ``pid`` ended (after it was killed or exited); None if still running."""
        self._collect()
        send(self.control, {"op": "wait", "pid": pid, "timeout": timeout})
        reply, _ = receive(self.control)
        return reply["status"]

    def close(self) -> None:
        """Stop the zygote; it kills any worker still alive."""
        with contextlib.suppress(EOFError, OSError):
            self.drop_spare()
        _CONTROLS.discard(self.control)
        self.control.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


class _Zygote:
    def __init__(self, control: socket.socket) -> None:
        self._pid = os.getpid()
        self._control = control
        self._workers: dict[int, _Record] = {}
        self._count = 0

    def serve(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        limits.name_process("grader-zygote")
        limits.become_subreaper()
        limits.die_with_parent()
        while True:
            data = self._control.recv(_MESSAGE_BYTES)
            if not data:
                self._kill_all()
                return
            message = json.loads(data)
            self._reap()
            if message["op"] == "spawn":
                self._spawn(message)
            elif message["op"] == "release":
                self._release(message["pid"])
            elif message["op"] == "wait":
                status = self._wait(message["pid"], message["timeout"])
                self._control.sendall(json.dumps({"status": status}).encode())

    def _spawn(self, message: dict[str, Any]) -> None:
        spec = WorkerSpec(
            root=message["root"],
            home=message["home"],
            probe_modules=tuple(message["probe_modules"]),
            env=message["env"],
            limits=limits.Limits(**message["limits"]),
            seed=message["seed"],
            isolate=message["isolate"],
            keep=tuple(message["keep"]),
            read=tuple(message["read"]),
            hide=tuple(message["hide"]),
        )
        self._count += 1
        cgroups = isolation.Cgroups(())
        if spec.isolate:
            cgroups = isolation.Cgroups.create(
                f"grader-{os.getpid()}-{self._count}", spec.limits.memory_mb, spec.limits.processes
            )
        ours, theirs = socket.socketpair()
        out_read, out_write = os.pipe()
        # One fork: the child is PID 1 of a new PID namespace (see isolation.new_pid_namespace).
        own = isolation.new_pid_namespace() if spec.isolate else None
        try:
            pid = os.fork()
            if pid == 0:
                if own is not None:
                    os.close(own)
                self._control.close()
                ours.close()
                os.close(out_read)
                os._exit(_launch(spec, cgroups, theirs, out_write))
        finally:
            if own is not None and os.getpid() == self._pid:
                isolation.back_to_pid_namespace(own)
        theirs.close()
        os.close(out_write)
        self._workers[pid] = _Record(pid, cgroups)
        payload = json.dumps({"pid": pid, "memory_enforced": cgroups.limits_memory}).encode()
        socket.send_fds(self._control, [payload], [ours.fileno(), out_read])
        ours.close()
        os.close(out_read)

    def _release(self, pid: int) -> None:
        """Kill a worker whose end nobody will ask about; it is reaped and cleaned up later."""
        record = self._workers.get(pid)
        if record is not None:
            record.released = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(record.pid, signal.SIGKILL)
        self._kill_orphans()

    def _kill_orphans(self) -> None:
        """Kill adopted descendants of ended workers (they left their session, e.g. with setsid).

        Without namespaces this is what catches a double-forked daemon: as a child subreaper
        the zygote adopts it when its parent exits.
        """
        mine = str(os.getpid())
        live = {str(pid) for pid, record in self._workers.items() if record.status is None}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or entry.name in live:
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as handle:
                    stat = handle.read()
                parent = stat[stat.rindex(b")") + 2 :].split()[1].decode()
            except (OSError, ValueError, IndexError):
                continue
            if parent == mine:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(entry.name), signal.SIGKILL)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            record = self._workers.get(pid)
            if record is not None and record.status is None:
                record.status = record.finish(status)
                if record.released:
                    del self._workers[pid]

    def _wait(self, pid: int, timeout: float) -> dict[str, Any] | None:
        self._kill_orphans()
        deadline = time.monotonic() + timeout
        record = self._workers.get(pid)
        if record is None:
            return None
        while True:
            self._reap()
            if record.status is not None:
                del self._workers[pid]
                return record.status
            if time.monotonic() > deadline:
                return None
            time.sleep(0.005)

    def _kill_all(self) -> None:
        for record in self._workers.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(record.pid, signal.SIGKILL)
        deadline = time.monotonic() + 2
        while any(r.status is None for r in self._workers.values()) and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.005)


class _Record:
    """A worker as the zygote tracks it: its pid, its cgroups, how it ended."""

    def __init__(self, pid: int, cgroups: isolation.Cgroups) -> None:
        self.pid = pid
        self.cgroups = cgroups
        self.status: dict[str, Any] | None = None
        self.released = False

    def finish(self, wait_status: int) -> dict[str, Any]:
        """The worker's end, once it was reaped; cleans its cgroups up."""
        status = _describe_status(wait_status)
        status["oom"] = self.cgroups.out_of_memory()
        status["at_memory_limit"] = status["oom"] or self.cgroups.reached_limit()
        self.cgroups.destroy()
        return status


def _launch(spec: WorkerSpec, cgroups: isolation.Cgroups, sock: socket.socket, out_fd: int) -> int:
    """In the freshly forked worker: join the cgroups, enter the other namespaces, serve the requests."""
    try:
        cgroups.join()
        if spec.isolate:
            isolation.unshare()
        child_main(sock, out_fd, spec)
        return 0
    except BaseException:
        return 70


def _describe_status(status: int) -> dict[str, Any]:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return {"signal": number, "signal_name": name}
    return {"exit_code": os.waitstatus_to_exitcode(status)}
