"""Wall time of grading N copies of the reference solution as one batch vs. N single runs in a row.

    python tests/benchmarks/batch.py [--copies N] [--jobs J]

The bar (issue 4, batch grading): 24 copies graded with ``python -m grader hw1 --batch DIR --out OUT
--jobs 2`` at least 4x faster than 24 sequential ``python -m grader hw1 solutions/hw1`` runs. Prints
both times and their ratio; a run that does not grade the solution 100/100 stops the benchmark, since
its time would mean nothing. The batch is timed ``--batch-runs`` times (3) and its median is used: on a
shared machine one 25-second run varies by 15%, while the 24 single runs already average their noise.
The single runs are timed in between the batch runs (a third after each), so that a drift in the
machine's speed weighs on both sides alike.
"""

from __future__ import annotations

import argparse
import json
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


#: CPU seconds (user + system) of every process each timed command ran, by command kind.
CPU: dict[str, list[float]] = {"batch": [], "single": []}


def _time(command: list[str], kind: str) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    # Every process of the tree is reaped by its parent (workers by the zygote, and so on up): all count.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[kind].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return elapsed


def main() -> None:
    """Print the batch's time, the single runs' total, and their ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=24)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--batch-runs", type=int, default=3)
    args = parser.parse_args()
    single = [sys.executable, "-m", "grader", "hw1", "solutions/hw1"]
    # The single runs are spread between the batch runs: this machine's speed drifts by 15% within
    # minutes, and both sides of the ratio should see the same drift.
    size, extra = divmod(args.copies, args.batch_runs)
    chunks = [size + (run < extra) for run in range(args.batch_runs)]
    runs, singles = [], []
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
        folder, out = Path(tmp) / "class", Path(tmp) / "out"
        for index in range(args.copies):
            shutil.copytree(SOLUTION, folder / f"student-{index:03d}", ignore=shutil.ignore_patterns("__pycache__"))
        command = [sys.executable, "-m", "grader", "hw1", "--batch", str(folder), "--out", str(out)]
        for chunk in chunks:
            shutil.rmtree(out, ignore_errors=True)  # no resuming: every run grades every copy
            runs.append(_time([*command, "--jobs", str(args.jobs)], "batch"))
            scores = [json.loads(path.read_text())["score"] for path in out.glob("*.json")]
            if scores != [100] * args.copies:
                sys.exit(f"the batch did not grade every copy 100/100: {sorted(scores)}")
            singles += [_time(single, "single") for _ in range(chunk)]
    batch, sequential = statistics.median(runs), sum(singles)
    shown = ", ".join(f"{run:.1f}" for run in runs)
    print(f"--batch of {args.copies} copies, --jobs {args.jobs}: {batch:7.1f} s (median of {shown})")
    print(f"{args.copies} x python -m grader hw1 solutions/hw1: {sequential:7.1f} s")
    print(f"ratio: {sequential / batch:.2f} (bar: 4.00)")
    # Wall time on a shared machine drifts; the CPU spent drifts less, and shows where a change acts.
    batch_cpu, single_cpu = statistics.median(CPU["batch"]), sum(CPU["single"])
    print(f"CPU: batch {batch_cpu:.1f} s (median), single runs {single_cpu:.1f} s, ratio {single_cpu / batch_cpu:.2f}")


if __name__ == "__main__":
    main()
