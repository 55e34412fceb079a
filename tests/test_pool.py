"""The batch's grading processes: pinned to a core each where whole cores are the batch's, else placed freely."""

from __future__ import annotations

import json
import os
import signal
import socket
from typing import Any

import pytest

from grader import devices
from grader.batch import pool


def test_pinned_cores_only_where_whole_cores_are_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3, 1})
    monkeypatch.setattr(devices, "usable_cores", lambda: 2)
    assert pool.pinned_cores(1) == pool.pinned_cores(2) == [1, 3]
    assert pool.pinned_cores(3) == []  # two processes would share a core while another idles
    # A CPU quota narrower than the affinity (a container's --cpus): the cores named may be anyone's.
    monkeypatch.setattr(devices, "usable_cores", lambda: 1)
    assert pool.pinned_cores(1) == []
    # A shard may run beside its siblings: it pins only to cores that are all its own, one per grading process.
    monkeypatch.setattr(devices, "usable_cores", lambda: 2)
    assert pool.pinned_cores(2, shared=True) == [1, 3]
    assert pool.pinned_cores(1, shared=True) == []


def _report_affinity(setup: Any, sock: socket.socket, tag: str) -> None:
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


@pytest.fixture
def stop_signals(monkeypatch: pytest.MonkeyPatch) -> Any:
    """pool.StopSignals's handlers installed in this process for one test, and the previous ones restored."""
    monkeypatch.setattr(pool.StopSignals, "received", [])
    previous = {signum: signal.getsignal(signum) for signum in pool.StopSignals.signals}
    yield pool.StopSignals
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def test_the_first_stop_signal_stops_and_none_cuts_the_cleanup_short(stop_signals: Any) -> None:
    stop_signals.install()
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGTERM)
    with stop_signals.cleaning():  # stopping the grading processes, writing grades.csv
        signal.raise_signal(signal.SIGINT)  # a second Ctrl-C
        signal.raise_signal(signal.SIGHUP)
    signal.raise_signal(signal.SIGINT)  # only noted once a stop is under way
    assert stop_signals.received == [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGINT]


def test_a_stop_signal_while_cleaning_up_a_finished_batch_is_only_noted(stop_signals: Any) -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as nohup starts it
    stop_signals.install()
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN  # a hang-up stays ignored
    with stop_signals.cleaning():
        signal.raise_signal(signal.SIGTERM)
    assert stop_signals.received == [signal.SIGTERM]
