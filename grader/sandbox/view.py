"""The worker's file system: an allow-list of the machine, built from nothing in every worker.

The trusted process plans the view once (:func:`plan`, plain data); each worker builds it in its own
mount namespace before any student code runs (:func:`build`) and then makes it its root. It holds:

- read-only: the interpreter and its standard library; the site-packages and other import folders of the
  running environment; of the grader package only what runs in the worker (``grader/__init__.py``,
  ``errors.py``, ``sandbox/``, ``probes/``), wherever it is installed (editable, wheel, venv anywhere); the
  shared libraries (the loader's folders: ``/lib``, ``/usr/lib``, ``ld.so.conf``'s, ``LD_LIBRARY_PATH``'s)
  and what the loader reads from ``/etc``; the checks' input folder;
- ``/etc/passwd`` and ``/etc/group`` naming only the worker's user;
- ``/dev`` with ``null``, ``zero``, ``full``, ``random``, ``urandom`` (and the NVIDIA devices on a GPU
  runner): no terminals, disks or consoles;
- a fresh ``/proc`` of the worker's PID namespace, and ``/sys/devices/system`` (CPU and NUMA topology,
  which OpenMP and libc read; all of ``/sys`` on a GPU runner, which CUDA reads);
- writable, on one size-capped tmpfs of the worker's own (counted against its memory cgroup, gone with it):
  a fresh copy of the submission, its home, ``/tmp`` and ``/dev/shm``.

Nothing else: no ``/home``, ``/root``, ``/run``, ``/var``, ``/mnt``, no repository, ``.git``, ``tests/``,
``solutions/``, checks, class folder or output folder. A symbolic link on the way to an allowed path
(``/lib -> usr/lib``, a venv's ``bin/python``) is recreated, pointing where it pointed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import site
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.sandbox import syscalls

#: What of the grader package runs in the worker; the checks, reporters and everything else stay out.
GRADER_PARTS = ("__init__.py", "errors.py", "sandbox", "probes")
#: The devices every worker gets.
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
_LOADER_FOLDERS = ("/lib", "/lib64", "/lib32", "/libx32", "/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/local/lib")
_LOADER_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/ld.so.preload")
#: Folders no import folder may hold to be bound: the temporary ones the worker gets fresh, the system's
#: trees, users' homes (a script run from /tmp, a PYTHONPATH of "/" or of a home).
_BROAD = ("/tmp", "/var/tmp", "/dev", "/proc", "/sys", "/run", "/home", "/root", "/etc", "/var", "/mnt", "/media")
#: The worker's user and group, named in its /etc/passwd (see isolation: an id no account of the host has).
USER = "student"


@dataclass(frozen=True)
class View:
    """What a worker's file system holds (plain data: it crosses to the zygote as JSON)."""

    #: Real paths bound read-only at the same place (none inside another).
    binds: tuple[str, ...] = ()
    #: Symbolic links to recreate: (path, what it points to).
    links: tuple[tuple[str, str], ...] = ()
    #: Paths inside a bound folder covered by an empty, read-only tmpfs (the grader package, forbidden paths).
    covers: tuple[str, ...] = ()
    #: The parts of the grader package bound back over its cover (when a bound folder holds the package).
    grader: tuple[str, ...] = ()
    devices: tuple[str, ...] = DEVICES
    #: Also bind all of /sys (CUDA reads the PCI tree), instead of /sys/devices/system alone.
    whole_sys: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for the control channel."""
        return {
            "binds": list(self.binds),
            "links": [list(link) for link in self.links],
            "covers": list(self.covers),
            "grader": list(self.grader),
            "devices": list(self.devices),
            "whole_sys": self.whole_sys,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> View:
        """Read :meth:`to_dict`'s form back."""
        return cls(
            binds=tuple(data["binds"]),
            links=tuple((str(path), str(target)) for path, target in data["links"]),
            covers=tuple(data["covers"]),
            grader=tuple(data["grader"]),
            devices=tuple(data["devices"]),
            whole_sys=bool(data["whole_sys"]),
        )


