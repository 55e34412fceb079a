"""From a class folder to the folders to grade: which entries are submissions, their names, safe unzipping.

A submission is a child folder or a ``.zip`` of the batch folder, with its files at its root, under
``assignments/<hw>/``, or inside a single top folder (what zipping a folder, and most learning platforms'
downloads, produce); a zip inside it is unpacked too, one level deep. Whatever is wrong with one (an unsafe
or oversized zip, no assignment files) is a :class:`grader.errors.SubmissionError` whose message tells the
TA what to do.
"""

from __future__ import annotations

import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from grader.assignments import Assignment
from grader.errors import SubmissionError

_ZIP_LIMIT_BYTES = 50 * 1024 * 1024
_ZIP_LIMIT_FILES = 2000
#: How many single top folders are looked into (``alice/``, then ``alice/hw1/``): what zipping a folder makes.
_FOLDER_DEPTH = 2
#: Folders that are never a submission's own: macOS's zip resource forks, Python's caches.
_JUNK = ("__MACOSX", "__pycache__")


@dataclass(frozen=True)
class Submission:
    """One student's submission in the batch folder; ``name`` names its results (``OUT/<name>.json``)."""

    name: str
    path: Path


def printable(name: str) -> str:
    """``name`` as printable UTF-8: bytes that were not UTF-8 and control characters become ``%XX``."""
    chars = []
    for char in name:
        if 0xDC80 <= ord(char) <= 0xDCFF:  # a byte os.fsdecode could not decode (surrogateescape)
            chars.append(f"%{ord(char) - 0xDC00:02X}")
        elif unicodedata.category(char) in ("Cc", "Cs"):
            chars.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass")))
        else:
            chars.append(char)
    return "".join(chars)


def find_submissions(folder: Path) -> tuple[list[Submission], list[str]]:
    """The submissions in ``folder``, and what to tell the TA about the rest (skipped, renamed).

    A submission is named by its folder or zip stem. A zip whose stem another submission also has keeps its
    whole file name (``alice.zip`` beside ``alice/``), so that no result overwrites another's.
    """
    notes: list[str] = []
    candidates: list[tuple[str, str, Path]] = []  # (name by stem, whole name, path)
    for entry in sorted(folder.iterdir()):
        shown = printable(entry.name)
        if shown != entry.name:
            notes.append(f"{shown}: its name has bytes that are not UTF-8 or control characters (written as %XX here)")
        if entry.name.startswith("."):
            notes.append(f"skipped {shown}: hidden")
        elif entry.is_dir() and not entry.is_symlink():
            candidates.append((shown, shown, entry))
        elif entry.is_file() and entry.suffix.lower() == ".zip":
            candidates.append((shown[: -len(entry.suffix)], shown, entry))
        else:
            notes.append(f"skipped {shown}: not a folder or .zip")
    stems = Counter(stem for stem, _, _ in candidates)
    named = [(whole if stems[stem] > 1 and path.is_file() else stem, path) for stem, whole, path in candidates]
    counts = Counter(name for name, _ in named)
    found = []
    for name, path in named:
        if counts[name] > 1:
            notes.append(f"skipped {printable(path.name)}: another submission is also named {name}; rename one")
        else:
            found.append(Submission(name, path))
            if path.is_file() and name != printable(path.stem):
                notes.append(f"{name}: named with .zip because another submission is named {printable(path.stem)}")
    return found, notes


def locate(root: Path, assignment: Assignment) -> Path | None:
    """The folder that holds the assignment's files.

    That is the root or ``assignments/<name>/`` under it, or the same inside the root's only folder (a zipped
    folder unpacks into one, and so do most learning platforms' downloads), up to ``_FOLDER_DEPTH`` deep.
    """
    for folder in _chain(root):
        for candidate in (folder, folder / "assignments" / assignment.name):
            if any((candidate / f"{module}.py").is_file() for module in assignment.modules):
                return candidate
    return None


def _chain(root: Path) -> list[Path]:
    """``root``, then its only folder, then that one's only folder, ..."""
    chain = [root]
    while len(chain) <= _FOLDER_DEPTH and root.is_dir():
        folders = [
            entry
            for entry in root.iterdir()
            if entry.is_dir() and not entry.is_symlink() and not entry.name.startswith(".") and entry.name not in _JUNK
        ]
        if len(folders) != 1:
            break
        root = folders[0]
        chain.append(root)
    return chain


def unpack(archive: Path, target: Path, limit_bytes: int = _ZIP_LIMIT_BYTES) -> int:
    """Extract a zip safely (no absolute or ``..`` paths, no links, size and count caps); returns the bytes written.

    Raises :class:`SubmissionError` with a reason a TA can act on.
    """
    label = printable(archive.name)
    try:
        with zipfile.ZipFile(archive) as bundle:
            return _extract(bundle, target, limit_bytes)
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{label}: a file name in it is marked as UTF-8 but is not; zip it again") from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise SubmissionError(f"{label} is not a readable zip: {exc}") from exc
    except OSError as exc:
        raise SubmissionError(f"{label} could not be unpacked: {exc.strerror or exc}") from exc


def _extract(bundle: zipfile.ZipFile, target: Path, limit_bytes: int) -> int:
    members = bundle.infolist()
    too_big = f"the zip expands to more than {limit_bytes // (1024 * 1024)} MB (a zip bomb?)"
    if len(members) > _ZIP_LIMIT_FILES:
        raise SubmissionError(f"the zip holds {len(members)} entries, more than {_ZIP_LIMIT_FILES}")
    if sum(member.file_size for member in members) > limit_bytes:
        raise SubmissionError(too_big)
    total = 0
    for member in members:
        parts = Path(member.filename.replace("\\", "/")).parts
        if member.filename.startswith(("/", "\\")) or ".." in parts or not parts:
            raise SubmissionError(f"the zip has an unsafe path: {printable(member.filename)!r}")
        if member.is_dir():
            continue
        destination = target.joinpath(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        with bundle.open(member) as source, open(destination, "wb") as sink:
            # Counted as it streams too: the sizes the zip declares may lie.
            while chunk := source.read(1 << 20):
                total += len(chunk)
                if total > limit_bytes:
                    raise SubmissionError(too_big)
                sink.write(chunk)
    return total


def prepare(path: Path, scratch: Path, assignment: Assignment) -> Path:
    """The folder to grade: ``path`` itself, or where its zip, or the one zip inside it, was unpacked in ``scratch``.

    Raises :class:`SubmissionError` saying why there is nothing to grade.
    """
    root, budget = path, _ZIP_LIMIT_BYTES
    if path.is_file():
        root = scratch / "unzipped"
        budget -= unpack(path, root, budget)
    if (folder := locate(root, assignment)) is not None:
        return folder
    expected = ", ".join(f"{module}.py" for module in assignment.modules)
    missing = f"none of {expected} found at the top level, under assignments/{assignment.name}/ or in a single folder"
    inner = sorted(entry for folder in _chain(root) for entry in folder.glob("*.[zZ][iI][pP]") if entry.is_file())
    if len(inner) > 1:
        names = ", ".join(printable(entry.name) for entry in inner)
        raise SubmissionError(f"{missing}, but {len(inner)} zips ({names}); submit one")
    if inner:
        # A zip inside the zip (or in the student's folder): one level deep, within the same size budget.
        unpack(inner[0], scratch / "nested", budget)
        if (folder := locate(scratch / "nested", assignment)) is not None:
            return folder
        raise SubmissionError(f"{missing}, neither in {printable(inner[0].name)}")
    raise SubmissionError(missing)
