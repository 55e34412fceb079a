"""Operating-system isolation of a worker, the strongest the machine allows.

As root on Linux (a CI runner, a TA's container), each worker gets:

- its own PID namespace, in which it is PID 1: when it ends, the kernel ends
  everything it started, ``setsid`` and double forks included, and it cannot
  see or signal any process of the grader;
- its own mount namespace: the whole machine read-only, a fresh ``/proc`` and
  an empty ``/tmp``, its workspace bound back writable, and the paths that hold
  secrets (reference solutions, checks, other submissions, credentials) covered
  by empty read-only tmpfs mounts;
- its own network namespace (no interface but a down loopback: no network);
- cgroups capping its memory (the kernel's OOM killer, reported as a memory
  limit) and its number of processes;
- no capabilities left afterwards, so none of this can be undone from inside.

Anywhere else (not root, not Linux) it falls back to a process session, a child
subreaper, resource limits and resident-memory polling by the trusted process
(see :mod:`grader.sandbox.client`). :func:`level` says which applies.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_CLONE_NEWNS = 0x00020000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_AT_FDCWD, _AT_RECURSIVE = -100, 0x8000
_SYS_MOUNT_SETATTR = 442
_SYS_CAPSET = 126
_PR_SET_NO_NEW_PRIVS, _PR_CAPBSET_DROP = 38, 24
_CGROUP_ROOT = Path("/sys/fs/cgroup")
#: Folders every worker gets empty, fresh tmpfs mounts on.
_TEMPORARY = ("/tmp", "/dev/shm", "/var/tmp")

#: Credentials and caches under a home folder that student code has no business reading.
HOME_SECRETS = (
    ".ssh",
    ".gnupg",
    ".aws",
    ".config",
    ".netrc",
    ".git-credentials",
    ".docker",
    ".kube",
    ".pypirc",
    ".cache",
    ".local/share",
    ".bash_history",
    ".python_history",
)


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


@functools.cache
def level() -> str:
    """``"namespaces"`` when workers get the full isolation above, else ``"session"``.

    Being root is not enough (a container may forbid namespaces or new mounts): a
    throwaway process tries the whole set-up once, and only its success counts.
    """
    if os.name != "posix" or os.uname().sysname != "Linux" or os.geteuid() != 0:
        return "session"
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for _ in range(2):  # twice: the second fork checks that the zygote's way back works too
                own = new_pid_namespace()
                inner = os.fork()
                if inner == 0:
                    status = 1
                    try:
                        os.close(own)
                        unshare()
                        build_view([], [])
                        drop_privileges()
                        status = 0 if os.getpid() == 1 else 1
                    finally:
                        os._exit(status)
                back_to_pid_namespace(own)
                if os.waitstatus_to_exitcode(os.waitpid(inner, 0)[1]) != 0:
                    break
            else:
                code = 0
        finally:
            os._exit(code)
    return "namespaces" if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0 else "session"


# A peak this close to the cap counts as reaching it (the kernel charges in batches of pages).
_LIMIT_SLACK = 1 << 20


@dataclass(frozen=True)
class Cgroups:
    """The cgroup folders of one worker (cgroup v1 memory and pids controllers), where writable."""

    folders: tuple[str, ...]

    @classmethod
    def create(cls, name: str, memory_mb: int, max_processes: int) -> Cgroups:
        """Make this worker's cgroups under the grader's own; empty when cgroups cannot be used."""
        folders = []
        settings = {
            "memory": {
                "memory.limit_in_bytes": str(memory_mb * 1024 * 1024),
                "memory.swappiness": "0",
                "memory.memsw.limit_in_bytes": str(memory_mb * 1024 * 1024),
            },
            "pids": {"pids.max": str(max_processes)},
        }
        for controller, values in settings.items():
            folder = _own_cgroup(controller)
            if folder is None:
                continue
            folder = folder / name
            try:
                folder.mkdir()
                for key, value in values.items():
                    with contextlib.suppress(FileNotFoundError):
                        (folder / key).write_text(value)
            except OSError:
                with contextlib.suppress(OSError):
                    folder.rmdir()
                continue
            folders.append(str(folder))
        return cls(tuple(folders))

    @property
    def limits_memory(self) -> bool:
        """Whether the kernel enforces the memory limit (else the trusted process polls memory use)."""
        return any(folder.startswith(str(_CGROUP_ROOT / "memory")) for folder in self.folders)

    def join(self) -> None:
        """Move the calling process into these cgroups (its children follow)."""
        for folder in self.folders:
            Path(folder, "cgroup.procs").write_text(str(os.getpid()))

    def out_of_memory(self) -> bool:
        """Whether the kernel's OOM killer acted in the memory cgroup."""
        for folder in self.folders:
            control = Path(folder, "memory.oom_control")
            if control.exists():
                for line in control.read_text().splitlines():
                    if line.startswith("oom_kill ") and int(line.split()[1]) > 0:
                        return True
        return False

    def reached_limit(self) -> bool:
        """Whether the worker's memory use ever reached its limit (the kernel then reclaims, swaps or kills).

        ``memory.failcnt`` says so on most kernels; some (6.x) leave it at 0, so the peak is compared too.
        """
        for folder in self.folders:
            for prefix in ("memory.", "memory.memsw."):
                try:
                    failures = int(Path(folder, prefix + "failcnt").read_text())
                    peak = int(Path(folder, prefix + "max_usage_in_bytes").read_text())
                    limit = int(Path(folder, prefix + "limit_in_bytes").read_text())
                except (OSError, ValueError):
                    continue
                if failures > 0 or peak >= limit - _LIMIT_SLACK:
                    return True
        return False

    def destroy(self) -> None:
        """Kill whatever is left in the cgroups and remove them (waiting up to 2 s for exits)."""
        deadline = time.monotonic() + 2
        for folder in self.folders:
            while time.monotonic() < deadline:
                try:
                    os.rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    pass
                with contextlib.suppress(OSError):
                    for pid in Path(folder, "cgroup.procs").read_text().split():
                        with contextlib.suppress(OSError):
                            os.kill(int(pid), 9)
                time.sleep(0.005)


