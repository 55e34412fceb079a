"""What a TA hands back: ``OUT/feedback/<name>.txt`` and ``.md``, grades.csv's reasons and maxima, identical
submissions; on hand-written results, and on a small real batch and its merge."""

from __future__ import annotations

import csv
import html
import io
import shutil
import zipfile
from pathlib import Path

import cmarkgfm
from cmarkgfm.cmark import Options
from conftest import SOLUTION, run_grader

from grader import assignments
from grader.batch import feedback
from grader.batch.fingerprints import fingerprint
from grader.batch.merge import grades_csv, identical
from grader.batch.outcome import Outcome, Status
from grader.batch.store import ResultStore
from grader.reporters import text
from grader.results import CheckResult, GradeReport

HW1 = assignments.get("hw1")
HOSTILE = "<b>*eve*</b> [x](javascript:alert(1))"


def _outcome(*checks: CheckResult) -> Outcome:
    return Outcome.of(GradeReport("hw1", "", list(checks), 1.0, sandbox="namespaces"))


ROWS = CheckResult("test_rows", "TitanicDataset reads every row", "data", "", 5, True)
LOSS = CheckResult("test_loss", "the loss", "model", "", 3, False, message="expected 1.0, got ```2.0```")
SECRET = CheckResult(
    "test_secret", "a hidden check", "model", "", 2, False, message="wrong on hidden data", hidden=True
)


def test_feedback_is_the_text_report_with_hidden_checks_marked_and_its_markdown_twin() -> None:
    files = feedback.render(HW1, HOSTILE, _outcome(ROWS, LOSS, SECRET))
    report = feedback.student_report(HW1, HOSTILE, _outcome(ROWS, LOSS, SECRET).report)  # type: ignore[arg-type]
    assert files[".txt"] == text.render(report, color=False) + "\n"
    assert files[".txt"].startswith(f"hw1: {HOSTILE}\n") and "Step 1 (Data)" in files[".txt"]
    # Hidden checks are there by their visibility (after_published: with the grades), and said to be hidden.
    assert "a hidden check (hidden check)" in files[".txt"] and "wrong on hidden data" in files[".txt"]
    assert "the loss (0/3)" in files[".txt"]
    md = files[".md"]
    # Every punctuation mark of the name escaped (no tag, no emphasis, no link), then the text report itself,
    # fenced by more backticks than it holds, so that no message can close its block.
    heading = "# hw1: \\<b\\>\\*eve\\*\\<\\/b\\> \\[x\\]\\(javascript\\:alert\\(1\\)\\)"
    assert md == f"{heading}\n\n````text\n{files['.txt']}````\n"
    # As GitHub's renderer (unsafe mode: raw HTML let through) shows it: the name as text, the report verbatim.
    page = cmarkgfm.github_flavored_markdown_to_html(md, Options.CMARK_OPT_UNSAFE)
    assert page == f"<h1>hw1: {html.escape(HOSTILE, quote=False)}</h1>\n" + (
        f'<pre lang="text"><code>{html.escape(files[".txt"], quote=False)}</code></pre>\n'
    )


def test_a_submission_without_a_report_gets_feedback_that_says_why() -> None:
    reason = "none of data.py, model.py, train.py, evaluate.py found at the top level"
    files = feedback.render(HW1, "dave", Outcome.failed(Status.INVALID, reason))
    assert files[".txt"] == f"hw1: dave\n\nNothing could be graded: {reason}\n"
    assert files[".md"] == f"# hw1: dave\n\n```text\n{files['.txt']}```\n"
    error = feedback.render(HW1, "fay", Outcome.failed(Status.ERROR, "the grading process died"))[".txt"]
    assert "not your code" in error and "will grade it again" in error and "the grading process died" in error


