"""What a rerun compares: a fingerprint of each submission's graded files and of everything else its grade
depends on (the grader, its limits and device, the grading key, hidden checks).

A result whose fingerprint (``OUT/.keys/<name>``) is the submission's current one is kept by a rerun;
any other is graded again. Every process computes the same fingerprints from the same files, so a
shard on another machine, and the merge, agree on which results are current.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import grader
from grader import grading_key
from grader.assignments import Assignment
from grader.batch.intake import inner_zips, locate
from grader.errors import SubmissionError
from grader.runner import submission_files
from grader.sandbox import Limits


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

    A zip is hashed whole (not its name). Of a folder, the files grading copies from the folder it grades (see
    :func:`grader.batch.intake.locate` and :func:`grader.runner.submission_files`), named from the
    submission's root, and the zips it would unpack: a huge data file beside the code is neither read nor a
    reason to grade again.
    """
    digest = hashlib.sha256(key)
    if path.is_file():
        # Under one name whatever the zip is called: two students' byte-identical zips have one fingerprint,
        # as two identical folders do (the summary lists them as identical).
        files = [Path("submission.zip")]
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
