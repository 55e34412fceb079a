"""Grading a whole class folder: one process tree, torch imported once, nothing lost.

``python -m grader hw1 --batch DIR --out OUT --jobs N``: every child folder and
every ``.zip`` of DIR is a submission. Grading processes are forked from this
process before any torch op (each starts its own zygote), so torch is imported
once for the whole batch. Each finished submission is written at once and
atomically (``OUT/<name>.json``); a re-run skips submissions whose files and
grader are unchanged, so an interrupted batch resumes where it stopped. After
every run ``OUT/grades.csv`` and ``OUT/summary.html`` are rebuilt from the
results of all the batch's submissions, those kept from earlier runs included.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import grader
from grader import grading_key
from grader import hidden as hidden_checks
from grader.assignments import Assignment
from grader.errors import SubmissionError
from grader.intake import Submission, find_submissions, inner_zips, locate, prepare
from grader.progress import Progress
from grader.reporters import json as json_reporter
from grader.reporters import summary
from grader.results import CheckResult, GradeReport
from grader.sandbox import Limits


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


#: What ``open`` would give a new file; mkstemp's 0600 would keep other TAs from reading OUT.
_FILE_MODE = _file_mode()
#: Formula prefixes: a cell starting with one runs as a formula when grades.csv is opened in a spreadsheet.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def grader_key(assignment: str, limits: Limits, hidden: tuple[Path, ...] = (), device: str = "cpu") -> bytes:
    """What results depend on besides the submission: assignment, grader source and manifests, limits, device,
    the grading key, hidden checks."""
    digest = hashlib.sha256(grader.__version__.encode() + b"\0" + assignment.encode())
    digest.update(grading_key.fingerprint())
    digest.update(json.dumps({**limits.to_dict(), "device": device}, sort_keys=True).encode())
    for source in sorted(Path(grader.__file__).parent.rglob("*")):
        if source.suffix in (".py", ".ini", ".toml"):
            digest.update(source.read_bytes())
    for folder in hidden:
        for source in sorted(folder.rglob("*")):
            # Bytecode caches change when the checks are merely imported, not when they change.
            if source.is_file() and "__pycache__" not in source.parts:
                digest.update(os.fsencode(source.relative_to(folder)) + b"\0" + source.read_bytes())
    return digest.digest()


def fingerprint(path: Path, key: bytes, assignment: Assignment) -> str:
    """Hash of what is graded of the submission and of ``key`` (:func:`grader_key`): what a re-run compares.

    A zip is hashed whole. Of a folder, the files grading copies from the folder it grades (see
    :func:`grader.intake.locate` and :func:`grader.runner.submission_files`), named from the submission's
    root, and the zips it would unpack: a huge data file beside the code is neither read nor a reason to
    grade again.
    """
    from grader.runner import submission_files

    digest = hashlib.sha256(key)
    if path.is_file():
        files = [Path(path.name)]
    else:
        graded = locate(path, assignment)
        files = [] if graded is None else [graded.relative_to(path) / f for f in submission_files(graded)]
        files += [inner.relative_to(path) for inner in inner_zips(path) if inner.relative_to(path) not in files]
    for relative in files:
        digest.update(os.fsencode(relative) + b"\0")
        try:
            with open(path if path.is_file() else path / relative, "rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
        except OSError as exc:
            raise SubmissionError(f"{relative.as_posix()} cannot be read: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that ``path`` is either the old or the whole new content, never partial.

    The file is valid UTF-8 whatever ``text`` holds: a lone surrogate (from a name or output that was not
    UTF-8) is written as ``\\udcXX``, which inside a JSON string is the escape of that very character.
    """
    data = text.encode("utf-8", "backslashreplace")
    # Not named after ``path``: a name near the file system's 255 bytes would not fit with a prefix.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _FILE_MODE)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())  # a power cut leaves the old file or the new one, never an empty one
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_partial(out: Path) -> None:
    """Remove what a killed writer left: :func:`write_atomic`'s temporary files."""
    for folder in (out, out / ".keys"):
        for leftover in folder.glob(".*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def grade_one(
    grader_: Any, assignment: Assignment, submission: Submission, hidden: tuple[Path, ...] = ()
) -> dict[str, Any]:
    """Grade one submission into the ``--format json`` document plus ``status`` (and ``output``, why)."""
    with tempfile.TemporaryDirectory(prefix=unpacked_prefix(grader_.tag)) as tmp:
        try:
            folder = prepare(submission.path, Path(tmp), assignment)
            report = grader_.grade(folder, hidden=hidden)
        except SubmissionError as exc:  # nothing to grade (see intake.prepare), nested too deep, unreadable
            return failed("invalid", str(exc))
    document = json_reporter.to_dict(report)
    document["status"], reason = _status(report)
    if reason:
        document["output"] = reason
    return document


def unpacked_prefix(tag: str) -> str:
    """How the folders the Grader tagged ``tag`` unzips into are named (see grader.pool.remove_leftovers)."""
    return f"grader-batch-{tag}-"


def failed(status: str, reason: str) -> dict[str, Any]:
    """The document of a submission that got no grade: ``invalid`` (its fault) or ``error`` (the grader's)."""
    return {"score": 0, "max_score": 0, "execution_time": 0, "tests": [], "status": status, "output": reason}


def _status(report: GradeReport) -> tuple[str, str]:
    for kind, status in (("MemoryLimit", "memory"), ("Timeout", "timeout"), ("WorkerCrashed", "crashed")):
        for check in report.checks:
            if check.error == kind:
                return status, f"{check.title}: {check.message}"
    return "graded", ""


