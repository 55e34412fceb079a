"""Which device student code runs on (``--device auto|cpu|cuda``), and how many cores a batch may use.

The grading process never initialises CUDA: it forks the zygote that forks every
worker, and a process forked after CUDA is initialised cannot use it. So whether
a GPU is there is asked of NVML (which does not initialise CUDA), or, where NVML
cannot answer, of a throwaway interpreter. Workers initialise CUDA themselves.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

from grader.errors import UsageError

CHOICES = ("auto", "cpu", "cuda")


def resolve(choice: str) -> str:
    """``cpu`` or ``cuda`` for a ``--device`` choice; a UsageError when ``cuda`` is asked for and absent."""
    if choice == "cpu":
        return "cpu"
    available = cuda_available()
    if choice == "cuda" and not available:
        raise UsageError("--device cuda, but no CUDA GPU is usable here; grade with --device cpu (or auto).")
    return "cuda" if available else "cpu"


def cuda_available() -> bool:
    """Whether a CUDA GPU is usable, without initialising CUDA in this process."""
    import torch

    if not torch.backends.cuda.is_built():
        return False
    count = torch.cuda._device_count_nvml()
    if count >= 0:
        return count > 0
    try:
        done = subprocess.run(
            [sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.stdout.strip() == "True"


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by a cgroup CPU quota (a container's --cpus).

    ``os.cpu_count()`` counts the whole machine: in a container allowed 2 CPUs on a 64-core host, 64
    grading processes (each with its worker) would share 2 cores and hold 64 times the memory.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(cores, math.ceil(quota))) if quota else max(1, cores)


def _cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup"), table: Path = Path("/proc/self/cgroup")) -> float | None:
    """The smallest CPU quota (in cores) on this process's cgroup or an ancestor; None when there is none."""
    try:
        lines = table.read_text().splitlines()
    except OSError:
        return None
    quotas = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # cgroup v2: cpu.max holds "QUOTA PERIOD" or "max PERIOD"
            folder, read = root, _v2_quota
        elif "cpu" in controllers.split(","):
            folder, read = root / controllers, _v1_quota
        else:
            continue
        parts = [part for part in path.split("/") if part]
        for depth in range(len(parts) + 1):
            quota = read(folder.joinpath(*parts[:depth]))
            if quota:
                quotas.append(quota)
    return min(quotas) if quotas else None


def _v1_quota(folder: Path) -> float | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def _v2_quota(folder: Path) -> float | None:
    try:
        quota, period = (folder / "cpu.max").read_text().split()
        return int(quota) / int(period) if quota != "max" and int(period) > 0 else None
    except (OSError, ValueError):
        return None
