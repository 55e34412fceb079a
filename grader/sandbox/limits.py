"""Resource limits for a worker, and the OS calls that put them in place.

Wall-clock budgets and memory are enforced from the trusted side (see
:mod:`grader.sandbox.client`): ``RLIMIT_AS`` breaks ``import torch``, so memory
is watched as resident set size instead. What the kernel can enforce inside
the worker itself is set here.
"""

from __future__ import annotations

import ctypes
import os
import resource
from dataclasses import asdict, dataclass

_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15


@dataclass(frozen=True)
class Limits:
    """Per-worker limits; every field can be set from the command line."""

    call_seconds: float = 20.0
    cpu_seconds: int = 600
    memory_mb: int = 3072
    file_mb: int = 64
    open_files: int = 256
    output_kb: int = 256
    processes: int = 64
    #: The worker's writable tmpfs (its copy of the submission, home, /tmp, /dev/shm), with namespaces.
    workspace_mb: int = 512
    #: Wall-clock seconds one submission of a batch may take in all; 0: derived from ``call_seconds``.
    submission_seconds: float = 0.0

    @property
    def submission_budget(self) -> float:
        """Seconds one submission of a batch may take: a hang costs a few call budgets per module, at most
        about 3 x 4 modules (see grader.sandbox.client.Hangs), plus the grading itself."""
        return self.submission_seconds or 120 + 16 * self.call_seconds

    def to_dict(self) -> dict[str, float]:
        """Plain-data form for the control channel."""
        return asdict(self)


def enter_own_session() -> None:
    """Start a new session so the whole process group can be killed at once."""
    os.setsid()
    die_with_parent()


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent ends."""
    _prctl(_PR_SET_PDEATHSIG, 9)


def become_subreaper() -> None:
    """Make orphaned descendants reparent to this process, so they can be found and killed."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def name_process(name: str) -> None:
    """Name this process as ``top``, ``perf`` and ``/proc/PID/comm`` show it (at most 15 bytes)."""
    _prctl(_PR_SET_NAME, name.encode()[:15])


def apply(limits: Limits, cap_data: bool = False) -> None:
    """Set the kernel-enforced limits in the current (worker) process.

    ``cap_data`` (where no memory cgroup holds the worker): each process may map at most ``memory_mb`` of
    private memory beyond what it has now (RLIMIT_DATA; RLIMIT_AS would break torch, which reserves far
    more address space than it uses). A child that left the worker's session is held to it too.
    """
    if cap_data:
        _set(resource.RLIMIT_DATA, _data_bytes() + limits.memory_mb * 1024 * 1024)
    _set(resource.RLIMIT_CPU, limits.cpu_seconds)
    _set(resource.RLIMIT_FSIZE, limits.file_mb * 1024 * 1024)
    _set(resource.RLIMIT_NOFILE, limits.open_files)
    _set(resource.RLIMIT_CORE, 0)


def _data_bytes() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def _set(which: int, value: int) -> None:
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        resource.setrlimit(which, (min(value, hard), hard))


def _prctl(option: int, value: int | bytes) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the process group still works
        pass