def test_feedback_is_written_once_and_what_no_result_stands_for_is_removed(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    (tmp_path / "feedback").mkdir()
    (tmp_path / "feedback" / "gone.txt").write_text("a student who left the class\n")
    (tmp_path / "feedback" / "notes.csv").write_text("the TA's own file\n")
    outcomes = {"alice": _outcome(ROWS), "dave": Outcome.failed(Status.INVALID, "empty")}
    folder = feedback.write_all(store, HW1, outcomes)
    names = {"alice.txt", "alice.md", "dave.txt", "dave.md", "notes.csv"}
    assert {path.name for path in folder.iterdir()} == names
    stamps = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    (folder / "dave.md").write_text("edited")
    feedback.write_all(store, HW1, outcomes)
    after = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    assert {name for name in names if after[name] != stamps[name]} == {"dave.md"}  # only what changed is rewritten
    assert (folder / "dave.md").read_text().startswith("# hw1: dave\n")


def test_grades_csv_has_a_reason_and_steps_and_checks_by_title_with_their_maxima() -> None:
    twin = CheckResult("test_rows_again", "TitanicDataset reads every row", "data", "", 1, False, message="no")
    outcomes = {
        "alice": _outcome(ROWS, twin, LOSS),
        "dave": Outcome.failed(Status.INVALID, "=cmd|' /C calc'!A0\nnone of data.py found"),
        "slow": Outcome.failed(Status.TIMEOUT, "grading took longer than 600 s in all"),
    }
    rows = list(csv.reader(io.StringIO(grades_csv(outcomes, HW1.steps))))
    assert rows[0] == [
        "submission",
        "score",
        "max_score",
        "Step 1 (Data) [max 6]",
        "Step 2 (Model) [max 3]",
        "status",
        "reason",
        "TitanicDataset reads every row [test_rows, max 5]",  # two checks of one title: told apart by their ids
        "TitanicDataset reads every row [test_rows_again, max 1]",
        "the loss [max 3]",
    ]
    assert rows[1] == ["alice", "5", "9", "5", "0", "graded", "", "5", "0", "0"]
    # A reason on one line, never a formula; a submission no check ran on has no points per step or check.
    assert rows[2] == ["dave", "0", "0", "", "", "invalid", "'=cmd|' /C calc'!A0 none of data.py found", "", "", ""]
    assert rows[3][5:7] == ["timeout", "grading took longer than 600 s in all"]


def test_identical_submissions_are_those_graded_from_one_fingerprint(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    for name, key in (("alice", "k1"), ("bob", "k2"), ("carol", "k1"), ("dan", "k1")):
        store.write(name, _outcome(ROWS), key=key)
    store.write("eve", Outcome.failed(Status.INVALID, "empty"), key="k3")
    store.write("fay", Outcome.failed(Status.INVALID, "empty"), key="k3")  # nothing graded: nothing shared
    outcomes = store.load_all(["alice", "bob", "carol", "dan", "eve", "fay"], "hw1")
    assert identical(store, outcomes) == [["alice", "carol", "dan"]]


def test_two_byte_identical_zips_have_one_fingerprint_whatever_their_names(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "alice.zip", "w") as bundle:
        for path in sorted(SOLUTION.glob("*.py")):
            bundle.write(path, path.name)
    shutil.copy(tmp_path / "alice.zip", tmp_path / "bob.zip")
    assert fingerprint(tmp_path / "alice.zip", b"key", HW1) == fingerprint(tmp_path / "bob.zip", b"key", HW1)


def test_a_real_batch_and_its_merge_hand_back_feedback_and_find_the_identical_pair(tmp_path: Path) -> None:
    folder, out = tmp_path / "class", tmp_path / "out"
    shutil.copytree(SOLUTION, folder / "sol")
    shutil.copytree(SOLUTION, folder / "copy")  # byte for byte
    (folder / "empty").mkdir()
    shutil.copytree(SOLUTION, folder / "buggy")
    with open(folder / "buggy" / "model.py", "a") as model:
        model.write("\ndef broken(:\n")
    done = run_grader("hw1", "--batch", str(folder), "--out", str(out), "--jobs", "2")
    assert done.returncode == 0, done.stderr
    returned = out / "feedback"
    assert {path.name for path in returned.iterdir()} == {
        f"{n}{s}" for n in ("sol", "copy", "empty", "buggy") for s in (".txt", ".md")
    }
    sol = (returned / "sol.txt").read_text()
    assert sol.startswith("hw1: sol\n") and "Total: 100/100" in sol and "FAIL" not in sol
    buggy = (returned / "buggy.txt").read_text()
    assert "FAIL" in buggy and "SyntaxError" in buggy and "Total: 100/100" not in buggy
    assert (returned / "buggy.md").read_text() == f"# hw1: buggy\n\n```text\n{buggy}```\n"
    assert "Nothing could be graded: none of data.py" in (returned / "empty.txt").read_text()
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    assert rows["empty"]["status"] == "invalid" and rows["empty"]["reason"].startswith("none of data.py")
    page = (out / "summary.html").read_text(encoding="utf-8")
    assert 'data-identical="2"' in page and page.count("data-identical=") == 1
    assert '<a href="feedback/copy.txt">copy</a>, <a href="feedback/sol.txt">sol</a>' in page

    # The merge rebuilds the same files from OUT/*.json, through the same function.
    before = {path.name: path.read_bytes() for path in returned.iterdir()}
    (returned / "sol.txt").unlink()
    (returned / "sol.md").write_text("edited by hand")
    done = run_grader("hw1", "--batch", str(folder), "--out", str(out), "--merge")
    assert done.returncode == 0, done.stdout + done.stderr
    assert {path.name: path.read_bytes() for path in returned.iterdir()} == before
    assert (out / "summary.html").read_text(encoding="utf-8") == page
