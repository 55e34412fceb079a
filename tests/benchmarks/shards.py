"""Wall time and CPU of a class graded as shards plus a merge against one batch, on the same machine.

    python tests/benchmarks/shards.py [--copies 24] [--runs 2]

A class of ``--copies`` copies of the reference solution is graded three ways, in turns (``--runs``
rounds; the machine's speed drifts, and every way should see the same drift):

- ``batch``: one ``--batch --jobs 2`` (its two grading processes pinned to a core each);
- ``shards pinned``: ``--shard 0/2`` and ``--shard 1/2`` at once, ``--jobs 1`` each, each started on a core
  of its own (``taskset``), as a Slurm array task is given its CPUs by task/affinity or task/cgroup, then
  ``--merge --shards 2``;
- ``shards side by side``: the same without taskset, as two shards started on one machine would run.

Wall time is from the start to the end of the merge; CPU is every process's user + system time. A side
whose grades are not all 100/100, or whose merged grades.csv differs from the batch's, stops the benchmark.
Prints the medians, and the CPU one grading costs (what a cluster's estimate starts from).
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "hw1"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _start(command: list[str], core: int | None = None) -> subprocess.Popen[str]:
    prefix = ["taskset", "-c", str(core)] if core is not None else []
    return subprocess.Popen(
        [*prefix, *command],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen[str], expected: int = 0) -> None:
    output, _ = process.communicate()
    if process.returncode != expected:
        sys.exit(f"{' '.join(map(str, process.args))} exited with {process.returncode}:\n{output}")


def _grades(out: Path, copies: int) -> str:
    grades = (out / "grades.csv").read_text(encoding="utf-8")
    rows = grades.splitlines()[1:]
    if len(rows) != copies or any(row.split(",")[1] != "100" for row in rows):
        sys.exit(f"not every copy was graded 100/100:\n{grades}")
    return grades


def _batch(command: list[str], out: Path) -> tuple[float, float]:
    cpu, started = _cpu(), time.perf_counter()
    _finish(_start([*command, "--out", str(out), "--jobs", "2"]))
    return time.perf_counter() - started, _cpu() - cpu


def _shards(command: list[str], out: Path, pinned: bool) -> tuple[float, float]:
    cores = sorted(os.sched_getaffinity(0))[:2]
    cpu, started = _cpu(), time.perf_counter()
    shards = [
        _start([*command, "--out", str(out), "--jobs", "1", "--shard", f"{index}/2"], cores[index] if pinned else None)
        for index in range(2)
    ]
    for shard in shards:
        _finish(shard)
    _finish(_start([*command, "--out", str(out), "--merge", "--shards", "2"]))
    return time.perf_counter() - started, _cpu() - cpu


def main() -> None:
    """Print each way's median wall time and CPU, and the CPU of one grading."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=24)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2 or not shutil.which("taskset"):
        sys.exit("needs two cores and taskset")
    ways = {
        "--batch --jobs 2": _batch,
        "2 shards pinned + merge": functools.partial(_shards, pinned=True),
        "2 shards side by side + merge": functools.partial(_shards, pinned=False),
    }
    measured: dict[str, list[tuple[float, float]]] = {way: [] for way in ways}
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
        folder = Path(tmp) / "class"
        for index in range(args.copies):
            shutil.copytree(SOLUTION, folder / f"student-{index:03d}", ignore=shutil.ignore_patterns("__pycache__"))
        command = [sys.executable, "-m", "grader", "hw1", "--batch", str(folder)]
        reference = None
        for run in range(args.runs):
            for number, (way, grade) in enumerate(ways.items()):
                out = Path(tmp) / f"out-{run}-{number}"
                wall, cpu = grade(command, out)
                grades = _grades(out, args.copies)
                if reference is not None and grades != reference:
                    sys.exit(f"{way}: grades.csv differs from the batch's")
                reference = grades
                measured[way].append((wall, cpu))
                print(f"  run {run + 1}, {way}: {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
                shutil.rmtree(out)
    for way, values in measured.items():
        wall, cpu = statistics.median(v[0] for v in values), statistics.median(v[1] for v in values)
        print(f"{way:30} {wall:6.1f} s wall  {cpu:6.1f} s CPU  ({cpu / args.copies:.2f} s CPU per submission)")


if __name__ == "__main__":
    main()
