"""``python -m grader gradescope hw1 OUT.zip [--hidden DIR]``: the Gradescope autograder zip, and its uploads.

The zip holds what Gradescope's autograder specification asks for at its root,
``setup.sh`` and ``run_autograder`` (from ``grader/templates/gradescope/``), plus a copy
of this package (``grader/``, ``pyproject.toml``, ``README.md``) that ``setup.sh`` installs
and, with ``--hidden``, the hidden checks as ``hidden/``. Never the staff-only folders: the
assignments' mutation corpora (``grader/checks/<hw>/audit/``) and the reference solutions. The ``results.json`` that
``run_autograder`` writes is :mod:`grader.reporters.gradescope`. Building the same sources
twice gives the same bytes: every entry has a fixed date.

On Gradescope, ``run_autograder`` grades the upload with ``--upload``: :func:`located` finds the files to
grade in it by the rules a ``--batch`` submission follows (:func:`grader.batch.intake.prepare`), so a zipped
folder is graded the same in both.
"""

from __future__ import annotations

import contextlib
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from grader.assignments import AUDIT, Assignment
from grader.errors import UsageError

_PACKAGE = Path(__file__).resolve().parent
_REPOSITORY = _PACKAGE.parent
_TEMPLATES = _PACKAGE / "templates" / "gradescope"
_DATE = (1980, 1, 1, 0, 0, 0)
_SKIPPED = ("__pycache__", ".pyc")


def build_zip(assignment: Assignment, out: Path, hidden: Path | None = None) -> list[str]:
    """Write the autograder zip for ``assignment`` to ``out``; returns the names it holds."""
    metadata = [_REPOSITORY / "pyproject.toml", _REPOSITORY / "README.md"]
    missing = [path.name for path in metadata if not path.is_file()]
    if missing:
        raise UsageError(f"{' and '.join(missing)} not found beside the package: build the zip in its repository.")
    run_autograder = (_TEMPLATES / "run_autograder").read_text(encoding="utf-8")
    run_autograder = run_autograder.replace("@ASSIGNMENT@", assignment.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        _add(bundle, "setup.sh", (_TEMPLATES / "setup.sh").read_bytes(), executable=True)
        _add(bundle, "run_autograder", run_autograder.encode("utf-8"), executable=True)
        for path in metadata:
            _add(bundle, path.name, path.read_bytes())
        _add_tree(bundle, _PACKAGE, "grader")
        if hidden is not None:
            _add_tree(bundle, hidden, "hidden")
        return bundle.namelist()


@contextlib.contextmanager
def located(assignment: Assignment, upload: Path) -> Iterator[Path]:
    """The folder of ``upload`` (a folder or a zip) to grade, for the duration: where ``--batch`` would find it.

    Raises :class:`grader.errors.SubmissionError` saying why there is nothing to grade.
    """
    from grader.batch.intake import prepare

    with tempfile.TemporaryDirectory(prefix="grader-upload-") as scratch:
        yield prepare(upload, Path(scratch), assignment)


def _add_tree(bundle: zipfile.ZipFile, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if (
            path.is_file()
            and not path.is_symlink()
            and not any(part.endswith(_SKIPPED) for part in relative.parts)
            and not _staff_only(relative)
        ):
            executable = path.stat().st_mode & 0o111 != 0
            _add(bundle, f"{prefix}/{relative.as_posix()}", path.read_bytes(), executable=executable)


def _staff_only(relative: Path) -> bool:
    """Whether a path of the package is an assignment's audit folder (checks/<hw>/audit/...)."""
    return len(relative.parts) > 3 and relative.parts[0] == "checks" and relative.parts[2] == AUDIT


def _add(bundle: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=_DATE)
    info.external_attr = (0o755 if executable else 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, data)