def plan(forbid: tuple[Path, ...] = (), cuda: bool = False) -> View:
    """The view for this interpreter and grader installation; nothing inside ``forbid`` is ever shown.

    ``forbid`` names what student code must never see even where it lies on an import path (the batch's
    class and output folders, hidden checks): a bind inside one is dropped, one inside a bind is covered.
    The folder the grader was started from (``sys.path[0]``) is never bound, nor is anything in or above a
    checkout that holds the grader package (this repository: its solutions, tests and ``.git``), nor an
    import folder that is or holds any source checkout (``.git``, ``solutions/``, ``pyproject.toml``), nor an
    import folder that holds a temporary folder, a system tree or a home (``/``, ``/tmp``, ``~``); of the
    package itself only :data:`GRADER_PARTS` are shown.
    """
    package = _real(Path(__file__).resolve().parents[1])
    sites = {_real(p) for p in (*site.getsitepackages(), site.getusersitepackages(), *_scheme_paths())}
    checkout = os.path.dirname(package) if os.path.dirname(package) not in sites else None
    forbidden = [_real(path) for path in forbid]
    broad = [_real(top) for top in (*_BROAD, os.path.expanduser("~"), tempfile.gettempdir())]
    links: dict[str, str] = {}
    wanted: list[str] = []
    for entry in (*sys.path[1:], *_scheme_paths(), *sites, *_library_folders(), *_LOADER_FILES, sys.executable):
        if not entry or not os.path.exists(entry):
            continue
        real = _chase(entry, links)
        if real not in sites and (
            (checkout is not None and (_inside(real, checkout) or _inside(checkout, real))) or _holds_a_checkout(real)
        ):
            continue  # a checkout (this one or another: solutions, tests, .git), or a folder above one
        if any(_inside(top, real) for top in broad):
            continue  # "/", /tmp, a home...: an import folder that holds far more than modules
        if not any(_inside(real, folder) for folder in forbidden):
            wanted.append(real)
    binds = _outermost(wanted)
    parts = [os.path.join(package, part) for part in GRADER_PARTS if os.path.exists(os.path.join(package, part))]
    covers = [path for path in (package, *forbidden) if any(_inside(path, bound) for bound in binds)]
    if package not in covers:  # not inside a bound folder: its parts are bound like any other path
        binds, parts = _outermost([*binds, *parts]), []
    devices = DEVICES + (tuple(sorted(glob.glob("/dev/nvidia*"))) if cuda else ())
    return View(tuple(binds), tuple(sorted(links.items())), tuple(covers), tuple(parts), devices, cuda)


def _holds_a_checkout(folder: str) -> bool:
    """Whether ``folder`` is or holds a source checkout (a grader's, or any project's) rather than modules alone."""
    if not os.path.isdir(folder):
        return False
    marks = (".git", "solutions", "pyproject.toml", os.path.join("grader", "checks"))
    if any(os.path.exists(os.path.join(folder, mark)) for mark in marks):
        return True
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        return any(
            entry.is_dir(follow_symlinks=False) and os.path.exists(os.path.join(entry.path, "grader", "checks"))
            for entry in entries
        )
    return False


def _scheme_paths() -> list[str]:
    paths = sysconfig.get_paths()
    return [paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths]


def _library_folders() -> list[str]:
    """Where the dynamic loader looks: the usual folders, ld.so.conf's, LD_LIBRARY_PATH's."""
    folders = list(_LOADER_FOLDERS)
    pending = ["/etc/ld.so.conf"]
    seen: set[str] = set()
    while pending:
        conf = pending.pop()
        if conf in seen:
            continue
        seen.add(conf)
        try:
            lines = Path(conf).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.split("#", 1)[0].strip()
            if line.startswith("include "):
                pending += sorted(glob.glob(os.path.join(os.path.dirname(conf), line.split(None, 1)[1])))
            elif line.startswith("/"):
                folders.append(line)
    folders += [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p.startswith("/")]
    return folders


