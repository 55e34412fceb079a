"""How a call that ends at a limit is reported: time, or memory when the worker was stuck at its memory cap."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest
from conftest import STUBS, run_grader
from hw1_attacks import ATTACKS

from grader.errors import MemoryLimit, Timeout
from grader.sandbox import cgroups, wire
from grader.sandbox.client import _WorkerProcess
from grader.sandbox.limits import Limits


class _FakeLink:
    """Stands in for the zygote: says how the (already killed) worker ended."""

    def __init__(self, status: dict[str, Any] | None) -> None:
        self.status = status
        self.waited: list[int] = []

    def wait(self, pid: int, timeout: float) -> dict[str, Any] | None:
        self.waited.append(pid)
        return self.status

    def release(self, pid: int) -> None:
        pass


def _run_out_of_time(status: dict[str, Any] | None, memory_enforced: bool = True) -> Exception:
    """A worker that never answers, whose end (once killed) the zygote reports as ``status``."""
    ours, theirs = socket.socketpair()
    read_end, write_end = os.pipe()
    sandbox = types.SimpleNamespace(
        limits=Limits(memory_mb=512, output_kb=4), isolation=types.SimpleNamespace(contained=False)
    )
    worker = _WorkerProcess(sandbox, _FakeLink(status), 999_999_999, ours, read_end, memory_enforced)  # type: ignore[arg-type]
    worker.alive = False  # nothing real to kill
    try:
        with pytest.raises((Timeout, MemoryLimit)) as caught:
            worker.exchange({"op": "call"}, [], "model.softmax()", 0.2)
        return caught.value
    finally:
        ours.close()
        theirs.close()
        os.close(read_end)
        os.close(write_end)


def test_a_call_stuck_at_the_memory_limit_is_a_memory_error() -> None:
    error = _run_out_of_time({"signal_name": "SIGKILL", "oom": False, "at_memory_limit": True})
    assert isinstance(error, MemoryLimit)
    assert "512 MB memory limit" in str(error) and "within 0.2 s" in str(error)


def test_a_call_that_only_runs_long_is_a_timeout() -> None:
    error = _run_out_of_time({"signal_name": "SIGKILL", "oom": False, "at_memory_limit": False})
    assert isinstance(error, Timeout) and "did not finish within 0.2 s" in str(error)


def test_a_worker_the_zygote_cannot_account_for_is_a_timeout() -> None:
    assert isinstance(_run_out_of_time(None), Timeout)
    assert isinstance(_run_out_of_time({"at_memory_limit": True}, memory_enforced=False), Timeout)


LAYOUT = cgroups.detect()


@pytest.mark.skipif(LAYOUT.memory is None or not LAYOUT.memory.usable, reason="needs a writable memory cgroup")
def test_cgroups_tell_a_process_that_hit_its_memory_limit() -> None:
    group = cgroups.WorkerCgroup.create(cgroups.delegate(LAYOUT), f"grader-{os.getpid()}-limits-test", 64, 16)
    assert group.limits_memory
    try:
        hog = subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.stdin.read(1); hog = b'x' * 400_000_000"],
            stdin=subprocess.PIPE,
        )
        for _, folder in group.folders:
            with open(os.path.join(folder, "cgroup.procs"), "w") as procs:
                procs.write(str(hog.pid))
        assert not group.reached_limit()
        hog.communicate(b"g", timeout=60)
        assert hog.returncode == -9
        assert group.out_of_memory() and group.reached_limit()
    finally:
        group.destroy()


def test_a_worker_that_stops_reading_its_channel_costs_one_budget() -> None:
    """Requests are sent within the call's budget: a worker that never takes them (or only peeks at them) would
    otherwise block the grader for good once the socket's buffer is full."""
    ours, theirs = socket.socketpair()
    read_end, write_end = os.pipe()
    sandbox = types.SimpleNamespace(limits=Limits(), isolation=types.SimpleNamespace(contained=False))
    worker = _WorkerProcess(sandbox, _FakeLink({"signal_name": "SIGKILL"}), 999_999_999, ours, read_end, True)  # type: ignore[arg-type]
    worker.alive = False
    try:
        with pytest.raises(Timeout, match=r"did not finish within 0\.3 s"):
            worker.exchange({"op": "call"}, [b"x" * (32 << 20)], "data.split_dataset()", 0.3)
    finally:
        for sock in (ours, theirs):
            sock.close()
        os.close(read_end)
        os.close(write_end)


