"""Cost of one call into a worker: the trusted process and the worker on one core vs. free to move.

    python tests/benchmarks/roundtrip.py [--calls N]

A grading is a conversation of about a thousand calls. This times ``len(dataset)`` and
``dataset[1]`` (a tensor coming back) through a real sandbox, and the CPU both processes
spend per call, twice: with the scheduler free to place them, and with both pinned to one
core (as a batch's grading processes are, see grader.batch.pool). Each case runs in a fresh
interpreter, since a process's zygote inherits the CPU affinity it had when it was forked.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _measure(calls: int, pin: bool) -> dict[str, list[float]]:
    if pin:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    sys.path.insert(0, str(ROOT))
    from grader.runner import PRELOAD
    from grader.sandbox import Sandbox
    from grader.sandbox.client import Session

    sandbox = Sandbox(preload=PRELOAD, probe_modules=("grader.probes.hw1.data",))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root, home = Path(tmp, "root"), Path(tmp, "home")
        root.mkdir()
        home.mkdir()
        session = Session(sandbox, root, home)
        dataset = session.probe("grader.probes.hw1.data:index_dataset", 3)
        for name, call in (("len(dataset)", lambda: len(dataset)), ("dataset[1]", lambda: dataset[1])):
            pid = session._worker.pid
            ours, theirs, started = os.times(), _cpu(pid), time.perf_counter()
            for _ in range(calls):
                call()
            wall = time.perf_counter() - started
            done = os.times()
            trusted = done.user + done.system - ours.user - ours.system
            results[name] = [wall / calls * 1e6, trusted / calls * 1e6, (_cpu(pid) - theirs) / calls * 1e6]
        session.close()
    sandbox.close()
    return results


def main() -> None:
    """Print wall time and CPU per call for both placements."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--case", choices=("free", "pinned"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(_measure(args.calls, args.case == "pinned")))
        return
    for case in ("free", "pinned"):
        done = subprocess.run(
            [sys.executable, __file__, "--calls", str(args.calls), "--case", case],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        for name, (wall, trusted, worker) in json.loads(done.stdout).items():
            print(
                f"{case:6} {name:13} wall {wall:6.0f} us/call, CPU {trusted + worker:6.0f} us/call "
                f"(trusted {trusted:.0f}, worker {worker:.0f})"
            )


if __name__ == "__main__":
    main()
