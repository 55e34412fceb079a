"""Grading a whole class folder: one process tree, torch imported once, nothing lost.

``python -m grader hw1 --batch DIR --out OUT --jobs N``: every child folder and
every ``.zip`` of DIR is a submission. Grading processes are forked from this
process before any torch op (each starts its own zygote), so torch is imported
once for the whole batch. Each finished submission is written at once and
atomically (``OUT/<name>.json``); a re-run skips submissions whose files and
grader are unchanged, so an interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grader
from grader.assignments import Assignment
from grader.reporters import json as json_reporter
from grader.sandbox import Limits

_ZIP_LIMIT_BYTES = 50 * 1024 * 1024
_ZIP_LIMIT_FILES = 2000


@dataclass(frozen=True)
class Submission:
    """One student's submission in the batch folder."""

    name: str
    path: Path


def find_submissions(folder: Path) -> tuple[list[Submission], list[str]]:
    """Child folders and zips are submissions; everything else is reported as skipped."""
    found, skipped = [], []
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and not entry.is_symlink() and not entry.name.startswith("."):
            found.append(Submission(entry.name, entry))
        elif entry.is_file() and entry.suffix.lower() == ".zip":
            found.append(Submission(entry.stem, entry))
        else:
            skipped.append(entry.name)
    return found, skipped


def locate(root: Path, assignment: Assignment) -> Path | None:
    """The folder that holds the assignment's files: the root, or ``assignments/<name>/`` under it."""
    for candidate in (root, root / "assignments" / assignment.name):
        if any((candidate / f"{module}.py").is_file() for module in assignment.modules):
            return candidate
    return None


def unpack(archive: Path, target: Path) -> None:
    """Extract a zip safely: no absolute or ``..`` paths, no links, size and count caps."""
    total = 0
    with zipfile.ZipFile(archive) as bundle:
        members = bundle.infolist()
        if len(members) > _ZIP_LIMIT_FILES:
            raise ValueError(f"the zip holds {len(members)} entries, more than {_ZIP_LIMIT_FILES}")
        for member in members:
            parts = Path(member.filename.replace("\\", "/")).parts
            if member.filename.startswith("/") or ".." in parts or not parts:
                raise ValueError(f"the zip has an unsafe path: {member.filename!r}")
            if member.is_dir():
                continue
            destination = target.joinpath(*parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(member) as source, open(destination, "wb") as sink:
                while chunk := source.read(1 << 20):
                    total += len(chunk)
                    if total > _ZIP_LIMIT_BYTES:
                        raise ValueError("the zip expands to more than 50 MB")
                    sink.write(chunk)


def fingerprint(path: Path) -> str:
    """Hash of the submission's bytes and of the grader's own source: what a re-run compares."""
    digest = hashlib.sha256(grader.__version__.encode())
    for source in sorted(Path(grader.__file__).parent.rglob("*")):
        if source.suffix in (".py", ".ini"):
            digest.update(source.read_bytes())
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that ``path`` is either the old or the whole new content, never partial."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def grade_one(grader_: Any, assignment: Assignment, submission: Submission) -> dict[str, Any]:
    """Grade one submission into the ``--format json`` document plus ``status``."""
    with tempfile.TemporaryDirectory(prefix="grader-batch-") as tmp:
        root = submission.path
        if root.is_file():
            root = Path(tmp) / "unzipped"
            try:
                unpack(submission.path, root)
            except (ValueError, zipfile.BadZipFile, OSError, UnicodeError) as exc:
                return _invalid(f"unreadable zip: {exc}")
        folder = locate(root, assignment)
        if folder is None:
            expected = ", ".join(f"{m}.py" for m in assignment.modules)
            return _invalid(f"none of {expected} found at the top level or under assignments/{assignment.name}/")
        report = grader_.grade(folder)
    document = json_reporter.to_dict(report)
    document["status"] = _status(report)
    return document


def _invalid(reason: str) -> dict[str, Any]:
    return {"score": 0, "max_score": 0, "execution_time": 0, "tests": [], "status": "invalid", "output": reason}


def _status(report: Any) -> str:
    kinds = {check.error for check in report.checks}
    for kind, status in (("MemoryLimit", "memory"), ("Timeout", "timeout"), ("WorkerCrashed", "crashed")):
        if kind in kinds:
            return status
    return "graded"


def write_grades(out: Path, names: list[str]) -> None:
    """``grades.csv``: one row per submission, one column per step and per check."""
    documents = {}
    for name in names:
        path = out / f"{name}.json"
        if path.exists():
            documents[name] = json.loads(path.read_text(encoding="utf-8"))
    steps = list(dict.fromkeys(t["step"] for d in documents.values() for t in d["tests"]))
    checks = list(dict.fromkeys(t["check"] for d in documents.values() for t in d["tests"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["submission", "score", "max_score", *steps, "status", *checks])
    for name, document in documents.items():
        by_step = {step: sum(t["score"] for t in document["tests"] if t["step"] == step) for step in steps}
        by_check = {t["check"]: t["score"] for t in document["tests"]}
        writer.writerow(
            [
                name,
                document["score"],
                document["max_score"],
                *(by_step[s] for s in steps),
                document["status"],
                *(by_check.get(c, "") for c in checks),
            ]
        )
    write_atomic(out / "grades.csv", buffer.getvalue())


def run(assignment: Assignment, folder: Path, out: Path, jobs: int, limits: Limits, log: Any = print) -> list[str]:
    """Grade every submission in ``folder`` into ``out``; returns the submission names."""
    submissions, skipped = find_submissions(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name in skipped:
        log(f"skipped {name}: not a folder or .zip")
    names = [s.name for s in submissions]
    if len(set(names)) != len(names):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        log(f"skipped {', '.join(duplicates)}: more than one submission has this name")
        submissions = [s for s in submissions if s.name not in duplicates]
    pending = []
    for submission in submissions:
        key = fingerprint(submission.path)
        keyfile = out / ".keys" / submission.name
        if keyfile.exists() and keyfile.read_text() == key and (out / f"{submission.name}.json").exists():
            log(f"{submission.name}: unchanged, kept")
            continue
        pending.append((submission, key))
    from grader.pool import grade_all

    grade_all(assignment, pending, out, jobs, limits, log, hide=(folder.resolve(), out.resolve()))
    write_grades(out, [s.name for s in submissions])
    return [s.name for s in submissions]
