"""From a class folder to the folders to grade: which entries are submissions, their names, safe unzipping.

A submission is a child folder or a ``.zip`` of the batch folder, with its files at its root, under
``assignments/<hw>/``, or inside a single top folder (what zipping a folder, and most learning platforms'
downloads, produce); a zip inside it is unpacked too, one level deep. Whatever is wrong with one (an unsafe
or oversized zip, no assignment files) is a :class:`grader.errors.SubmissionError` whose message tells the
TA what to do.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from grader.assignments import Assignment
from grader.errors import SubmissionError
from grader.runner import COPY_LIMIT_BYTES, COPY_LIMIT_FILES, DEPTH_LIMIT, select
from grader.shown import printable

#: Entries a zip may list at all (what is beyond COPY_LIMIT_FILES is left out; beyond this, it is refused).
_ZIP_LIMIT_ENTRIES = 100_000
#: The longest submission name, in bytes: file systems allow 255 for ``OUT/<name>.json`` and its kin.
_NAME_LIMIT_BYTES = 200
#: How many single top folders are looked into (``alice/``, then ``alice/hw1/``): what zipping a folder makes.
_FOLDER_DEPTH = 2
#: Folders that are never a submission's own: macOS's zip resource forks, Python's caches.
_JUNK = ("__MACOSX", "__pycache__")


@dataclass(frozen=True)
class Submission:
    """One student's submission in the batch folder; ``name`` names its results (``OUT/<name>.json``)."""

    name: str
    path: Path


def find_submissions(folder: Path, exclude: Path | None = None) -> tuple[list[Submission], list[str]]:
    """The submissions in ``folder``, and what to tell the TA about the rest (skipped, renamed).

    A submission is named by its folder or zip stem. A zip whose stem another submission also has keeps its
    whole file name (``alice.zip`` beside ``alice/``), so that no result overwrites another's. A name too long
    for a file name (``OUT/<name>.json``) is cut, with a digest of the whole name. ``exclude`` (the batch's
    own output folder, when it is inside ``folder``) is not a submission.
    """
    notes: list[str] = []
    candidates: list[tuple[str, str, Path]] = []  # (name by stem, whole name, path)
    for entry in sorted(folder.iterdir()):
        shown = printable(entry.name)
        if shown != entry.name:
            notes.append(f"{shown}: its name has bytes that are not UTF-8 or control characters (written as %XX here)")
        if entry.name.startswith("."):
            notes.append(f"skipped {shown}: hidden")
        elif entry.is_symlink():
            # Student code may read only what the batch hides from it: a link's target may be anywhere.
            notes.append(f"skipped {shown}: a symbolic link (links are not followed; copy the submission in)")
        elif exclude is not None and entry.resolve() == exclude:
            notes.append(f"skipped {shown}: the --out folder")
        elif entry.is_dir():
            candidates.append((shown, shown, entry))
        elif entry.is_file() and entry.suffix.lower() == ".zip":
            candidates.append((shown[: -len(entry.suffix)], shown, entry))
        else:
            notes.append(f"skipped {shown}: not a folder or .zip")
    stems = Counter(stem for stem, _, _ in candidates)
    named = [(whole if stems[stem] > 1 and path.is_file() else stem, stem, path) for stem, whole, path in candidates]
    counts = Counter(_fit(name) for name, _, _ in named)
    found = []
    for whole, stem, path in named:
        name = _fit(whole)
        if counts[name] > 1:
            notes.append(f"skipped {printable(path.name)}: another submission is also named {name}; rename one")
            continue
        found.append(Submission(name, path))
        if whole != stem:
            notes.append(f"{name}: named with .zip because another submission is named {stem}")
        if name != whole:
            notes.append(f"{name}: {printable(path.name)} cut short, its name is too long for a file name")
    return found, notes


def _fit(name: str) -> str:
    """``name``, or its start and a digest of the whole, when ``<name>.json`` would be too long a file name."""
    if len(name.encode()) <= _NAME_LIMIT_BYTES:  # printable(): no lone surrogates left
        return name
    tail = "~" + hashlib.sha256(name.encode()).hexdigest()[:12]
    head = name.encode()[: _NAME_LIMIT_BYTES - len(tail)].decode("utf-8", "ignore")
    return head + tail


def locate(root: Path, assignment: Assignment) -> Path | None:
    """The folder that holds the assignment's files.

    That is the root or ``assignments/<name>/`` under it, or the same inside the root's only folder (a zipped
    folder unpacks into one, and so do most learning platforms' downloads), up to ``_FOLDER_DEPTH`` deep: of
    these, the one with the most of the assignment's modules, the shallowest of those (a stray ``data.py``
    at a repository's root does not hide the assignment under ``assignments/<name>/``). A folder reached
    through a symbolic link is never one: a link may point at anything on the grading machine, the
    reference solution included.
    """
    best, most = None, 0
    for folder in _chain(root):
        for candidate in (folder, folder / "assignments" / assignment.name):
            if _linked(candidate, folder):
                continue
            found = sum(_regular(candidate / f"{module}.py") for module in assignment.modules)
            if found > most:
                best, most = candidate, found
    return best


def _linked(candidate: Path, top: Path) -> bool:
    """Whether ``candidate``, or a folder between ``top`` and it, is a symbolic link."""
    while candidate != top:
        if candidate.is_symlink():
            return True
        candidate = candidate.parent
    return False


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


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