def _real(path: str | Path) -> str:
    return os.path.realpath(path)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _chase(path: str, links: dict[str, str]) -> str:
    """The real path of ``path``; every symbolic link met on the way is recorded in ``links``."""
    current = "/"
    pending = [part for part in os.path.abspath(path).split("/") if part]
    hops = 0
    while pending:
        candidate = os.path.join(current, pending.pop(0))
        if os.path.islink(candidate) and hops < 40:
            hops += 1
            target = os.readlink(candidate)
            links[candidate] = target
            pending = [part for part in target.split("/") if part] + pending
            current = "/" if target.startswith("/") else current
            continue
        current = candidate
    return os.path.normpath(current)


def _outermost(paths: list[str]) -> list[str]:
    """``paths`` without those inside another one, in order."""
    kept: list[str] = []
    for path in sorted(set(paths), key=lambda p: (p.count("/"), p)):
        if not any(_inside(path, other) for other in kept):
            kept.append(path)
    return sorted(kept)


@dataclass(frozen=True)
class Workspace:
    """One worker's own paths: where its copy of the submission goes, its home, the checks' inputs."""

    root: str
    home: str
    source: str
    read: tuple[str, ...]
    #: An empty folder of the trusted side's, on which the new root is mounted before it becomes ``/``.
    mountpoint: str
    size_mb: int
    uid: int
    gid: int


def build(view: View, workspace: Workspace) -> None:
    """In a fresh mount namespace: build the view on ``workspace.mountpoint`` and make it the root.

    The worker's copy of the submission is made here from the trusted side's copy (``workspace.source``),
    so each worker starts from the submission as handed in, whatever an earlier worker wrote. The
    temporary folders come first: the host's own may hold what is bound on top of them (a virtual
    environment under /tmp, the workspace under /dev/shm).
    """
    syscalls.mount(None, "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
    new = workspace.mountpoint
    syscalls.mount("tmpfs", new, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NODEV, "size=16m,mode=0755")
    area = _work_area(new, workspace)
    _bind(new, "/tmp", writable=True, source=os.path.join(area, "tmp"))
    _devices(new, view.devices)
    _bind(new, "/dev/shm", writable=True, source=os.path.join(area, "shm"))
    for path, target in view.links:
        _link(new, path, target)
    for path in view.binds:
        _bind(new, path)
    for path in view.covers:
        _cover(new, path)
    for part in view.grader:
        _bind(new, part)
    for path in workspace.read:
        _bind(new, path)
    for system in ("/sys",) if view.whole_sys else ("/sys/devices/system",):
        if os.path.isdir(system):
            _bind(new, system)
    for path, name in ((workspace.root, "submission"), (workspace.home, "home")):
        _bind(new, path, writable=True, source=os.path.join(area, name))
    syscalls.umount(area, syscalls.MNT_DETACH)  # the binds keep the tmpfs; its own mount point goes
    os.rmdir(area)
    _etc(new, workspace)
    _mkdirs(new, "/proc")
    syscalls.mount("proc", new + "/proc", "proc", syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC)
    os.chmod(new, 0o755)
    os.chdir(new)
    syscalls.pivot_root(".", ".")  # the old root is now stacked on the new one: detach it
    syscalls.umount(".", syscalls.MNT_DETACH)
    os.chdir("/")
    syscalls.mount(None, "/", None, syscalls.MS_REMOUNT | syscalls.MS_BIND | syscalls.MS_RDONLY | _kept("/"))


def _mkdirs(new: str, path: str) -> str:
    target = new + path
    os.makedirs(target, mode=0o755, exist_ok=True)
    return target


def _link(new: str, path: str, target: str) -> None:
    _mkdirs(new, os.path.dirname(path))
    if not os.path.lexists(new + path):
        os.symlink(target, new + path)


def _kept(path: str) -> int:
    """The flags of the mount ``path`` is on that a bind of it keeps (a user namespace may not drop them)."""
    try:
        return os.statvfs(path).f_flag & syscalls.ST_KEPT & ~syscalls.MS_RDONLY
    except OSError:
        return 0


def _bind(new: str, path: str, writable: bool = False, source: str | None = None) -> None:
    """Bind ``source`` (default ``path``) at ``path`` in the view, read-only unless ``writable``."""
    source = source or path
    if os.path.isdir(source):
        target = _mkdirs(new, path)
    else:
        target = _mkdirs(new, os.path.dirname(path)) + "/" + os.path.basename(path)
        if not os.path.lexists(target):
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o644))
    syscalls.mount(source, target, None, syscalls.MS_BIND)
    flags = syscalls.MS_REMOUNT | syscalls.MS_BIND | syscalls.MS_NOSUID | _kept(source)
    if not writable:
        flags |= syscalls.MS_RDONLY
    if not path.startswith("/dev/"):
        flags |= syscalls.MS_NODEV
    syscalls.mount(None, target, None, flags)


