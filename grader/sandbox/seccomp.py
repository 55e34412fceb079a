"""The system calls student code is refused, as a seccomp filter installed in every worker.

Namespaces cover most of the machine; what they do not cover is refused here, at every isolation level:

- **keyrings** (``add_key``, ``keyctl``, ``request_key``): the kernel's keyrings are not namespaced, a key
  added to a user's keyring outlives the worker and would pass notes between two submissions of a batch;
- **new namespaces and mounts** (``unshare``, ``setns``, ``clone`` with a ``CLONE_NEW*`` flag, ``mount`` and
  its kin): student code has no business building a file system view of its own, and an unprivileged user
  namespace would hand it capabilities again, if only over that view;
- **other processes' memory** (``ptrace``, ``process_vm_readv``/``writev``): without namespaces (the session
  level) the grading user's other processes would otherwise be within reach;
- **leaving the worker's tree**: ``prctl(PR_SET_CHILD_SUBREAPER, 0)`` (the worker adopts what its processes
  leave behind, so that memory polling counts it and killing the tree ends it);
- **leaving its core** (``sched_setaffinity``): a batch pins each grading process and its workers to a core,
  and a worker that moved its busy threads to the others' would slow every other submission down;
- **large kernel interfaces nobody grading needs** (``bpf``, ``perf_event_open``, ``userfaultfd``, io_uring,
  modules, kexec, reboot, swap, accounting, file handles).

Refused calls fail with EPERM, as for a process without the privilege; ``clone3`` fails with ENOSYS, so
that libc falls back to ``clone`` (whose flags a filter can read) for threads and processes. A call made
through another architecture's numbering (x32 on x86-64) is refused; a filter for another architecture
kills the process. On a machine whose numbers are not listed here no filter is installed (see
:func:`supported`).
"""

from __future__ import annotations

import errno
import struct

from grader.sandbox import syscalls

_NAMES = [
    "add_key",
    "request_key",
    "keyctl",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "name_to_handle_at",
    "open_by_handle_at",
    "sched_setaffinity",
]

#: Per machine: the audit architecture, the numbers of the refused calls, of ``clone`` and of ``clone3``.
_TABLES: dict[str, tuple[int, dict[str, int]]] = {
    "x86_64": (
        0xC000003E,
        {
            "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272, "setns": 308, "mount": 165,
            "umount2": 166, "pivot_root": 155, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
            "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "kexec_load": 246, "kexec_file_load": 320,
            "init_module": 175, "finit_module": 313, "delete_module": 176, "reboot": 169, "swapon": 167,
            "swapoff": 168, "acct": 163, "name_to_handle_at": 303, "open_by_handle_at": 304, "clone": 56,
            "prctl": 157, "sched_setaffinity": 203,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "add_key": 217, "request_key": 218, "keyctl": 219, "unshare": 97, "setns": 268, "mount": 40,
            "umount2": 39, "pivot_root": 41, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
            "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "kexec_load": 104, "kexec_file_load": 294,
            "init_module": 105, "finit_module": 273, "delete_module": 106, "reboot": 142, "swapon": 224,
            "swapoff": 225, "acct": 89, "name_to_handle_at": 264, "open_by_handle_at": 265, "clone": 220,
            "prctl": 167, "sched_setaffinity": 122,
        },
    ),
}  # fmt: skip
#: Calls numbered alike on every architecture (added after the tables were unified, Linux 5.1 and later).
_COMMON = {
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
}  # fmt: skip
_CLONE3 = 435
#: CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET and NEWTIME.
_NAMESPACE_FLAGS = 0x7E020080
_X32_BIT = 0x40000000
#: prctl's option that would let a worker give up being its descendants' subreaper.
_PR_SET_CHILD_SUBREAPER = 36

_LOAD, _JEQ, _JGE, _JSET, _RETURN = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW = 0x7FFF0000
_KILL_PROCESS = 0x80000000
_ERRNO = 0x00050000
#: Offsets in ``struct seccomp_data``: the call's number, its architecture, the low half of its first argument.
_NR, _ARCH, _ARG0 = 0, 4, 16


def supported() -> bool:
    """Whether this machine's system call numbers are known here (x86-64, 64-bit Arm)."""
    return syscalls.MACHINE in _TABLES


def program(machine: str = syscalls.MACHINE) -> bytes:
    """The filter for ``machine``, as packed ``struct sock_filter`` entries."""
    arch, numbers = _TABLES[machine]
    numbers = {**numbers, **_COMMON}
    refused = sorted({numbers[name] for name in _NAMES})
    # Each entry: (code, jump if true, jump if false, k); jumps name labels, resolved below.
    code: list[tuple[int, str | int, str | int, int]] = [
        (_LOAD, 0, 0, _ARCH),
        (_JEQ, 0, "kill", arch),
        (_LOAD, 0, 0, _NR),
    ]
    if machine == "x86_64":
        code.append((_JGE, "deny", 0, _X32_BIT))
    code.append((_JEQ, "nosys", 0, _CLONE3))
    code.append((_JEQ, "clone", 0, numbers["clone"]))
    code.append((_JEQ, "prctl", 0, numbers["prctl"]))
    code += [(_JEQ, "deny", 0, number) for number in refused]
    code.append((_RETURN, 0, 0, _ALLOW))
    labels = {"clone": len(code)}
    code += [(_LOAD, 0, 0, _ARG0), (_JSET, "deny", 0, _NAMESPACE_FLAGS), (_RETURN, 0, 0, _ALLOW)]
    labels["prctl"] = len(code)
    code += [(_LOAD, 0, 0, _ARG0), (_JEQ, "deny", 0, _PR_SET_CHILD_SUBREAPER), (_RETURN, 0, 0, _ALLOW)]
    labels["deny"] = len(code)
    code.append((_RETURN, 0, 0, _ERRNO | errno.EPERM))
    labels["nosys"] = len(code)
    code.append((_RETURN, 0, 0, _ERRNO | errno.ENOSYS))
    labels["kill"] = len(code)
    code.append((_RETURN, 0, 0, _KILL_PROCESS))
    packed = b""
    for index, (op, true, false, k) in enumerate(code):
        jumps = [labels[j] - index - 1 if isinstance(j, str) else j for j in (true, false)]
        packed += struct.pack("=HBBI", op, jumps[0], jumps[1], k)
    return packed


def install() -> bool:
    """Install the filter on this process (children inherit it); False where this machine is not supported."""
    if not supported():
        return False
    syscalls.no_new_privs()
    syscalls.install_seccomp(program())
    return True
