"""The batch's grading processes: pinned to a core each where whole cores are the batch's, else placed freely."""

from __future__ import annotations

import json
import os
import signal
import socket
from typing import Any

import pytest

from grader import devices, pool


def test_pinned_cores_only_where_whole_cores_are_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3, 1})
    monkeypatch.setattr(devices, "usable_cores", lambda: 2)
    assert pool.pinned_cores(1) == pool.pinned_cores(2) == [1, 3]
    assert pool.pinned_cores(3) == []  # two processes would share a core while another idles
    # A CPU quota narrower than the affinity (a container's --cpus): the cores named may be anyone's.
    monkeypatch.setattr(devices, "usable_cores", lambda: 1)
    assert pool.pinned_cores(1) == []


def _report_affinity(setup: Any, sock: socket.socket) -> None:
    """A stand-in for pool._serve: the same hand-over of a fresh channel, then each job answers its affinity."""
    channel, theirs = socket.socketpair()
    socket.send_fds(sock, [b"\0"], [theirs.fileno()])
    theirs.close()
    sock.close()
    while pool._read_line(channel) is not None:
        pool._send(channel, {"cores": sorted(os.sched_getaffinity(0))})


def _ask(sock: socket.socket) -> list[int]:
    pool._send(sock, {"name": "job"})
    line = pool._read_line(sock)
    assert line is not None
    return json.loads(line)["cores"]


def test_each_grading_process_gets_a_core_of_its_own_and_a_replacement_takes_it_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        pytest.skip("needs two cores")
    monkeypatch.setattr(pool, "_serve", _report_affinity)
    processes = pool._Pool(None, cores[:2])  # type: ignore[arg-type]
    try:
        first, second = processes.start(2)
        assert sorted([_ask(first), _ask(second)]) == [[cores[0]], [cores[1]]]
        had = _ask(first)
        os.kill(processes._children[first], signal.SIGKILL)
        assert _ask(processes.replace(first)) == had
    finally:
        processes.close(interrupted=True)


def test_without_cores_the_grading_processes_keep_the_affinity_they_inherit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "_serve", _report_affinity)
    processes = pool._Pool(None, [])  # type: ignore[arg-type]
    try:
        (only,) = processes.start(1)
        assert _ask(only) == sorted(os.sched_getaffinity(0))
    finally:
        processes.close(interrupted=True)
