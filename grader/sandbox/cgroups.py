"""Memory and process limits for workers through cgroups, v1 or v2, as this host has them.

Nothing is assumed: :func:`detect` reads which hierarchies are mounted where (``/proc/self/mountinfo``) and
where this process sits in them (``/proc/self/cgroup``), and says for the ``memory`` and ``pids``
controllers which hierarchy has them and whether this process may make cgroups there:

- **v1** (older distributions, this project's development VM): a hierarchy per controller;
- **v2** (current Ubuntu and Debian, GitHub's runners, most containers): one unified hierarchy;
- **hybrid**: v1 controllers beside a unified hierarchy (systemd's hybrid mode), each controller used
  where it is attached;
- **none**: no cgroup file system, or none this process may write (a container's read-only
  ``/sys/fs/cgroup``); limits then fall back to what the trusted side can do (memory polling, rlimits).

Each worker gets a cgroup of its own (:class:`WorkerCgroup`), made by the zygote under the grading
process's: a memory limit enforced by the kernel's OOM killer, no swap, and a cap on its processes.
On v2, controllers can be handed to child cgroups only by a cgroup without processes of its own, so
:func:`delegate` first moves the processes of this cgroup into a leaf child (``grader-leaf``), as
container runtimes do, and enables ``memory`` and ``pids`` for its children.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

#: The child this process (and whoever shared its v2 cgroup) moves to, so that its own cgroup may delegate.
LEAF = "grader-leaf"
#: A peak this close to the cap counts as reaching it (the kernel charges in batches of pages).
_LIMIT_SLACK = 1 << 20
_CONTROLLERS = ("memory", "pids")


@dataclass(frozen=True)
class Controller:
    """Where one controller is attached and the folder of this process's cgroup in it."""

    name: str
    version: int
    #: This process's cgroup (for v2 after :func:`delegate`: the one whose children workers get).
    folder: str
    #: Whether this process may make cgroups there; when not, :attr:`reason` says why.
    usable: bool
    reason: str = ""


@dataclass(frozen=True)
class Layout:
    """The host's cgroup set-up as this process sees it."""

    kind: str  # "v1", "v2", "hybrid" or "none"
    memory: Controller | None
    pids: Controller | None

    def usable(self) -> tuple[Controller, ...]:
        """The controllers workers can be limited with."""
        return tuple(c for c in (self.memory, self.pids) if c is not None and c.usable)

    def describe(self) -> str:
        """One line for reports: which limits the kernel enforces, and why others are not."""
        parts = []
        for name, controller in (("memory", self.memory), ("processes", self.pids)):
            if controller is not None and controller.usable:
                parts.append(f"{name}: cgroup v{controller.version}")
            else:
                why = controller.reason if controller is not None else f"no {name} controller"
                parts.append(f"{name}: not limited by the kernel ({why})")
        return f"cgroups {self.kind}; " + "; ".join(parts)


@dataclass(frozen=True)
class _Mount:
    version: int
    root: str
    point: str
    controllers: frozenset[str]


def _mounts(mountinfo: str) -> list[_Mount]:
    found = []
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        root, point = _unescape(fields[3]), _unescape(fields[4])
        if tail[0] == "cgroup2":
            found.append(_Mount(2, root, point, frozenset()))
        else:
            options = frozenset(tail[2].split(","))
            found.append(_Mount(1, root, point, frozenset(o for o in options if o in _CONTROLLERS)))
    return found


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def _memberships(proc_cgroup: str) -> tuple[dict[str, str], str | None]:
    """This process's cgroup per v1 controller, and its v2 cgroup (None when it has none)."""
    v1: dict[str, str] = {}
    v2 = None
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            v2 = path
        for name in controllers.split(","):
            v1[name] = path
    return v1, v2


def _within(mount: _Mount, path: str) -> str | None:
    """The folder of cgroup ``path`` under ``mount``, or None when the mount does not show it."""
    root = mount.root.rstrip("/")
    if path != root and not path.startswith(root + "/") and root:
        return None
    return os.path.join(mount.point, path[len(root) :].lstrip("/"))