def remove_stale_cgroups() -> None:
    """Remove worker cgroups left by grading processes that were killed (``grader-<pid>-<n>``, pid gone)."""
    for controller in ("memory", "pids"):
        folder = _own_cgroup(controller)
        if folder is None:
            continue
        for child in folder.glob("grader-*-*"):
            owner = child.name.split("-")[1]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                with contextlib.suppress(OSError):
                    child.rmdir()


def _own_cgroup(controller: str) -> Path | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            folder = _CGROUP_ROOT / controller / path.lstrip("/")
            return folder if os.access(folder, os.W_OK) else None
    return None


def memory_capped() -> bool:
    """Whether workers get a memory cgroup (which also counts what they write to a tmpfs)."""
    return level() == "namespaces" and _own_cgroup("memory") is not None


def new_pid_namespace() -> int:
    """Make the next child this process forks PID 1 of a new PID namespace; this process stays where it is.

    Returns a descriptor of this process's own PID namespace, for :func:`back_to_pid_namespace` (the
    child must close it).
    """
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.unshare(_CLONE_NEWPID), "unshare the PID namespace")
    except OSError:
        os.close(own)
        raise
    return own


def back_to_pid_namespace(own: int) -> None:
    """After the fork: children forked later go to this process's own PID namespace again (and may get a new one)."""
    try:
        _check(_libc.setns(own, _CLONE_NEWPID), "back to the own PID namespace")
    finally:
        os.close(own)


def unshare() -> None:
    """In the worker (PID 1 of its PID namespace): its own mount and network namespaces."""
    _check(_libc.unshare(_CLONE_NEWNS | _CLONE_NEWNET), "unshare")


def build_view(keep: list[str], hide: list[str], read: list[str] | None = None) -> None:
    """In the new mount namespace: everything read-only, fresh /proc and /tmp, ``keep`` writable, ``hide`` empty.

    ``read`` (the checks' input files) is bound back read-only where a fresh temporary folder covers it:
    the trusted process writes there, so student code must not plant a link or a FIFO in its way. Where
    Python imports from lies under a temporary folder (a virtual environment in /tmp, say), that folder is
    bound back read-only too: modules imported lazily (PIL's image plugins, parts of torch) must still be
    found.
    """
    _check(_libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "make / private")
    kept = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in keep]
    readable = [*(read or ()), *_import_roots_in_temporary(hide)]
    imports = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in readable]
    _check(_libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None), "mount /proc")
    for path in hide:
        _cover(path)
    attr = _MountAttr(attr_set=_MS_RDONLY)
    _check(
        _libc.syscall(_SYS_MOUNT_SETATTR, _AT_FDCWD, b"/", _AT_RECURSIVE, ctypes.byref(attr), ctypes.sizeof(attr)),
        "make the machine read-only",
    )
    for tmp in _TEMPORARY:
        if os.path.isdir(tmp):
            _check(
                _libc.mount(b"tmpfs", tmp.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, b"size=256m,mode=1777"),
                f"mount {tmp}",
            )
    for path, fd in imports:
        os.makedirs(path, exist_ok=True)
        _check(
            _libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, _MS_BIND | _MS_REC, None), f"bind {path}"
        )
        _check(
            _libc.mount(None, path.encode(), None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV, None),
            f"make {path} read-only",
        )
        os.close(fd)
    for path, fd in kept:
        os.makedirs(path, exist_ok=True)
        _check(
            _libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, _MS_BIND | _MS_REC, None), f"bind {path}"
        )
        _check(
            _libc.mount(None, path.encode(), None, _MS_REMOUNT | _MS_BIND | _MS_NOSUID | _MS_NODEV, None),
            f"make {path} writable",
        )
        os.close(fd)


def _import_roots_in_temporary(hide: list[str]) -> list[str]:
    """The folders on ``sys.path`` that the fresh temporary folders would shadow, minus any near a secret."""
    roots = set()
    for entry in sys.path:
        path = os.path.realpath(entry or os.getcwd())
        if not os.path.isdir(path) or not any(_within(path, folder) for folder in _TEMPORARY):
            continue
        if any(_within(path, secret) or _within(secret, path) for secret in hide):
            continue
        roots.add(path)
    return sorted(roots)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _cover(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        _check(
            _libc.mount(b"tmpfs", path.encode(), b"tmpfs", _MS_RDONLY | _MS_NOSUID | _MS_NODEV, b"size=4k"),
            f"hide {path}",
        )
    elif os.path.isfile(path):
        _check(_libc.mount(b"/dev/null", path.encode(), None, _MS_BIND, None), f"hide {path}")


def drop_privileges() -> None:
    """Give up every capability for good: nothing above can be undone from inside."""
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    for capability in range(64):
        if _libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            break
    header = _CapHeader(version=0x20080522, pid=0)
    data = (_CapData * 2)()
    _check(_libc.syscall(_SYS_CAPSET, ctypes.byref(header), ctypes.byref(data)), "capset")
