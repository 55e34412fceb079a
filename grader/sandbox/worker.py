"""The worker: the only process in which student code runs.

It serves requests from the trusted process over one socket. Objects it makes
stay here in a handle table; only plain data (see :mod:`grader.sandbox.wire`)
goes back. Nothing this process says is believed beyond its plain data: the
trusted process computes every verdict.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import io
import os
import random
import signal
import socket
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import torch

from grader.sandbox import limits, syscalls, view, wire
from grader.sandbox.isolation import Isolation

_MESSAGE_CHARS = 2000


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a freshly forked worker needs to set itself up (plain data)."""

    #: The submission's copy; with namespaces, the worker gets a fresh copy of it on a tmpfs of its own.
    root: str
    #: The worker's home (empty); with namespaces, also where its new root is built before it becomes ``/``.
    home: str
    probe_modules: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    limits: limits.Limits = field(default_factory=limits.Limits)
    seed: int = 0
    #: Folders the worker may read but not write (the checks' inputs).
    read: tuple[str, ...] = ()
    #: The allow-listed file system (:meth:`grader.sandbox.view.View.to_dict`); unused without namespaces.
    view: dict[str, Any] = field(default_factory=dict)


def child_main(sock: socket.socket, out_fd: int, spec: WorkerSpec, isolation: Isolation) -> None:
    """Set up the freshly forked process, then serve requests until the socket closes."""
    limits.enter_own_session()
    limits.become_subreaper()  # what student code starts stays below the worker, setsid and double forks too
    limits.name_process("grader-worker")
    _redirect_io(out_fd)
    workspace = view.Workspace(
        root=spec.root,
        home=spec.home,
        source=spec.root,
        read=spec.read,
        mountpoint=spec.home,
        size_mb=spec.limits.workspace_mb,
        uid=isolation.uid,
        gid=isolation.gid,
    )
    plan = view.View.from_dict(spec.view) if spec.view else view.View()
    isolation.confine(workspace, plan, {sock.fileno()}, spec.limits.processes)
    memory = isolation.layout.memory
    limits.apply(spec.limits, cap_data=memory is None or not memory.usable)
    # The grading process (same user, without root) reads this process's memory use (/proc/PID/smaps_rollup).
    syscalls.set_dumpable(True)
    os.environ.clear()
    os.environ.update(spec.env)
    _scrub_initial_environment()
    os.chdir(spec.root)
    torch.set_num_threads(1)
    for name in spec.probe_modules:
        importlib.import_module(name)
    sys.path.insert(0, spec.root)
    _seed(spec.seed)
    Worker(sock, Path(spec.root)).serve()


def _scrub_initial_environment() -> None:
    """Zero the environment strings this process inherited from the grading process's start.

    ``/proc/self/environ`` shows that memory, whatever ``os.environ`` holds now: without this, student
    code could read every variable of the machine that started the grader (tokens included).
    """
    with open("/proc/self/stat", "rb") as handle:
        stat = handle.read()
    fields = stat[stat.rindex(b")") + 2 :].split()
    start, end = int(fields[47]), int(fields[48])  # env_start and env_end, fields 50 and 51 of proc(5)
    if 0 < start < end:
        ctypes.memset(start, 0, end - start)


def _redirect_io(out_fd: int) -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(devnull)
    os.close(out_fd)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - lives as long as the process
    sys.stdout = io.TextIOWrapper(open(1, "wb", closefd=False), line_buffering=True)  # noqa: SIM115
    sys.stderr = io.TextIOWrapper(open(2, "wb", closefd=False), line_buffering=True)  # noqa: SIM115


def _cpu_only_build() -> bool:
    """Whether this torch was built without an accelerator (a compile-time fact: initialises nothing)."""
    accelerator = getattr(torch, "accelerator", None)  # torch >= 2.6
    return accelerator is not None and accelerator.current_accelerator() is None


#: ``torch.manual_seed`` also seeds the generators of every accelerator kind this torch could have, lazily:
#: each kind records a stack trace for later, which costs about 1 ms per call in a worker (66 calls a hw1
#: grading). A CPU-only build has one generator to seed.
_CPU_ONLY = _cpu_only_build()


def _seed(seed: int) -> None:
    random.seed(seed)
    if _CPU_ONLY:
        torch.default_generator.manual_seed(seed)
    else:
        torch.manual_seed(seed)  # the CUDA generators too, when CUDA is initialised later
    # Same inputs, same numbers on a GPU as well (cuBLAS's half comes from CUBLAS_WORKSPACE_CONFIG).
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    try:
        import numpy

        numpy.random.seed(seed)
    except ImportError:  # pragma: no cover - numpy ships with torch's wheels here
        pass


