"""Runs an assignment's checks (pytest, in this trusted process) against a submission.

:class:`Grader` is built once per process: it imports torch and friends, starts
the sandbox's zygote before any torch op, and then grades any number of
submissions, each in a temporary copy that is removed afterwards.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from grader import grading_key, inventory
from grader.assignments import Assignment
from grader.errors import SubmissionError
from grader.sandbox import Limits, Sandbox, isolation
from grader.shown import printable

#: What a submission may hold, copied from a folder or unpacked from a zip (see :func:`select`).
COPY_LIMIT_BYTES = 50 * 1024 * 1024
COPY_LIMIT_FILES = 2000
#: How deep a submission's folders may nest (deeper ones are refused, not walked).
DEPTH_LIMIT = 32
#: Files looked at before choosing what to copy (a folder of a million files is not read to its end).
_WALK_LIMIT_FILES = 20_000
_SHM = "/dev/shm"
#: Room /dev/shm must have to hold workspaces (Docker's default of 64 MB is too small: two copies of a
#: submission of up to 50 MB each, plus what student code writes).
_SHM_ROOM_BYTES = 1 << 30


class Grader:
    """A grading process for one assignment: one sandbox, many submissions."""

    def __init__(
        self,
        assignment: Assignment,
        limits: Limits | None = None,
        hide: tuple[Path, ...] = (),
        device: str = "cpu",
        tag: str = "",
    ) -> None:
        """``hide``: folders student code must never see, even where they lie on an import path (a batch's
        class and output folders, hidden checks); the worker's view is an allow-list in any case."""
        import torch

        self.assignment = assignment
        #: In the names of this process's temporary folders (:func:`workspace_prefix`).
        self.tag = tag or str(os.getpid())
        #: Where student code runs models and data: "cpu" or "cuda" (see grader.devices).
        self.device = device
        # The checks write the workers' inputs; a worker runs as a user of its own, which must read them.
        os.umask(0o022)
        self.sandbox = Sandbox(
            limits,
            assignment.probe_modules,
            # What workers need (the assignment's manifest says): the zygote imports it once, in parallel
            # with this process's own start-up, so no worker pays for it again.
            preload=assignment.preload,
            deferred=assignment.deferred,
            # The view is an allow-list; these are named in case one lies on an import path.
            forbid=hide + tuple(path for path in (grading_key.key_file(),) if path is not None),
            cuda=device == "cuda",
        )
        # The checks' own tensors are tiny: threads would only cost (and contend with the workers).
        torch.set_num_threads(1)
        for name in assignment.check_imports:
            importlib.import_module(name)
        # What is imported now lives as long as the process: keep the collector from walking it again and
        # again (python -m grader starts with the collector off, see grader/__main__.py).
        gc.freeze()
        gc.enable()

    def grade(
        self, submission: Path, show_tracebacks: bool = False, hidden: tuple[Path, ...] = (), progress: bool = False
    ) -> Any:
        """Grade one submission folder, with the checks of the ``hidden`` folders too.

        Returns a :class:`grader.results.GradeReport`. Pass the ``hidden`` folders to the
        constructor's ``hide`` as well, so that student code cannot read them. ``progress``: standard error
        is a terminal the student watches; a long call into their code shows there that it is running.
        """
        from grader import plugin

        started = time.monotonic()
        with (
            contextlib.ExitStack() as stack,
            tempfile.TemporaryDirectory(prefix=workspace_prefix(self.tag), dir=workspace_parent()) as tmp,
        ):
            isolation = self.sandbox.isolation
            # Without namespaces a worker that is not this process's user writes the workspace's copy itself.
            owner = None if isolation.contained or isolation.uid == os.geteuid() else (isolation.uid, isolation.gid)
            workspace = _Workspace.create(Path(tmp), submission, owner)
            problems = inventory.file_problems(submission_files(workspace.source), self.assignment.modules)
            collector = plugin.Collector(
                self.sandbox,
                workspace.root,
                workspace.source,
                workspace.home,
                workspace.scratch,
                show_tracebacks,
                hidden,
                self.device,
                self.assignment.steps,
                # pytest captures file descriptor 2 while a check runs: the line goes to a copy of it.
                progress=stack.enter_context(open(os.dup(2), "w")) if progress else None,
            )
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                try:
                    plugin.run_pytest(self.assignment.checks_dir, collector, hidden, storage=Path(tmp))
                finally:
                    collector.close()
        from grader.results import GradeReport

        isolation = self.sandbox.isolation
        return GradeReport(
            self.assignment.name,
            str(submission),
            collector.results,
            duration=time.monotonic() - started,
            sandbox=isolation.describe(),
            sandbox_gaps=isolation.gaps(),
            step_order=self.assignment.steps,
            file_problems=problems,
        )

    def close(self) -> None:
        """Stop the zygote and every worker."""
        self.sandbox.close()


def workspace_prefix(tag: str) -> str:
    """How the workspaces of the Grader tagged ``tag`` are named: a batch removes what a killed one left."""
    return f"grader-{tag}-"


