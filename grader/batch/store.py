"""The results of a batch in OUT: ``OUT/<name>.json`` per submission, ``OUT/.keys/<name>`` what it was graded from.

Every file is written atomically (a reader, a crash or a kill sees the old file or the new one, never a
part), so that several writers may share OUT: the grading processes of a batch, and the shards of a
batch split among machines (see :mod:`grader.batch.sharding`). A writer's temporary files carry its
name, so that it removes what a killed run of itself left and never what another shard is writing.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from grader.batch.outcome import Outcome


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


#: What ``open`` would give a new file; mkstemp's 0600 would keep other TAs from reading OUT.
_FILE_MODE = _file_mode()
_KEYS = ".keys"
#: The folder of the files handed back to students (see :mod:`grader.batch.feedback`).
FEEDBACK = "feedback"


def write_atomic(path: Path, text: str, writer: str = "") -> None:
    """Write ``text`` so that ``path`` is either the old or the whole new content, never partial.

    The file is valid UTF-8 whatever ``text`` holds: a lone surrogate (from a name or output that was not
    UTF-8) is written as ``\\udcXX``, which inside a JSON string is the escape of that very character.
    ``writer`` names the temporary file (see :meth:`ResultStore.remove_partial`).
    """
    data = text.encode("utf-8", "backslashreplace")
    # Not named after ``path``: a name near the file system's 255 bytes would not fit with a prefix.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temporary_prefix(writer), suffix=".tmp")
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


def _temporary_prefix(writer: str) -> str:
    return f".{writer}~" if writer else "."


class ResultStore:
    """The results in ``out``, written by ``writer`` ("" for a whole batch, which owns OUT; else a shard's name)."""

    def __init__(self, out: Path, writer: str = "") -> None:
        self.out = out
        self.writer = writer

    def result_path(self, name: str) -> Path:
        """Where the result of submission ``name`` is."""
        return self.out / f"{name}.json"

    def write(self, name: str, outcome: Outcome, key: str | None = None) -> None:
        """Write ``outcome`` as ``name``'s result; with ``key`` (its fingerprint) a rerun keeps it while unchanged.

        The key is written after the result: a key never vouches for an older result.
        """
        text = json.dumps(outcome.to_json(), indent=2, ensure_ascii=False)
        write_atomic(self.result_path(name), text, self.writer)
        if key is not None:
            (self.out / _KEYS).mkdir(exist_ok=True)
            write_atomic(self.out / _KEYS / name, key, self.writer)

    def load(self, name: str, assignment: str = "") -> Outcome | None:
        """``name``'s result, or None when it has none (not graded yet, or a file that is damaged or edited)."""
        try:
            document = json.loads(self.result_path(name).read_text(encoding="utf-8"))
            return Outcome.from_json(document, assignment, name)
        except (OSError, ValueError):  # json's and Outcome's errors are ValueErrors
            return None

    def load_all(self, names: list[str], assignment: str = "") -> dict[str, Outcome]:
        """The results of ``names`` that have one, in the order of ``names``."""
        outcomes = {}
        for name in names:
            if (outcome := self.load(name, assignment)) is not None:
                outcomes[name] = outcome
        return outcomes

    def key(self, name: str) -> str | None:
        """The fingerprint ``name``'s result was graded from, if it was written with one."""
        try:
            return (self.out / _KEYS / name).read_text()
        except OSError:
            return None

    def kept(self, name: str, key: str, assignment: str = "") -> Outcome | None:
        """``name``'s result if a rerun keeps it: graded from the files and grader ``key`` stands for, not an error."""
        if self.key(name) != key:
            return None
        outcome = self.load(name, assignment)
        return outcome if outcome is not None and outcome.status.kept else None

    def write_file(self, filename: str, text: str) -> Path:
        """Write one of the batch's own files (grades.csv, summary.html) into OUT; returns its path."""
        path = self.out / filename
        write_atomic(path, text, self.writer)
        return path

    def remove_partial(self) -> None:
        """Remove the temporary files a killed run of this writer left (a whole batch: every writer's)."""
        pattern = f"{_temporary_prefix(self.writer)}*.tmp" if self.writer else ".*.tmp"
        for folder in (self.out, self.out / _KEYS, self.out / FEEDBACK):
            for leftover in folder.glob(pattern):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