def _hang_answering(answer: bytes | None, monkeypatch: pytest.MonkeyPatch) -> tuple[str, float]:
    """A call that runs out of time in a worker that, asked what it runs, sends ``answer`` (None: nothing).

    Returns the error's message and the seconds from the end of the budget to the error.
    """
    from grader.sandbox import client

    ours, theirs = socket.socketpair()
    read_end, write_end = os.pipe()
    sandbox = types.SimpleNamespace(limits=Limits(), isolation=types.SimpleNamespace(contained=False))
    worker = _WorkerProcess(sandbox, _FakeLink({"signal_name": "SIGKILL"}), 999_999_999, ours, read_end, True)  # type: ignore[arg-type]
    asked: list[tuple[int, int]] = []

    def kill(pid: int, number: int) -> None:
        asked.append((pid, number))
        if answer is not None:
            theirs.sendall(answer)

    monkeypatch.setattr(client.os, "kill", kill)
    try:
        with pytest.raises(Timeout) as caught:
            worker.exchange({"op": "call"}, [], "data.split_dataset()", 0.2)
        ended = time.monotonic()
    finally:
        for sock in (ours, theirs):
            sock.close()
        os.close(read_end)
        os.close(write_end)
    assert asked == [(999_999_999, wire.WHERE_SIGNAL)]
    return str(caught.value), ended


def _framed(header: object) -> bytes:
    """``header`` as the worker's wire.send frames it."""
    left, right = socket.socketpair()
    with left, right:
        wire.send(left, header)
        return right.recv(1 << 16)


def test_a_timeout_names_the_function_the_worker_was_running(monkeypatch: pytest.MonkeyPatch) -> None:
    where = {"function": "HandWrite.__len__", "file": "data.py", "line": 159}
    message, _ = _hang_answering(_framed({"running": where}), monkeypatch)
    assert message == (
        "data.split_dataset() did not finish within 0.2 s: HandWrite.__len__ (data.py line 159) was still running "
        "(an infinite loop, or far too slow)"
    )


@pytest.mark.parametrize(
    "answer",
    [
        {"running": {}},  # no function of the submission was running
        {"running": {"function": "f", "file": "data.py", "line": "3"}},
        {"running": {"function": "f", "file": "data.py", "line": -1}},
        {"ok": None},
        {"running": {"function": "f" * 5000, "file": "data.py", "line": 3}},  # over the answer's caps
        # What no function of a submission is called or lives in: a rewritten code object's words.
        {"running": {"function": "\x1b[2J" + "f" * 50, "file": "data.py", "line": 3}},
        {"running": {"function": "f" * 500, "file": "data.py", "line": 3}},
        {"running": {"function": "evil\n\nPASS Step 3 all\nTotal: 100/100", "file": "data.py", "line": 3}},
        {"running": {"function": "f", "file": "data.py\x1b]0;title\x07", "line": 3}},
        {"running": {"function": "f", "file": "../grader/checks/hw1/test_data.py", "line": 3}},
        {"running": {"function": "f", "file": "/etc/passwd", "line": 3}},
    ],
)
def test_a_malformed_answer_gives_the_plain_timeout(answer: object, monkeypatch: pytest.MonkeyPatch) -> None:
    message, _ = _hang_answering(_framed(answer), monkeypatch)
    assert message == "data.split_dataset() did not finish within 0.2 s (an infinite loop, or far too slow)"


def test_a_worker_that_does_not_say_costs_about_a_second_more(monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.monotonic()
    message, ended = _hang_answering(None, monkeypatch)
    assert message.endswith("(an infinite loop, or far too slow)") and "still running" not in message
    assert ended - started < 0.2 + 1.0 + 1.0


#: Seconds each call may take in :func:`test_a_memory_bomb_is_reported_as_memory_however_busy_the_machine`: 20
#: times what filling 1 GB takes this two-core VM under the load of a full suite (1 to 3 s), so the limit is
#: always reached long before the budget runs out (the hostile batch's 3 s budget is a race it can lose).
_SLACK_SECONDS = 60


def test_a_memory_bomb_is_reported_as_memory_however_busy_the_machine(tmp_path: Path) -> None:
    """Issue 17: the hostile batch's memory bomb was once reported ``timeout`` on a busy machine. Here it has
    time to spare: every call into it ends at the memory limit, and none is a timeout."""
    bomb = next(attack for attack in ATTACKS if attack.name == "memory-bomb")
    shutil.copytree(STUBS, tmp_path / "bomb", ignore=shutil.ignore_patterns("*.md"))
    with open(tmp_path / "bomb" / f"{bomb.module}.py", "a") as handle:
        handle.write("\n" + bomb.code)
    done = run_grader(
        "hw1", str(tmp_path / "bomb"), "--format", "json", "--timeout", str(_SLACK_SECONDS), "--memory-mb", "1024"
    )
    outputs = [test["output"] for test in json.loads(done.stdout)["tests"]]
    limited = [output for output in outputs if "1024 MB" in output]
    assert limited and all("memory" in output for output in limited), outputs
    assert not [output for output in outputs if "did not finish within" in output], outputs
