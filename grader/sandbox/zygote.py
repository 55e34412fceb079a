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
from grader.sandbox import cgroups, limits, syscalls
from grader.sandbox.isolation import Isolation
from grader.sandbox.worker import WorkerSpec, child_main

_MESSAGE_BYTES = 1 << 16
#: The zygote's first message: its imports are done.
_READY = b'{"ready": true}'


def start(isolation: Isolation, tag: str, preload: tuple[str, ...] = ()) -> tuple[int, socket.socket]:
    """Fork the zygote; returns its pid and the control socket.

    The zygote imports ``preload`` itself, after the fork, so that this work runs in
    parallel with the caller's own start-up; then it says it is ready (see :meth:`Link.ready`).
    Its workers' cgroups are named ``grader-<tag>-<n>``.
    """
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        # A process forked after CUDA is initialised cannot use it: workers need a zygote without it.
        raise GraderError("CUDA was initialised in the grading process before the zygote was started")
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        # Nothing the grading process has open lives on here or in the workers: another zygote's control
        # socket (that zygote would never see it closed, and student code could talk to it), a TA's files.
        syscalls.close_descriptors({theirs.fileno()})
        code = 0
        gc.disable()
        try:
            isolation.enter_zygote()
            for name in preload:
                importlib.import_module(name)
            # Objects that exist now are never collected; keeps the collector from touching (and so
            # copying) every inherited page in each forked worker. The collector was off for the imports
            # when the caller had it off; student code runs with it on.
            gc.freeze()
            gc.enable()
            theirs.sendall(_READY)
            _Zygote(theirs, isolation, tag).serve()
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    theirs.close()
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

    def __init__(self, isolation: Isolation, tag: str, preload: tuple[str, ...]) -> None:
        self.pid, self.control = start(isolation, tag, preload)
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
        self.control.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


class _Zygote:
    def __init__(self, control: socket.socket, isolation: Isolation, tag: str) -> None:
        self._control = control
        self._isolation = isolation
        self._tag = tag
        #: Workers by their pid here (with user namespaces the zygote is PID 1 of a namespace of its own).
        self._workers: dict[int, _Record] = {}
        #: Their pids as the grading process knows them, which its messages use.
        self._local: dict[int, int] = {}
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
            read=tuple(message["read"]),
            view=message["view"],
        )
        self._count += 1
        group = cgroups.WorkerCgroup.create(
            self._isolation.layout, f"grader-{self._tag}-{self._count}", spec.limits.memory_mb, spec.limits.processes
        )
        ours, theirs = socket.socketpair()
        out_read, out_write = os.pipe()
        pid, host = self._isolation.fork_worker()
        if pid == 0:
            self._control.close()
            ours.close()
            os.close(out_read)
            os._exit(_launch(spec, self._isolation, group, theirs, out_write))
        theirs.close()
        os.close(out_write)
        self._workers[pid] = _Record(pid, group)
        self._local[host] = pid
        payload = json.dumps({"pid": host, "memory_enforced": group.limits_memory}).encode()
        socket.send_fds(self._control, [payload], [ours.fileno(), out_read])
        ours.close()
        os.close(out_read)

    def _release(self, host: int) -> None:
        """Kill a worker whose end nobody will ask about; it is reaped and cleaned up later."""
        record = self._workers.get(self._local.get(host, -1))
        if record is not None:
            record.released = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(record.pid, signal.SIGKILL)
        self._sweep()

    def _sweep(self) -> None:
        """Kill what ended workers left behind (see Isolation.sweep)."""
        self._isolation.sweep({pid for pid, record in self._workers.items() if record.status is None})

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
                    self._forget(pid)

    def _forget(self, pid: int) -> None:
        del self._workers[pid]
        self._local = {host: local for host, local in self._local.items() if local != pid}

    def _wait(self, host: int, timeout: float) -> dict[str, Any] | None:
        self._sweep()
        deadline = time.monotonic() + timeout
        pid = self._local.get(host, -1)
        record = self._workers.get(pid)
        if record is None:
            return None
        while True:
            self._reap()
            if record.status is not None:
                self._forget(pid)
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
        self._sweep()


class _Record:
    """A worker as the zygote tracks it: its pid, its cgroups, how it ended."""

    def __init__(self, pid: int, group: cgroups.WorkerCgroup) -> None:
        self.pid = pid
        self.group = group
        self.status: dict[str, Any] | None = None
        self.released = False

    def finish(self, wait_status: int) -> dict[str, Any]:
        """The worker's end, once it was reaped; cleans its cgroups up."""
        status = _describe_status(wait_status)
        status["oom"] = self.group.out_of_memory()
        status["at_memory_limit"] = status["oom"] or self.group.reached_limit()
        self.group.destroy()
        return status


def _launch(
    spec: WorkerSpec, isolation: Isolation, group: cgroups.WorkerCgroup, sock: socket.socket, out_fd: int
) -> int:
    """In the freshly forked worker: join its cgroups, then set itself up and serve (see worker.child_main)."""
    try:
        group.join()
        child_main(sock, out_fd, spec, isolation)
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