@dataclass(frozen=True)
class Unpacked:
    """What :func:`unpack` wrote: its bytes, and the members left out for room (with their sizes)."""

    size: int
    left_out: tuple[tuple[str, int], ...] = ()


def unpack(archive: Path, target: Path, limit_bytes: int = COPY_LIMIT_BYTES) -> Unpacked:
    """Extract a zip safely: no absolute or ``..`` paths, no links, within the caps a copied folder has.

    As when a folder is copied for grading, Python files come first, shallowest first, then the rest, each in
    name order; a member that does not fit in what room is left (a data file, a virtual environment, a zip
    bomb's payload) is left out, never decompressed, and the rest is still unpacked. Caches, VCS and hidden
    folders are left out too. Raises :class:`SubmissionError` with a reason a TA can act on.
    """
    label = printable(archive.name)
    try:
        with zipfile.ZipFile(archive) as bundle:
            return _extract(bundle, target, limit_bytes)
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{label}: a file name in it is marked as UTF-8 but is not; zip it again") from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise SubmissionError(f"{label} is not a readable zip: {exc}") from exc
    except RuntimeError as exc:  # zipfile's word for a member that is encrypted (NotImplementedError is one too)
        raise SubmissionError(f"{label} is encrypted: zip it again without a password") from exc
    except OSError as exc:
        raise SubmissionError(f"{label} could not be unpacked: {exc.strerror or exc}") from exc


def _extract(bundle: zipfile.ZipFile, target: Path, limit_bytes: int) -> Unpacked:
    members = bundle.infolist()
    if len(members) > _ZIP_LIMIT_ENTRIES:
        raise SubmissionError(f"the zip holds {len(members):,} entries, more than {_ZIP_LIMIT_ENTRIES:,}")
    # By path: of two members with the same path, the later one in the zip wins.
    by_path: dict[Path, zipfile.ZipInfo] = {}
    for member in members:
        parts = Path(member.filename.replace("\\", "/")).parts
        if member.filename.startswith(("/", "\\")) or ".." in parts or not parts:
            raise SubmissionError(f"the zip has an unsafe path: {printable(member.filename)!r}")
        if len(parts) > DEPTH_LIMIT:
            raise SubmissionError(f"the zip nests {printable(parts[0])}/... more than {DEPTH_LIMIT} folders deep")
        if not member.is_dir() and not any(part.startswith(".") or part in _JUNK for part in parts[:-1]):
            by_path[Path(*parts)] = member
    chosen, left = select([(path, member.file_size) for path, member in by_path.items()], limit_bytes)
    total = 0
    for relative in chosen:
        member = by_path[relative]
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with bundle.open(member) as source, open(destination, "wb") as sink:
            # zipfile stops at the size the zip declares; counted here too, so that no lie gets past the cap.
            while chunk := source.read(1 << 20):
                written += len(chunk)
                if written > member.file_size or total + written > limit_bytes:
                    raise SubmissionError(f"{printable(member.filename)} expands to more than the zip says")
                sink.write(chunk)
        total += written
    return Unpacked(total, tuple((path.as_posix(), size) for path, size in left))


def _left_out(label: str, unpacked: Unpacked) -> str:
    """Why files the grader looked for may be missing: what was left out of ``label``, and why."""
    if not unpacked.left_out:
        return ""
    shown = ", ".join(f"{printable(name)} ({size / (1024 * 1024):.1f} MB)" for name, size in unpacked.left_out[:3])
    more = f" and {len(unpacked.left_out) - 3} more" if len(unpacked.left_out) > 3 else ""
    room = f"{COPY_LIMIT_BYTES // (1024 * 1024)} MB and {COPY_LIMIT_FILES} files"
    return f"; left out of {label}, over the {room} a submission may hold (a zip bomb?): {shown}{more}"


def prepare(path: Path, scratch: Path, assignment: Assignment) -> Path:
    """The folder to grade: ``path`` itself, or where its zip, or the one zip inside it, was unpacked in ``scratch``.

    Raises :class:`SubmissionError` saying why there is nothing to grade.
    """
    root, budget, why = path, COPY_LIMIT_BYTES, ""
    if path.is_file():
        root = scratch / "unzipped"
        unpacked = unpack(path, root, budget)
        budget -= unpacked.size
        why = _left_out(printable(path.name), unpacked)
    if (folder := locate(root, assignment)) is not None:
        return folder
    expected = ", ".join(f"{module}.py" for module in assignment.modules)
    missing = f"none of {expected} found at the top level, under assignments/{assignment.name}/ or in a single folder"
    inner = inner_zips(root)
    if len(inner) > 1:
        names = ", ".join(printable(entry.name) for entry in inner)
        raise SubmissionError(f"{missing}, but {len(inner)} zips ({names}); submit one")
    if inner:
        # A zip inside the zip (or in the student's folder): one level deep, within the same size budget.
        nested = unpack(inner[0], scratch / "nested", budget)
        if (folder := locate(scratch / "nested", assignment)) is not None:
            return folder
        why += _left_out(printable(inner[0].name), nested)
        raise SubmissionError(f"{missing}, neither in {printable(inner[0].name)}{why}")
    raise SubmissionError(missing + why)


def inner_zips(root: Path) -> list[Path]:
    """The zips :func:`prepare` looks into when ``root`` has no assignment files of its own."""
    return sorted(entry for folder in _chain(root) for entry in folder.glob("*.[zZ][iI][pP]") if _regular(entry))
