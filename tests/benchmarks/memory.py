"""Peak memory of grading an assignment's reference solution: what a Gradescope container must hold.

    python tests/benchmarks/memory.py [ASSIGNMENT ...] [--runs N] [-- GRADER ARGS]

Runs ``python -m grader ASSIGNMENT solutions/ASSIGNMENT --format json`` and samples, every 20 ms, the
proportional set size (``Pss`` of ``/proc/PID/smaps_rollup``) of the grading process and of every process
descending from it (its zygotes and workers, in their PID namespaces too): pages the forks share with the
zygote count once in the sum, as the kernel charges them once to a container. Prints, per assignment, the
peak of that sum, the grading process's own peak, the largest single other process (a worker) and how many
processes ran at once. Needs to read the processes' smaps (run it as the user that grades, or as root).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_TICK = 0.02


@dataclass
class Peak:
    """The peaks of one grading, in KiB."""

    total: int = 0
    grading: int = 0
    other: int = 0
    processes: int = 0


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        parent = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def _tree(root: int) -> list[int]:
    children = _children()
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending += children.get(pid, [])
    return found


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def measure(assignment: str, extra: list[str]) -> Peak:
    """Grade the solution of ``assignment`` once; the peaks seen."""
    command = [sys.executable, "-m", "grader", assignment, f"solutions/{assignment}", "--format", "json", *extra]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    peak = Peak()
    while process.poll() is None:
        sizes = {pid: _pss(pid) for pid in _tree(process.pid)}
        own = sizes.pop(process.pid, 0)
        peak.total = max(peak.total, own + sum(sizes.values()))
        peak.grading = max(peak.grading, own)
        peak.other = max(peak.other, max(sizes.values(), default=0))
        peak.processes = max(peak.processes, 1 + len(sizes))
        time.sleep(_TICK)
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} exited with {process.returncode}: the solution must pass every check")
    return peak


def main() -> None:
    """Print the peaks of each assignment (the median over the runs, and the largest)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("assignments", nargs="*", default=["hw1", "hw2"])
    parser.add_argument("--runs", type=int, default=3)
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    for assignment in args.assignments:
        peaks = [measure(assignment, extra) for _ in range(args.runs)]
        for field in ("total", "grading", "other"):
            values = [getattr(peak, field) / 1024 for peak in peaks]
            print(
                f"{assignment} {field:<8} peak PSS: median {statistics.median(values):6.0f} MiB, "
                f"max {max(values):6.0f} MiB"
            )
        print(f"{assignment} processes at once: {max(peak.processes for peak in peaks)}")


if __name__ == "__main__":
    main()
