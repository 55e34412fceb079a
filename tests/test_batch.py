"""Batch grading as a TA runs it: mixed folders and zips, bad input, resume, and --jobs-independent grades."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import SOLUTION, run_grader


def _zip_folder(folder: Path, target: Path, prefix: str = "") -> None:
    with zipfile.ZipFile(target, "w") as bundle:
        for path in sorted(folder.glob("*.py")):
            bundle.write(path, prefix + path.name)


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tas-class")
    shutil.copytree(SOLUTION, folder / "alice")
    shutil.copytree(SOLUTION, folder / "bob" / "assignments" / "hw1")  # as `gh classroom clone` lays it out
    _zip_folder(SOLUTION, folder / "carol.zip")
    with zipfile.ZipFile(folder / "mallory.zip", "w") as bundle:
        bundle.writestr("../escaped.py", "print('zip slip')\n")
    (folder / "dave").mkdir()  # empty: nothing to grade
    (folder / "notes.txt").write_text("not a submission\n")
    return folder


def _batch(folder: Path, out: Path, jobs: int) -> tuple[str, dict[str, Any]]:
    done = run_grader("hw1", "--batch", str(folder), "--out", str(out), "--jobs", str(jobs))
    assert done.returncode == 0, done.stderr
    return done.stdout, {path.stem: json.loads(path.read_text()) for path in out.glob("*.json")}


@pytest.fixture(scope="module")
def first_run(class_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("tas-out")
    log, results = _batch(class_folder, out, jobs=2)
    return out, log, results


def test_every_kind_of_submission_gets_a_verdict(first_run: tuple[Path, str, dict[str, Any]]) -> None:
    out, log, results = first_run
    assert set(results) == {"alice", "bob", "carol", "mallory", "dave"}
    for name in ("alice", "bob", "carol"):
        assert results[name]["status"] == "graded" and results[name]["score"] == 100, name
    assert results["mallory"]["status"] == "invalid" and "unsafe path" in results["mallory"]["output"]
    assert results["dave"]["status"] == "invalid"
    assert "skipped notes.txt" in log
    assert not (out.parent / "escaped.py").exists()


def test_grades_csv_has_a_row_per_submission_and_a_column_per_step_and_check(
    first_run: tuple[Path, str, dict[str, Any]],
) -> None:
    out, _, results = first_run
    with open(out / "grades.csv", newline="") as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(results)
    columns = set(rows["alice"])
    assert {"score", "max_score", "status", "data", "model", "train", "evaluate", "end-to-end"} <= columns
    assert {t["check"] for t in results["alice"]["tests"]} <= columns
    assert float(rows["alice"]["score"]) == 100


def test_a_second_run_resumes_and_regrades_only_what_changed(
    class_folder: Path, first_run: tuple[Path, str, dict[str, Any]]
) -> None:
    out, _, _ = first_run
    log, _ = _batch(class_folder, out, jobs=2)
    assert "alice: unchanged, kept" in log and "carol: unchanged, kept" in log
    model = class_folder / "alice" / "model.py"
    model.write_text(model.read_text() + "\n# edited\n")
    log, results = _batch(class_folder, out, jobs=2)
    assert "alice: unchanged" not in log and "bob: unchanged, kept" in log
    assert results["alice"]["score"] == 100


def test_grades_do_not_depend_on_jobs(
    class_folder: Path, first_run: tuple[Path, str, dict[str, Any]], tmp_path: Path
) -> None:
    _, _, with_two = first_run
    _, with_one = _batch(class_folder, tmp_path / "one-job", jobs=1)

    def verdicts(document: dict[str, Any]) -> list[tuple[str, float, str]]:
        return [(t["check"], t["score"], t["status"]) for t in document["tests"]]

    assert {n: verdicts(d) for n, d in with_one.items()} == {n: verdicts(d) for n, d in with_two.items()}