def load_results(out: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """The results in ``out`` of the submissions ``names`` (those not graded yet are missing)."""
    documents = {}
    for name in names:
        with contextlib.suppress(OSError, ValueError):
            document = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
            if _well_formed(document):
                documents[name] = document
    return documents


def _well_formed(document: Any) -> bool:
    """Whether ``document`` has what grades.csv and the summary read (an empty or edited file is graded again)."""
    return (
        isinstance(document, dict)
        and all(_number(document.get(key)) for key in ("score", "max_score", "execution_time"))
        and isinstance(document.get("status"), str)
        and isinstance(document.get("tests"), list)
        and all(
            isinstance(test, dict)
            and _number(test.get("score"))
            and _number(test.get("max_score"))
            and all(isinstance(test.get(key), str) for key in ("name", "check", "step", "status", "output"))
            for test in document["tests"]
        )
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def write_grades(out: Path, documents: dict[str, dict[str, Any]]) -> None:
    """``grades.csv``: one row per submission, one column per step and per check."""
    steps = list(dict.fromkeys(t["step"] for d in documents.values() for t in d["tests"]))
    checks = list(dict.fromkeys(t["check"] for d in documents.values() for t in d["tests"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["submission", "score", "max_score", *steps, "status", *checks])
    for name, document in documents.items():
        tests = document["tests"]
        # A submission no check ran on (invalid) has no points per step or check, not zeros.
        by_step = {step: _points(sum(t["score"] for t in tests if t["step"] == step)) for step in steps if tests}
        by_check = {t["check"]: _points(t["score"]) for t in tests}
        writer.writerow(
            [
                "'" + name if name.startswith(_FORMULA) else name,
                _points(document["score"]),
                _points(document["max_score"]),
                *(by_step.get(s, "") for s in steps),
                document["status"],
                *(by_check.get(c, "") for c in checks),
            ]
        )
    write_atomic(out / "grades.csv", buffer.getvalue())


def _points(value: float) -> str:
    """Points as a spreadsheet reads them: ``100``, ``0``, ``2.5`` (never ``0.0`` beside ``100``)."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _hidden_warning(assignment: Assignment, documents: dict[str, dict[str, Any]]) -> str:
    """The manifest check of a staff run (see :func:`grader.hidden.mismatch`), on the first graded result."""
    for document in documents.values():
        if document["tests"]:
            checks = [
                CheckResult(t["check"], t["name"], t["step"], "", t["max_score"], True, hidden=True)
                for t in document["tests"]
                if t.get("visibility") == "after_published"
            ]
            return hidden_checks.mismatch(hidden_checks.manifest(assignment), GradeReport(assignment.name, "", checks))
    return ""


def run(
    assignment: Assignment,
    folder: Path,
    out: Path,
    jobs: int,
    limits: Limits,
    log: Callable[[str], None] = print,
    hidden: tuple[Path, ...] = (),
    terminal: TextIO | None = None,
    device: str = "cpu",
) -> dict[str, dict[str, Any]]:
    """Grade every submission in ``folder`` into ``out``; returns every submission's result, by name.

    ``terminal``, a TTY, gets a progress bar. On Ctrl-C (KeyboardInterrupt, raised again) the grading
    processes stop, and grades.csv and summary.html are still written from every finished result.
    """
    out.mkdir(parents=True, exist_ok=True)
    from grader.pool import StopSignals, grade_all, open_pool

    # Before the class folder is read: nothing of the roster, the fingerprints or the hidden checks is in the
    # memory of the grading processes, and so of any worker forked from them (see open_pool).
    pool = open_pool(assignment, out, jobs, limits, (folder.resolve(), out.resolve()), hidden, device)
    names: list[str] = []
    interrupted = True
    try:
        submissions, notes = find_submissions(folder, exclude=out.resolve())
        names = [submission.name for submission in submissions]
        remove_partial(out)
        for note in notes:
            log(note)
        key = grader_key(assignment.name, limits, hidden, device)
        pending = []
        for submission in submissions:
            try:
                digest = fingerprint(submission.path, key, assignment)
            except SubmissionError as exc:  # nested too deep, unreadable: nothing of it can be graded
                write_atomic(out / f"{submission.name}.json", json.dumps(failed("invalid", str(exc)), indent=2))
                log(f"{submission.name}: invalid: {exc}")
                continue
            keyfile = out / ".keys" / submission.name
            kept = load_results(out, [submission.name]).get(submission.name)
            # An error is the grader's failure, never a grade to keep.
            if keyfile.exists() and keyfile.read_text() == digest and kept and kept["status"] != "error":
                log(f"{submission.name}: unchanged, kept")
                continue
            pending.append((submission, digest))
        if pending:
            grade_all(pool, pending, out, limits, Progress(len(pending), jobs, log, terminal))
        interrupted = False
    finally:
        with StopSignals.cleaning():  # what every run ends with, Ctrl-C or not: not to be cut short
            pool.close(interrupted)
            remove_partial(out)
            documents = load_results(out, names)
            write_grades(out, documents)
            pending_names = [name for name in names if name not in documents]
            write_atomic(
                out / "summary.html", summary.render(assignment.name, documents, pending_names, assignment.steps)
            )
            if hidden and (warning := _hidden_warning(assignment, documents)):
                log(f"Warning: {warning}")
            files = f"{out / 'grades.csv'} and {out / 'summary.html'}"
            log(f"Wrote {files} ({len(documents)} of {len(names)} submissions).")
    return documents
