"""Run tests/escape.py's probes in real workers at one isolation level; JSON in (argv[1]), JSON out (stdout).

A script, not a test: tests/test_isolation.py runs it as root and, through ``setpriv``, as an unprivileged
user, in a fresh interpreter each time (a zygote must be forked before any torch op of its process).
Each call runs in a fresh worker; after the sandbox is closed the script reports what is left on the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.append(pid)
        except OSError:
            pass
    return alive


def _sysv_keys() -> list[int]:
    keys = []
    for table in ("shm", "msg"):
        with open(f"/proc/sysvipc/{table}") as handle:
            keys += [int(line.split()[0]) for line in handle.readlines()[1:]]
    return keys


def _stat(pid: str) -> tuple[int, int]:
    """Process ``pid``'s parent and start time (in clock ticks since boot), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        fields = handle.read().rsplit(b")", 1)[1].split()
    return int(fields[1]), int(fields[19])


def _descendants() -> set[tuple[int, int]]:
    """This process's descendants now, as (pid, start time): a pid alone could be another's later."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                parent, started = _stat(entry.name)
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append((int(entry.name), started))
    found: set[tuple[int, int]] = set()
    todo = [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child[0])
    return found


def _processes_of(uid: int, ours: set[tuple[int, int]]) -> list[int]:
    """The processes (not zombies) of user ``uid`` that are among ``ours``: other graders running on this machine
    at the same time, with workers of the same user, are none of this run's business."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                with open(f"/proc/{entry.name}/status") as handle:
                    fields = dict(line.split(":", 1) for line in handle if ":" in line)
                mine = (int(entry.name), _stat(entry.name)[1]) in ours
                if mine and int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z"):
                    found.append(int(entry.name))
            except (OSError, KeyError, ValueError, IndexError):
                pass
    return found


def main() -> None:
    config = json.loads(sys.argv[1])
    from grader.sandbox import Limits, Sandbox, Session, isolation

    if config.get("level"):
        isolation.force(config["level"])
    limits = Limits(
        call_seconds=config.get("timeout", 20), memory_mb=config.get("memory_mb", 256), processes=config["processes"]
    )
    base = Path(config["base"])
    for name in ("submission", "home", "scratch"):
        (base / name).mkdir()
    shutil.copyfile(Path(__file__).with_name("escape.py"), base / "submission" / "escape.py")
    (base / "scratch" / "input.txt").write_text("the checks' input\n")
    sandbox = Sandbox(limits, preload=("torch",), forbid=tuple(Path(p) for p in config.get("forbid", ())))
    worker = sandbox.isolation
    owner = None if worker.contained or worker.uid == os.geteuid() else (worker.uid, worker.gid)
    if owner is not None:  # as grader.runner's workspace: the worker's own user writes its copy and homes
        base.chmod(0o711)
        for path in (base / "submission", *(base / "submission").iterdir()):
            os.chown(path, *owner)
    results: dict[str, object] = {"level": sandbox.isolation.level, "grader_pid": os.getpid()}
    started_here = _descendants()  # what this run started, recorded while it is still a descendant (the zygote,
    # each worker and whatever a worker started): a process left after grading was one of these
    for label, function, *args in config["calls"]:
        args = [os.getpid() if arg == "$grader_pid" else arg for arg in args]
        args = [[str(base / "scratch" / "input.txt") if a == "$scratch" else a for a in arg] if isinstance(arg, list)
                else arg for arg in args]  # fmt: skip
        home = base / f"home-{label}"
        home.mkdir()
        if owner is not None:
            os.chown(home, *owner)
        session = Session(sandbox, base / "submission", home, read=(base / "scratch",))
        started = time.monotonic()
        try:
            results[label] = getattr(session.module("escape"), function)(*args)
        except Exception as exc:
            results[label] = {"error": type(exc).__name__, "message": str(exc)}
        results[f"{label}:seconds"] = time.monotonic() - started
        started_here |= _descendants()
        session.close()
    sandbox.close()
    time.sleep(0.2)
    daemons = results.get("daemons")
    runs_as = os.getuid() if worker.level == "userns" else worker.uid
    results["after"] = {
        "alive": _alive(daemons if isinstance(daemons, list) else []),
        "sysv": _sysv_keys(),
        "processes": _processes_of(runs_as, started_here | _descendants()),
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
