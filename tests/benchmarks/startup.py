"""Wall time of grading an assignment's reference solution vs. importing what it needs.

    python tests/benchmarks/startup.py [ASSIGNMENT] [--runs N]

The bar: ``python -m grader ASSIGNMENT SOLUTION`` (hw1 unless told) takes at most 2x the wall time of
importing what grading cannot do without, ``python -c "import torch, sklearn.metrics"``, plus
``PIL.Image`` for an assignment whose workers preload it (hw1's images; hw2 has none).
Reports the median of N runs of each, taken in turns (an import, a grading, an import...) so that a
machine whose speed drifts, shared with others, slows both alike; stops if a grading does not pass every
check.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from grader import assignments

ROOT = Path(__file__).resolve().parents[2]


def _time(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, check=False, capture_output=True, stdin=subprocess.DEVNULL)
    # Exit 0: every check passed (a grading that fails fast would time nothing worth comparing).
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} exited with {done.returncode}:\n{done.stdout.decode()[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    """Print both medians and their ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("assignment", nargs="?", default="hw1")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    assignment = assignments.get(args.assignment)
    floor = ["torch", "sklearn.metrics", *(["PIL.Image"] if "PIL.Image" in assignment.preload else [])]
    statement = f"import {', '.join(floor)}"
    grading_command = ["-m", "grader", assignment.name, assignment.solution]
    pairs = [
        (_time([sys.executable, "-c", statement]), _time([sys.executable, *grading_command])) for _ in range(args.runs)
    ]
    imports, grading = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    width = max(len(statement), len(" ".join(grading_command)) + 7) + 2
    print(f"{statement + ':':<{width}}{imports:.2f} s (median of {args.runs})")
    print(f"{'python ' + ' '.join(grading_command) + ':':<{width}}{grading:.2f} s (median of {args.runs})")
    print(f"ratio: {grading / imports:.2f} (bar: 2.00)")


if __name__ == "__main__":
    main()
