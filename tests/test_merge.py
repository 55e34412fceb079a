"""The merge of a sharded batch, on results written by hand: what counts as current, what is listed missing."""

from __future__ import annotations

import csv
from pathlib import Path

from grader import assignments
from grader.batch import run as batch
from grader.batch.fingerprints import fingerprint, grader_key
from grader.batch.outcome import Outcome, Status
from grader.batch.sharding import Shard, assign
from grader.batch.store import ResultStore
from grader.results import CheckResult, GradeReport
from grader.sandbox import Limits

HW1 = assignments.get("hw1")


def _graded(points: float) -> Outcome:
    checks = [CheckResult("test_rows", "rows", "data", "", 10, points == 10)]
    return Outcome.of(GradeReport("hw1", "", checks, 1.0, sandbox="namespaces"))


def test_the_merge_keeps_current_results_and_lists_the_rest_with_their_shards(tmp_path: Path) -> None:
    folder, out = tmp_path / "class", tmp_path / "out"
    for name in ("alice", "bob", "carol", "dave"):
        for module in HW1.modules:
            (folder / name).mkdir(parents=True, exist_ok=True)
            (folder / name / f"{module}.py").write_text(f"# {name}\n")
    key = grader_key("hw1", Limits(), (), "cpu")
    store = ResultStore(out)
    out.mkdir()
    store.write("alice", _graded(10), key=fingerprint(folder / "alice", key, HW1))
    store.write("bob", _graded(0), key=fingerprint(folder / "bob", key, HW1))
    (folder / "bob" / "model.py").write_text("# bob, resubmitted after his shard graded him\n")
    store.write("carol", Outcome.failed(Status.ERROR, "the grading process died while grading this submission"))
    (out / "feedback").mkdir()
    (out / "feedback" / "bob.txt").write_text("bob's feedback from his out-of-date result\n")
    before = {path.name: path.read_bytes() for path in out.rglob("*") if path.is_file() and path.parent == out}
    lines: list[str] = []

    merged = batch.merge(HW1, folder, out, Limits(), lines.append, shards=3)

    assert merged.names == ["alice", "bob", "carol", "dave"]
    assert merged.missing == {
        "bob": "its result was graded from other files, options or grader than these",
        "carol": "the grading process died while grading this submission",
        "dave": "no result yet",
    }
    assert merged.shards == {name: Shard(index, 3) for name, index in assign(merged.names, 3).items()}
    # In grades.csv: the current grade, and the error as a local batch leaves it; not bob's out-of-date 0.
    assert list(merged.outcomes) == ["alice", "carol"]
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["submission"]: (row["score"], row["status"]) for row in csv.DictReader(handle)}
    assert rows == {"alice": ("10", "graded"), "carol": ("0", "error")}
    page = (out / "summary.html").read_text(encoding="utf-8")
    assert all(f'data-submission="{name}" data-status="pending"' in page for name in ("bob", "dave"))
    feedback = out / "feedback"
    assert lines == [f"Wrote {out / 'grades.csv'}, {out / 'summary.html'} and {feedback}/ (2 of 4 submissions)."]
    after = {path.name: path.read_bytes() for path in out.rglob("*") if path.is_file() and path.parent == out}
    assert {name: data for name, data in after.items() if name not in ("grades.csv", "summary.html")} == before
    # Feedback for what is in grades.csv (the error says why it has no grade); bob's old one is no one's now.
    assert sorted(path.name for path in feedback.iterdir()) == ["alice.md", "alice.txt", "carol.md", "carol.txt"]
    assert "the grading process died" in (feedback / "carol.txt").read_text()

    # Another device is another grader: nothing graded on the CPU is current for a GPU class.
    assert set(batch.merge(HW1, folder, out, Limits(), lines.append, device="cuda").missing) == set(merged.names)
