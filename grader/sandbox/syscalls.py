"""The Linux system calls the sandbox needs and Python's ``os`` module lacks, through libc.

Each wrapper raises :class:`OSError` with the call's ``errno`` and a short description of what failed, so a
failed set-up says which step broke. Numbers are given for x86-64 and 64-bit Arm, the machines courses grade
on; elsewhere the calls that need a raw number raise ``OSError(ENOSYS)``.
"""

from __future__ import annotations

import ctypes
import errno as errnos
import os
import platform

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
#: ``statvfs`` flags that a bind mount keeps from its source (a mount a user namespace may not loosen).
ST_KEPT = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | 1024 | 2048 | 4096  # noatime, nodiratime, relatime

_PR_SET_DUMPABLE = 4
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAPBSET_DROP = 24
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_KEYCTL_JOIN_SESSION_KEYRING = 1

#: Raw system call numbers by machine: only those libc does not wrap on every distribution.
_NUMBERS = {
    "x86_64": {"pivot_root": 155, "capset": 126, "keyctl": 250},
    "aarch64": {"pivot_root": 41, "capset": 91, "keyctl": 219},
}
MACHINE = platform.machine()

_libc = ctypes.CDLL(None, use_errno=True)


def check(result: int, what: str) -> int:
    """Raise an :class:`OSError` naming ``what`` when a libc call returned -1."""
    if result == -1:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")
    return result


def _number(name: str) -> int:
    try:
        return _NUMBERS[MACHINE][name]
    except KeyError:
        raise OSError(errnos.ENOSYS, f"{name}: no system call number known for {MACHINE}") from None


def unshare(flags: int) -> None:
    """Move this process into new namespaces (``CLONE_NEW*`` flags)."""
    check(_libc.unshare(flags), "unshare")


def setns(fd: int, kind: int) -> None:
    """Enter the namespace the descriptor ``fd`` refers to."""
    check(_libc.setns(fd, kind), "setns")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """mount(2); ``None`` passes NULL."""
    encoded = [None if value is None else os.fsencode(value) for value in (source, target, fstype, data)]
    check(_libc.mount(encoded[0], encoded[1], encoded[2], ctypes.c_ulong(flags), encoded[3]), f"mount {target}")


def umount(target: str, flags: int = 0) -> None:
    """umount2(2)."""
    check(_libc.umount2(os.fsencode(target), flags), f"unmount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    """pivot_root(2): ``new_root`` becomes ``/``; the old root is moved to ``put_old``."""
    check(_libc.syscall(_number("pivot_root"), os.fsencode(new_root), os.fsencode(put_old)), "pivot_root")


def set_dumpable(dumpable: bool) -> None:
    """Whether other processes of the same user may read this one's memory and ``/proc`` files (environ, mem)."""
    check(_libc.prctl(_PR_SET_DUMPABLE, int(dumpable), 0, 0, 0), "PR_SET_DUMPABLE")


def no_new_privs() -> None:
    """Nothing this process or its children execute can gain privileges (set-user-ID files, capabilities)."""
    check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_bounding_set() -> None:
    """Empty the capability bounding set: no program this process runs can gain a capability back."""
    for capability in range(64):
        if _libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            break  # past the last capability this kernel knows (EINVAL), or already without CAP_SETPCAP


def drop_capabilities() -> None:
    """Give up every capability, the bounding set too: nothing can be regained, not even by a new program."""
    drop_bounding_set()
    header = _CapHeader(version=0x20080522, pid=0)
    data = (_CapData * 2)()
    check(_libc.syscall(_number("capset"), ctypes.byref(header), ctypes.byref(data)), "capset")


def join_new_session_keyring() -> None:
    """Replace the inherited session keyring (the grading user's) with a fresh, anonymous one."""
    check(_libc.syscall(_number("keyctl"), _KEYCTL_JOIN_SESSION_KEYRING, None, 0, 0, 0), "keyctl")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_seccomp(program: bytes) -> None:
    """Install a classic-BPF seccomp filter (``program``: packed ``sock_filter`` entries) on this thread.

    Needs :func:`no_new_privs` first (or CAP_SYS_ADMIN); children inherit the filter and cannot remove it.
    """
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.addressof(buffer))
    check(_libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def close_descriptors(keep: set[int]) -> None:
    """Close every descriptor above 2 except ``keep``: nothing the grading process had open reaches student code."""
    limit = os.sysconf("SC_OPEN_MAX")
    start = 3
    for fd in sorted(number for number in keep if number >= 3):
        os.closerange(start, fd)
        start = fd + 1
    os.closerange(start, limit)
