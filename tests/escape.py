"""A hostile student module: each function tries one way out of the sandbox and reports, as plain data, how far
it got. tests/isolation_probe.py copies it into a submission and calls it in a worker; nothing here is trusted.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import struct
import time


def whoami() -> dict[str, object]:
    """Identity, capabilities, filters and what the root folder holds."""
    status = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp"):
                status[key] = value.strip()
    return {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "groups": os.getgroups(),
        "status": status,
        "root": sorted(os.listdir("/")),
        "dev": sorted(os.listdir("/dev")),
        "fds": sorted(fd for fd, target in descriptor_targets().items() if not target.startswith("/proc/")),
        "pid": os.getpid(),
    }


def readable(paths: list[str]) -> list[str]:
    """The paths whose content (a file) or listing (a folder) could be read."""
    found = []
    for path in paths:
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                with open(path, "rb") as handle:
                    handle.read(1)
            found.append(path)
        except OSError:
            pass
    return found


def writable(paths: list[str]) -> list[str]:
    """The paths that could be opened for writing (nothing is written)."""
    found = []
    for path in paths:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY))
            found.append(path)
        except OSError:
            pass
    return found


def descriptors(numbers: list[int]) -> dict[str, list[int]]:
    """Which of the inherited descriptor ``numbers`` could be read from or written to."""
    read, written = [], []
    for fd in numbers:
        try:
            os.pread(fd, 1, 0)
            read.append(fd)
        except OSError:
            pass
        try:
            os.write(fd, b"")
            os.fstat(fd)
            written.append(fd)
        except OSError:
            pass
    return {"read": read, "written": written}


def connect(paths: list[str]) -> list[str]:
    """The Unix sockets (paths, or ``@name`` for abstract ones) and hosts (``host:port``) that answered."""
    found = []
    for path in paths:
        try:
            if ":" in path:
                host, port = path.rsplit(":", 1)
                socket.create_connection((host, int(port)), timeout=1).close()
            else:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.settimeout(1)
                    sock.connect("\0" + path[1:] if path.startswith("@") else path)
            found.append(path)
        except OSError:
            pass
    return found


_libc = ctypes.CDLL(None, use_errno=True)


def keyring(description: str) -> int:
    """Add a key to the user keyring (errno when refused, else the key's serial)."""
    serial = _libc.syscall(248, b"user", description.encode(), b"secret", 6, -4)  # add_key(..., KEY_SPEC_USER_KEYRING)
    return -ctypes.get_errno() if serial < 0 else serial


def sysv(key: int, megabytes: int) -> dict[str, int]:
    """Create a SysV shared memory segment (touched, so it takes memory) and a message queue under ``key``."""
    shm = _libc.shmget(key, megabytes << 20, 0o1000 | 0o666)  # IPC_CREAT
    if shm >= 0:
        _libc.shmat.restype = ctypes.c_void_p
        address = _libc.shmat(shm, None, 0)
        if address not in (None, ctypes.c_void_p(-1).value):
            ctypes.memset(address, 1, megabytes << 20)
    queue = _libc.msgget(key, 0o1000 | 0o666)
    return {"shm": shm, "msg": queue}


def processes(wanted: int) -> int:
    """Start up to ``wanted`` sleeping children; how many started (they are killed before returning)."""
    children = []
    for _ in range(wanted):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return len(children)


def hog_in_a_daemon(megabytes: int) -> int:
    """A child in a session of its own allocates ``megabytes``; its exit status (negative: killed by a signal)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            block = b"x" * (megabytes << 20)
            os._exit(0 if block else 1)
        finally:
            os._exit(3)  # the allocation was refused (MemoryError)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def fill(megabytes: int, places: list[str]) -> dict[str, object]:
    """Write ``megabytes`` into each of ``places`` (folders), and report what an earlier worker left there."""
    left = {place: sorted(name for name in os.listdir(place) if name.startswith("pile-")) for place in places}
    written = {}
    for place in places:
        total = 0
        try:
            with open(os.path.join(place, f"pile-{os.getpid()}-{time.monotonic_ns()}"), "wb") as handle:
                for _ in range(megabytes):
                    handle.write(b"\1" * (1 << 20))
                    total += 1
        except OSError:
            pass
        written[place] = total
    return {"left": left, "written": written}


def daemons(count: int) -> list[int]:
    """A chain of ``count`` processes, each in a session of its own, each the parent of the next; their pids.

    The pids are as this worker sees them; each process writes its pid on this machine (from /proc/self) to the
    pipe, so that the caller can check after the grading that none is left.
    """
    reader, writer = os.pipe()
    if os.fork() == 0:
        for _ in range(count):
            os.setsid()
            os.write(writer, (os.readlink("/proc/self") + "\n").encode())
            if os.fork() != 0:
                time.sleep(600)
                os._exit(0)
        time.sleep(600)
        os._exit(0)
    os.close(writer)
    data = b""
    deadline = time.monotonic() + 10
    while data.count(b"\n") < count and time.monotonic() < deadline:
        data += os.read(reader, 4096)
    return [int(line) for line in data.split()]


def environ_of(pid: int) -> str:
    """What /proc/<pid>/environ shows (the grading process's environment, where it is readable)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return handle.read().decode(errors="replace")
    except OSError as exc:
        return f"error: {exc.strerror}"


def trickle() -> None:
    """Announce a large answer on the worker's own channel, then send it a byte every half second."""
    for fd in sorted(int(name) for name in os.listdir("/proc/self/fd")):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                os.write(fd, struct.pack("<II", 1_000_000, 0))
                while True:
                    os.write(fd, b" ")
                    time.sleep(0.5)
        except OSError:
            continue


def descriptor_targets() -> dict[int, str]:
    """What each open descriptor is (as /proc shows it)."""
    found = {}
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
    return found


def memory_status() -> dict[str, str]:
    """The worker's own memory figures (/proc/self/status)."""
    with open("/proc/self/status") as handle:
        return {k: v.strip() for k, _, v in (line.partition(":") for line in handle) if k.startswith(("Vm", "Rss"))}


def hog(megabytes: int) -> int:
    """Allocate ``megabytes`` in this worker (it should not survive past the memory limit)."""
    return len(b"x" * (megabytes << 20))


def hog_steps(megabytes: int) -> int:
    """Allocate in steps of ``megabytes`` until stopped."""
    kept = []
    while True:
        kept.append(b"x" * (megabytes << 20))


def timed_allocation(megabytes: int) -> float:
    """Seconds to allocate and fill ``megabytes``."""
    started = time.monotonic()
    block = b"x" * (megabytes << 20)
    return time.monotonic() - started + 0 * len(block)


def creatable(paths: list[str]) -> list[str]:
    """The paths that could be written: an existing file opened for appending, or a new file created in a
    folder (removed again at once)."""
    found = []
    for path in paths:
        target = os.path.join(path, f"probe-{os.getpid()}") if os.path.isdir(path) else path
        existed = os.path.exists(target)
        try:
            with open(target, "a"):
                pass
            found.append(path)
            if not existed:
                os.unlink(target)
        except OSError:
            pass
    return found