class Worker:
    """Serves one request at a time: import, getattr, call, len, getitem, probe, release."""

    def __init__(self, sock: socket.socket, root: Path) -> None:
        self._sock = sock
        self._root = str(root)
        self._objects: dict[int, Any] = {}
        self._next_id = 1

    def serve(self) -> None:
        """Answer requests until the trusted process closes the socket."""
        signal.signal(wire.WHERE_SIGNAL, self._say_where)
        while True:
            try:
                request, blobs = wire.recv(self._sock)
            except (EOFError, ConnectionError):
                return
            header, out_blobs = self._answer(request, blobs)
            sys.stdout.flush()
            sys.stderr.flush()
            wire.send(self._sock, header, out_blobs)

    def _say_where(self, signum: int, frame: FrameType | None) -> None:
        """Tell the trusted process which function of the submission is running: it asks before it kills a
        call that ran out of time, to name that function in the message (and believes nothing more of it)."""
        while frame is not None and not frame.f_code.co_filename.startswith(self._root + os.sep):
            frame = frame.f_back
        where: dict[str, Any] = {}
        if frame is not None:
            code = frame.f_code
            where = {
                "function": code.co_qualname,
                "file": os.path.relpath(code.co_filename, self._root),
                "line": frame.f_lineno,
            }
        # A channel that broke must not surface inside the student's code as an exception of its own.
        with contextlib.suppress(OSError):
            wire.send(self._sock, {"running": where})

    def _answer(self, request: dict[str, Any], blobs: list[bytes]) -> tuple[Any, list[bytes]]:
        try:
            value = self._dispatch(request, blobs)
            encoder = wire.Encoder(self._store)
            return {"ok": encoder.encode(value)}, encoder.blobs
        except BaseException as exc:
            return {"error": self._describe(exc)}, []

    def _dispatch(self, request: dict[str, Any], blobs: list[bytes]) -> Any:
        decoder = wire.Decoder(blobs, lambda ref: self._objects[ref.id])
        if type(request.get("seed")) is int:  # a new check starts: the random state a fresh worker has
            _seed(request["seed"])
            keep = set(request.get("keep", ()))
            self._objects = {ident: value for ident, value in self._objects.items() if ident in keep}
        op = request["op"]
        if op == "import":
            return importlib.import_module(request["module"])
        if op == "release":
            for ident in request["ids"]:
                self._objects.pop(ident, None)
            return None
        target = decoder.decode(request["target"]) if "target" in request else None
        if op == "getattr":
            return getattr(target, request["name"])
        if op == "len":
            return len(target)
        if op == "getitem":
            return target[decoder.decode(request["key"])]
        args = decoder.decode(request.get("args", []))
        kwargs = decoder.decode(request.get("kwargs", {"$d": []}))
        if op == "call":
            return target(*args, **kwargs)
        if op == "probe":
            module_name, _, attr = request["name"].partition(":")
            if not module_name.startswith("grader."):
                raise ValueError(f"not a grader probe: {request['name']}")
            return getattr(sys.modules[module_name], attr)(*args, **kwargs)
        raise ValueError(f"unknown op {op!r}")

    def _store(self, value: Any) -> dict[str, Any]:
        ident = self._next_id
        self._next_id += 1
        self._objects[ident] = value
        kind = type(value)
        return {"$h": ident, "type": f"{kind.__module__}.{kind.__qualname__}"}

    def _describe(self, exc: BaseException) -> dict[str, Any]:
        try:
            names = [klass.__name__ for klass in type(exc).__mro__]
            message = _safe_str(exc)
            if isinstance(exc, SystemExit):
                message = f"sys.exit({exc.code!r}) was called"
            elif isinstance(exc, SyntaxError) and isinstance(exc.msg, str):
                message = exc.msg  # without "(model.py, line 3)": "where" says that
            return {
                "types": names[:20],
                "message": message[:_MESSAGE_CHARS],
                "where": self._where(exc),
                "traceback": self._traceback(exc)[:20_000],
            }
        except BaseException:
            return {
                "types": ["Exception"],
                "message": "an exception that could not be described",
                "where": "",
                "traceback": "",
            }

    def _student_frames(self, tb: TracebackType | None) -> list[traceback.FrameSummary]:
        frames = traceback.extract_tb(tb)
        return [frame for frame in frames if frame.filename.startswith(self._root)]

    def _where(self, exc: BaseException) -> str:
        if isinstance(exc, SyntaxError) and exc.filename:
            return f"{Path(exc.filename).name} line {exc.lineno}"
        frames = self._student_frames(exc.__traceback__)
        if not frames:
            return ""
        last = frames[-1]
        return f"{Path(last.filename).name} line {last.lineno}, in {last.name}"

    def _traceback(self, exc: BaseException) -> str:
        frames = self._student_frames(exc.__traceback__)
        lines = traceback.format_list(frames)
        lines += traceback.format_exception_only(type(exc), exc)
        return "".join(lines).replace(self._root + os.sep, "")


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except BaseException:
        return f"<{type(exc).__name__} whose message could not be read>"
