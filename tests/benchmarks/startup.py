"""Wall time of grading the reference solution vs. importing what it needs.

    python tests/benchmarks/startup.py [--runs N]

The bar (issue: hw1 grader): ``python -m grader hw1 solutions/hw1`` takes at
most 2x the wall time of ``python -c "import torch, sklearn.metrics, PIL.Image"``.
Reports the median of N runs of each; stops if a grading does not pass every check.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _time(command: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, check=False, capture_output=True, stdin=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
        # Exit 0: every check passed (a grading that fails fast would time nothing worth comparing).
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} exited with {done.returncode}:\n{done.stdout.decode()[-2000:]}")
    return statistics.median(samples)


def main() -> None:
    """Print both medians and their ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    imports = _time([sys.executable, "-c", "import torch, sklearn.metrics, PIL.Image"], runs)
    grading = _time([sys.executable, "-m", "grader", "hw1", "solutions/hw1"], runs)
    print(f"import torch, sklearn.metrics, PIL.Image: {imports:.2f} s (median of {runs})")
    print(f"python -m grader hw1 solutions/hw1:       {grading:.2f} s (median of {runs})")
    print(f"ratio: {grading / imports:.2f} (bar: 2.00)")


if __name__ == "__main__":
    main()
