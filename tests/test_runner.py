"""The grading process's own work around a submission: its temporary copy (grader.runner)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from grader import runner


def test_the_copy_keeps_every_python_file_when_data_files_are_over_the_cap(tmp_path: Path) -> None:
    source = tmp_path / "submission"
    (source / "lib").mkdir(parents=True)
    for name in ("data.py", "model.py", "lib/helpers.py"):
        (source / name).write_text(f"# {name}\n")
    # Two data files that do not fit together; os.walk lists the root's files before lib/'s.
    for name in ("features.npy", "labels.npy"):
        with open(source / name, "wb") as handle:
            handle.truncate(runner.COPY_LIMIT_BYTES * 2 // 3)
    (source / "notes.txt").write_text("small files still fit\n")
    target = tmp_path / "copy"
    runner._copy_submission(source, target)
    copied = sorted(path.relative_to(target).as_posix() for path in target.rglob("*") if path.is_file())
    # In name order, the first data file fits and the second does not; the smaller file after it still does.
    assert copied == ["data.py", "features.npy", "lib/helpers.py", "model.py", "notes.txt"]


def test_the_copy_keeps_the_top_level_files_when_a_folder_holds_too_many(tmp_path: Path) -> None:
    source = tmp_path / "submission"
    (source / "env" / "lib").mkdir(parents=True)
    for name in ("data.py", "model.py", "train.py", "evaluate.py"):
        (source / name).write_text(f"# {name}\n")
    for index in range(runner.COPY_LIMIT_FILES + 100):  # a virtual environment left in the folder
        (source / "env" / "lib" / f"m{index}.py").write_text("")
    target = tmp_path / "copy"
    runner._copy_submission(source, target)
    copied = list(target.rglob("*.py"))
    assert len(copied) == runner.COPY_LIMIT_FILES
    assert {"data.py", "model.py", "train.py", "evaluate.py"} <= {path.name for path in target.glob("*.py")}


def test_a_submission_nested_too_deep_or_unreadable_is_refused_with_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader.errors import SubmissionError
    from grader.runner import DEPTH_LIMIT, submission_files

    (tmp_path / "data.py").write_text("")
    folder = tmp_path
    for _ in range(DEPTH_LIMIT + 1):
        folder = folder / "d"
        folder.mkdir()
    with pytest.raises(SubmissionError, match=f"more than {DEPTH_LIMIT} folders deep"):
        submission_files(tmp_path)
    real_scandir = os.scandir

    def refuse(path: Any) -> Any:  # root reads any folder: a permission error is made up here
        if Path(path).name == "d":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    with pytest.raises(SubmissionError, match=r"^d cannot be read: Permission denied$"):
        submission_files(tmp_path)


def test_where_a_submission_is_refused_is_said_in_printable_text(tmp_path: Path) -> None:
    """The folder names a refusal quotes are the student's: the TA's terminal, grades.csv and the feedback show
    them, so no terminal control gets through (a title, the clipboard, a line rewritten as "100/100")."""
    from grader.batch.outcome import Outcome, Status
    from grader.errors import SubmissionError
    from grader.runner import DEPTH_LIMIT, submission_files

    hostile = "\x1b]0;PWNED\x07\x1b]52;c;ZXZpbA==\x07\x1b[2K\rmallory: 100 graded\x1b[8m"
    folder = tmp_path / hostile
    for _ in range(DEPTH_LIMIT):
        folder = folder / "d"
    folder.mkdir(parents=True)
    with pytest.raises(SubmissionError) as refused:
        submission_files(tmp_path)
    assert (
        "\x1b" not in str(refused.value) and "\r" not in str(refused.value) and "%1B]0;PWNED%07" in str(refused.value)
    )
    assert (
        Outcome.failed(Status.INVALID, f"it is nested ({hostile})").reason == "it is nested (mallory: 100 graded)"
    )  # no \\r rubs out the grader's words