def detect(proc_cgroup: str | None = None, mountinfo: str | None = None, prefix: str = "") -> Layout:
    """The cgroup layout from ``/proc/self/cgroup`` and ``/proc/self/mountinfo`` (read when not given).

    ``prefix`` is put before every folder (tests build fake cgroup trees under a temporary folder).
    """
    try:
        proc_cgroup = Path("/proc/self/cgroup").read_text() if proc_cgroup is None else proc_cgroup
        mountinfo = Path("/proc/self/mountinfo").read_text() if mountinfo is None else mountinfo
    except OSError:
        return Layout("none", None, None)
    mounts = _mounts(mountinfo)
    v1_paths, v2_path = _memberships(proc_cgroup)
    has_v1 = any(m.version == 1 and m.controllers for m in mounts)
    unified = next((m for m in mounts if m.version == 2), None)
    kind = "hybrid" if has_v1 and unified else "v1" if has_v1 else "v2" if unified else "none"
    found: dict[str, Controller | None] = {}
    for name in _CONTROLLERS:
        found[name] = None
        v1 = next((m for m in mounts if m.version == 1 and name in m.controllers), None)
        if v1 is not None and name in v1_paths:
            folder = _within(v1, v1_paths[name])
            found[name] = _controller(name, 1, prefix + folder if folder else None)
        elif unified is not None and v2_path is not None:
            folder = _within(unified, v2_path)
            if folder is not None and os.path.basename(folder) == LEAF:
                folder = os.path.dirname(folder)  # moved there by an earlier delegate(): delegate from above it
            found[name] = _v2_controller(name, prefix + folder if folder else None)
    return Layout(kind, found["memory"], found["pids"])


def _controller(name: str, version: int, folder: str | None) -> Controller:
    if folder is None:
        return Controller(name, version, "", False, "this process's cgroup is outside the mounted hierarchy")
    if not os.access(folder, os.W_OK):
        return Controller(name, version, folder, False, f"{folder} is not writable")
    return Controller(name, version, folder, True)


def _v2_controller(name: str, folder: str | None) -> Controller | None:
    if folder is None:
        return _controller(name, 2, None)
    try:
        available = Path(folder, "cgroup.controllers").read_text().split()
    except OSError:
        return Controller(name, 2, folder, False, f"{folder} cannot be read")
    if name not in available:
        return None  # the unified hierarchy does not have it: not a v2 controller here
    return _controller(name, 2, folder)


def delegate(layout: Layout) -> Layout:
    """Make this process's v2 cgroup able to give its children memory and process limits (see module docs).

    v1 controllers need nothing. A v2 controller that cannot be delegated comes back unusable, with the
    reason. Call it once, before forking grading processes and zygotes: it may move this process.
    """
    for name in _CONTROLLERS:
        controller = getattr(layout, name)
        if controller is None or controller.version != 2 or not controller.usable:
            continue
        folder = Path(controller.folder)
        wanted = [c.name for c in layout.usable() if c.version == 2]
        try:
            _enable(folder, wanted)
        except OSError as exc:
            unusable = replace(controller, usable=False, reason=f"cannot delegate in {folder}: {exc.strerror}")
            layout = replace(layout, **{name: unusable})
    return layout


def _enable(folder: Path, names: list[str]) -> None:
    """Enable ``names`` for the children of ``folder``, first moving its processes into the leaf if need be."""
    enabled = set(Path(folder, "cgroup.subtree_control").read_text().split())
    missing = [name for name in names if name not in enabled]
    if not missing:
        return
    request = " ".join(f"+{name}" for name in missing)
    try:
        Path(folder, "cgroup.subtree_control").write_text(request)
        return
    except OSError as exc:
        if exc.errno != 16:  # EBUSY: processes live in this cgroup ("no internal processes")
            raise
    leaf = folder / LEAF
    leaf.mkdir(exist_ok=True)
    for _ in range(10):  # processes may fork while they are moved: a few rounds catch their children
        pids = Path(folder, "cgroup.procs").read_text().split()
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, OSError):
                Path(leaf, "cgroup.procs").write_text(pid)
    Path(folder, "cgroup.subtree_control").write_text(request)


