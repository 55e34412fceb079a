"""Which device student code runs on: ``--device auto|cpu|cuda``.

The grading process never initialises CUDA: it forks the zygote that forks every
worker, and a process forked after CUDA is initialised cannot use it. So whether
a GPU is there is asked of NVML (which does not initialise CUDA), or, where NVML
cannot answer, of a throwaway interpreter. Workers initialise CUDA themselves.
"""

from __future__ import annotations

import subprocess
import sys

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
