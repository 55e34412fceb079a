"""Hidden checks on the command line: announced to students, added by staff with ``--hidden``.

The grading itself is replaced by a recording stand-in: these tests are about what the
command line passes on and prints. The real run of a hidden folder (checks reported hidden,
the folder unreadable by student code) is in tests/test_gradescope.py.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import ClassVar

import pytest

from grader import assignments, cli, hidden, runner
from grader.results import CheckResult, GradeReport


class _RecordingGrader:
    """Stands in for :class:`grader.runner.Grader`; grades every submission with one passing hidden check."""

    calls: ClassVar[list[dict[str, object]]] = []

    def __init__(self, assignment: object, limits: object, hide: tuple[Path, ...] = (), device: str = "cpu") -> None:
        self.calls.append({"hide": hide})

    def grade(
        self, submission: Path, show_tracebacks: bool = False, hidden: tuple[Path, ...] = (), progress: bool = False
    ) -> GradeReport:
        self.calls.append({"hidden": hidden})
        check = CheckResult(
            name="test_secret",
            title="a hidden clause holds",
            step="model",
            slide="Step 2-2",
            max_score=4,
            passed=True,
            hidden=bool(hidden),
        )
        return GradeReport("hw1", str(submission), [check])

    def close(self) -> None:
        pass


@pytest.fixture
def announced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """hw1 with a manifest announcing 2 hidden checks worth 10 points, graded by the stand-in."""
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / hidden.MANIFEST).write_text(json.dumps({"count": 2, "points": 10}))
    moved = dataclasses.replace(assignments.get("hw1"), checks_dir=checks)
    monkeypatch.setattr(assignments, "get", lambda name: moved)
    monkeypatch.setattr(runner, "Grader", _RecordingGrader)
    _RecordingGrader.calls = []
    submission = tmp_path / "submission"
    submission.mkdir()
    return submission


def test_the_committed_manifest_is_valid() -> None:
    manifest = hidden.manifest(assignments.get("hw1"))
    assert manifest.count >= 0 and manifest.points >= 0


def test_a_student_run_announces_the_hidden_checks(announced: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["hw1", str(announced), "--color", "never"]) == 0
    assert "2 hidden checks will run when the course staff grade." in capsys.readouterr().out
    assert _RecordingGrader.calls == [{"hide": ()}, {"hidden": ()}]


def test_staff_run_adds_hidden_folder_hides_it_and_checks_the_manifest(
    announced: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "hidden"
    folder.mkdir()
    (folder / "test_secret.py").write_text("")
    assert cli.main(["hw1", str(announced), "--hidden", str(folder), "--format", "gradescope"]) == 0
    captured = capsys.readouterr()
    assert _RecordingGrader.calls == [{"hide": (folder.resolve(),)}, {"hidden": (folder.resolve(),)}]
    document = json.loads(captured.out)
    assert document["tests"][0]["visibility"] == "after_published"
    assert captured.err == (
        "Warning: hidden.json announces 2 hidden checks worth 10 points, but 1 worth 4 ran; "
        "update it so that students are told the truth.\n"
    )


@pytest.mark.parametrize(
    "files, extra, message",
    [
        (None, [], "Error: hidden checks folder '{folder}' does not exist.\n"),
        (["notes.txt"], [], "Error: hidden checks folder '{folder}' holds no test_*.py check modules.\n"),
        # A batch checks the folder before it grades anything (its real run: tests/test_batch.py).
        (
            ["notes.txt"],
            ["--batch", "{folder}", "--out", "{folder}"],
            "Error: hidden checks folder '{folder}' holds no test_*.py check modules.\n",
        ),
    ],
)
def test_hidden_usage_errors_are_one_line(
    announced: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: list[str] | None,
    extra: list[str],
    message: str,
) -> None:
    folder = tmp_path / "hidden"
    if files is not None:
        folder.mkdir()
        for name in files:
            (folder / name).write_text("")
    arguments = [arg.format(folder=folder) for arg in ["hw1", str(announced), "--hidden", str(folder), *extra]]
    assert cli.main(arguments) == 2
    assert capsys.readouterr().err == message.format(folder=folder)
    assert _RecordingGrader.calls == []