@dataclass(frozen=True)
class WorkerCgroup:
    """The cgroup folders of one worker (one per hierarchy: v1 memory and pids, or one v2 cgroup)."""

    folders: tuple[tuple[int, str], ...]  # (version, folder)
    memory_bytes: int = 0

    @classmethod
    def create(cls, layout: Layout, name: str, memory_mb: int, processes: int) -> WorkerCgroup:
        """Make worker ``name``'s cgroups with their limits; empty where cgroups cannot be used."""
        memory = memory_mb * 1024 * 1024
        settings: dict[tuple[int, str], dict[str, str]] = {}
        for controller in layout.usable():
            key = (controller.version, os.path.join(controller.folder, name))
            values = settings.setdefault(key, {})
            if controller.name == "memory" and controller.version == 1:
                values.update(
                    {
                        "memory.limit_in_bytes": str(memory),
                        "memory.swappiness": "0",
                        "memory.memsw.limit_in_bytes": str(memory),
                    }
                )
            elif controller.name == "memory":
                values.update({"memory.max": str(memory), "memory.swap.max": "0", "memory.oom.group": "1"})
            else:
                values["pids.max"] = str(processes)
        made = []
        for (version, folder), values in settings.items():
            try:
                os.mkdir(folder)
                for key, value in values.items():
                    with contextlib.suppress(FileNotFoundError):  # memsw and swap files exist only with swap
                        Path(folder, key).write_text(value)
            except OSError:
                with contextlib.suppress(OSError):
                    os.rmdir(folder)
                continue
            made.append((version, folder))
        limited = any(c.name == "memory" for c in layout.usable())
        return cls(tuple(made), memory if limited and made else 0)

    @property
    def limits_memory(self) -> bool:
        """Whether the kernel enforces the memory limit (else the trusted process polls memory use)."""
        return self.memory_bytes > 0

    def join(self) -> None:
        """Move the calling process into these cgroups (its children follow)."""
        for _, folder in self.folders:
            Path(folder, "cgroup.procs").write_text(str(os.getpid()))

    def out_of_memory(self) -> bool:
        """Whether the kernel's OOM killer acted in the worker's memory cgroup."""
        for version, folder in self.folders:
            if version == 1:
                fields = _fields(Path(folder, "memory.oom_control"))
            else:
                fields = _fields(Path(folder, "memory.events"))
            if fields.get("oom_kill", 0) > 0:
                return True
        return False

    def reached_limit(self) -> bool:
        """Whether the worker's memory use ever reached its limit (the kernel then reclaims, swaps or kills).

        v1's ``memory.failcnt`` says so on most kernels; some (6.x) leave it at 0, so the peak is compared
        too. v2 counts it in ``memory.events`` (``max``) and keeps the peak in ``memory.peak`` (5.19 and later).
        """
        for version, folder in self.folders:
            if version == 2:
                if _fields(Path(folder, "memory.events")).get("max", 0) > 0:
                    return True
                if _number(Path(folder, "memory.peak")) >= self.memory_bytes - _LIMIT_SLACK > 0:
                    return True
                continue
            for prefix in ("memory.", "memory.memsw."):
                failures = _number(Path(folder, prefix + "failcnt"))
                peak = _number(Path(folder, prefix + "max_usage_in_bytes"))
                limit = _number(Path(folder, prefix + "limit_in_bytes"))
                if failures > 0 or (limit > 0 and peak >= limit - _LIMIT_SLACK):
                    return True
        return False

    def destroy(self) -> None:
        """Kill whatever is left in the cgroups and remove them (waiting up to 2 s for exits)."""
        deadline = time.monotonic() + 2
        for _, folder in self.folders:
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


def _fields(path: Path) -> dict[str, int]:
    """A flat-keyed cgroup file (``name value`` per line) as numbers; empty when it cannot be read."""
    found = {}
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            with contextlib.suppress(ValueError):
                found[key] = int(value)
    return found


def _number(path: Path) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def remove_stale(layout: Layout) -> None:
    """Remove worker cgroups left by zygotes that were killed (``grader-<pid>-<n>``, pid gone)."""
    for controller in layout.usable():
        for child in Path(controller.folder).glob("grader-*-*"):
            owner = child.name.split("-")[1]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                with contextlib.suppress(OSError):
                    child.rmdir()