def workspace_parent() -> str | None:
    """Where the per-submission workspace goes: ``$TMPDIR`` when set, else ``/dev/shm`` when it has room.

    A grading writes and removes some 2,000 small files (generated CSVs and images, the digits);
    on a disk file system that has seen many deletions, creating each one costs the kernel up to a
    millisecond, on a memory file system almost nothing. Only where student code writes elsewhere (with
    namespaces each worker writes to a size-capped tmpfs of its own): the workspace then holds the grader's
    files alone. None means the system's temporary folder.
    """
    if os.environ.get("TMPDIR") or not isolation.choose().contained:
        return None
    try:
        stats = os.statvfs(_SHM)
    except OSError:
        return None
    roomy = stats.f_bavail * stats.f_frsize >= _SHM_ROOM_BYTES
    return _SHM if roomy and os.access(_SHM, os.W_OK | os.X_OK) else None


class _Workspace:
    """The temporary folders of one grading: the worker's copy, a pristine copy, home, scratch.

    With namespaces no worker writes here: each gets a fresh copy of ``submission`` on its own tmpfs and
    builds its new root on ``home`` (see grader.sandbox.view). Without, workers share ``submission``.
    """

    def __init__(self, base: Path) -> None:
        self.root = base / "submission"
        self.source = base / "source"
        self.home = base / "home"
        self.scratch = base / "scratch"

    @classmethod
    def create(cls, base: Path, submission: Path, owner: tuple[int, int] | None = None) -> _Workspace:
        """Copy ``submission`` in; ``owner`` (uid, gid): the user workers run as, who gets the copy and home."""
        workspace = cls(base)
        files = submission_files(submission)
        for target in (workspace.root, workspace.source):
            _copy_files(submission, files, target)
        workspace.home.mkdir()
        workspace.scratch.mkdir()
        if owner is not None:
            base.chmod(0o711)  # the worker's user passes through to its folders, and lists nothing here
            for top in (workspace.root, workspace.home):
                for folder, _, names in os.walk(top):
                    for path in (folder, *(os.path.join(folder, name) for name in names)):
                        os.lchown(path, *owner)
        return workspace


def _copy_submission(source: Path, target: Path) -> None:
    """Copy the submission's files that are graded (:func:`submission_files`)."""
    _copy_files(source, submission_files(source), target)


def _copy_files(source: Path, files: list[Path], target: Path) -> None:
    target.mkdir()
    for relative in files:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, target / relative)


def submission_files(source: Path) -> list[Path]:
    """The files of a submission folder that are graded: regular files (no links, caches or VCS), within caps.

    See :func:`select` for which; a folder of a million files is not read to its end. The walk keeps its
    own stack (Python's ``os.walk`` recurses, and a folder nested a thousand deep would end in a
    RecursionError); a submission nested deeper than :data:`DEPTH_LIMIT`, or with a folder that cannot be
    read, raises :class:`grader.errors.SubmissionError` saying where.
    """
    found: list[tuple[Path, int]] = []
    pending = [Path()]
    while pending and len(found) < _WALK_LIMIT_FILES:
        relative = pending.pop(0)  # breadth first: the top-level files are all in before any cap bites
        if len(relative.parts) > DEPTH_LIMIT:
            at = printable(relative.as_posix())
            raise SubmissionError(f"it is nested more than {DEPTH_LIMIT} folders deep (at {at})")
        try:
            with os.scandir(source / relative) as entries:
                listed = sorted(entries, key=lambda entry: entry.name)
        except OSError as exc:
            where = printable(relative.as_posix()) if relative.parts else "its top folder"
            raise SubmissionError(f"{where} cannot be read: {exc.strerror or exc}") from exc
        for entry in listed:
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in ("__pycache__", ".git") and not entry.name.startswith("."):
                    pending.append(relative / entry.name)
            elif entry.is_file(follow_symlinks=False):
                found.append((relative / entry.name, entry.stat(follow_symlinks=False).st_size))
    return select(found)[0]


def select(
    found: list[tuple[Path, int]], limit_bytes: int = COPY_LIMIT_BYTES
) -> tuple[list[Path], list[tuple[Path, int]]]:
    """Of a submission's (relative path, size) pairs, the paths kept and the pairs left out, within the caps.

    Python files first, shallowest first, then the rest, each in name order: a large data file or a
    virtual environment left in the folder (or the zip) is what gets left out, never the top-level code that
    is graded, and what is left out is the same on every run.
    """
    chosen: list[Path] = []
    left_out: list[tuple[Path, int]] = []
    total = 0
    for relative, size in sorted(found, key=lambda item: (item[0].suffix != ".py", len(item[0].parts), item[0].parts)):
        if len(chosen) == COPY_LIMIT_FILES or total + size > limit_bytes:
            left_out.append((relative, size))  # smaller files may still fit in what room is left
            continue
        total += size
        chosen.append(relative)
    return chosen, left_out
