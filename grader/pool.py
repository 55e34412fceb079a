"""Parallel grading processes for a batch, forked before any torch op.

The parent imports what grading needs (no torch op runs here), then forks
``jobs`` grading processes; each builds its own :class:`grader.runner.Grader`
(and so its own zygote) and grades the submissions the parent hands it, one
at a time, writing each result atomically as soon as it is done.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import socket
import time
from pathlib import Path
from typing import Any

from grader.assignments import Assignment
from grader.sandbox import Limits
from grader.sandbox.limits import die_with_parent


def grade_all(
    assignment: Assignment,
    pending: list[tuple[Any, str]],
    out: Path,
    jobs: int,
    limits: Limits,
    log: Any,
    hide: tuple[Path, ...] = (),
) -> None:
    """Grade ``pending`` (submission, fingerprint) pairs with ``jobs`` processes; workers never see ``hide``."""
    if not pending:
        return
    from grader.runner import PRELOAD

    # Imported once here (no torch op runs in this process), inherited by every grading process and zygote.
    for name in PRELOAD + assignment.probe_modules:
        importlib.import_module(name)
    queue = list(pending)
    idle: list[socket.socket] = []
    busy: dict[socket.socket, tuple[Any, float]] = {}
    for _ in range(max(1, min(jobs, len(queue)))):
        idle.append(_fork(assignment, limits, out, hide))
    done = 0
    while queue or busy:
        while queue and idle:
            sock = idle.pop()
            submission, key = queue.pop(0)
            _send(sock, {"name": submission.name, "path": str(submission.path), "key": key})
            busy[sock] = (submission, time.monotonic())
        ready, _, _ = select.select(list(busy), [], [])
        for sock in ready:
            submission, started = busy.pop(sock)
            line = _read_line(sock)
            done += 1
            prefix = f"[{done}/{len(pending)}] {submission.name}:"
            if line is None:
                log(f"{prefix} the grading process died; recorded as error")
                _write_error(out, submission.name, "the grading process died while grading this submission")
                sock.close()
                idle.append(_fork(assignment, limits, out, hide))
                continue
            result = json.loads(line)
            log(
                f"{prefix} {result['score']:g}/{result['max_score']:g} {result['status']} "
                f"({time.monotonic() - started:.1f} s)"
            )
            idle.append(sock)
    for sock in idle:
        sock.close()


def _fork(assignment: Assignment, limits: Limits, out: Path, hide: tuple[Path, ...]) -> socket.socket:
    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        ours.close()
        code = 0
        try:
            die_with_parent()
            _serve(assignment, limits, out, hide, theirs)
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    theirs.close()
    return ours


def _serve(assignment: Assignment, limits: Limits, out: Path, hide: tuple[Path, ...], sock: socket.socket) -> None:
    from grader.batch import Submission, grade_one, write_atomic
    from grader.runner import Grader

    grader_ = Grader(assignment, limits, hide=(out, *hide))
    try:
        while (line := _read_line(sock)) is not None:
            job = json.loads(line)
            document = grade_one(grader_, assignment, Submission(job["name"], Path(job["path"])))
            write_atomic(out / f"{job['name']}.json", json.dumps(document, indent=2, ensure_ascii=False))
            (out / ".keys").mkdir(exist_ok=True)
            write_atomic(out / ".keys" / job["name"], job["key"])
            _send(sock, {"score": document["score"], "max_score": document["max_score"], "status": document["status"]})
    finally:
        grader_.close()


def _write_error(out: Path, name: str, reason: str) -> None:
    from grader.batch import write_atomic

    document = {"score": 0, "max_score": 0, "execution_time": 0, "tests": [], "status": "error", "output": reason}
    write_atomic(out / f"{name}.json", json.dumps(document, indent=2))


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