def _cover(new: str, path: str) -> None:
    """Hide ``path`` (inside a bound folder): an empty tmpfs over a folder, /dev/null over a file."""
    target = new + path
    if os.path.isdir(target):
        syscalls.mount("tmpfs", target, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NODEV, "size=64k,mode=0755")
    elif os.path.lexists(target):
        syscalls.mount("/dev/null", target, None, syscalls.MS_BIND)
        syscalls.mount(None, target, None, syscalls.MS_REMOUNT | syscalls.MS_BIND | syscalls.MS_RDONLY)


def _work_area(new: str, workspace: Workspace) -> str:
    """The worker's writable tmpfs, one size cap for all it writes: the submission's copy, home, /tmp, /dev/shm."""
    area = _mkdirs(new, "/.work")
    options = f"size={workspace.size_mb}m,mode=0755"
    syscalls.mount("tmpfs", area, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NODEV, options)
    _copy(workspace.source, os.path.join(area, "submission"))
    for name, mode in (("home", 0o700), ("tmp", 0o1777), ("shm", 0o1777)):
        os.mkdir(os.path.join(area, name))
        os.chmod(os.path.join(area, name), mode)
    for folder, _, files in os.walk(area):
        for name in (folder, *(os.path.join(folder, f) for f in files)):
            os.lchown(name, workspace.uid, workspace.gid)
    return area


def _copy(source: str, target: str) -> None:
    """Copy the submission as the trusted side copied it (regular files and folders; nothing else writes there)."""
    shutil.copytree(source, target, symlinks=True)


def _devices(new: str, devices: tuple[str, ...]) -> None:
    target = _mkdirs(new, "/dev")
    syscalls.mount("tmpfs", target, "tmpfs", syscalls.MS_NOSUID, "size=64k,mode=0755")
    for device in devices:
        if os.path.exists(device):
            _bind(new, device, writable=True)
    for name, points_to in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0")):
        os.symlink(points_to, os.path.join(target, name))
    os.symlink("/proc/self/fd/1", os.path.join(target, "stdout"))
    os.symlink("/proc/self/fd/2", os.path.join(target, "stderr"))
    _mkdirs(new, "/dev/shm")


def _etc(new: str, workspace: Workspace) -> None:
    """Account files that name the worker's user only (Python, torch and getpass look users up)."""
    etc = _mkdirs(new, "/etc")
    user = f"{USER}:x:{workspace.uid}:{workspace.gid}::{workspace.home}:/bin/false"
    passwd = f"root:x:0:0:root:/root:/bin/false\n{user}\n"
    group = f"root:x:0:\n{USER}:x:{workspace.gid}:\n"
    for name, text in (("passwd", passwd), ("group", group)):
        if not os.path.lexists(os.path.join(etc, name)):
            Path(etc, name).write_text(text)
