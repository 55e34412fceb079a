"""hw2 as students, CI, TAs and Gradescope use it: the same commands and formats as hw1, nothing special-cased.

Its checks' verdicts on the reference solution, the stubs and every variant of its corpus are
tests/test_mutation.py's (through ``python -m grader audit hw2``).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from actions_runner import read
from conftest import PEEK, ROOT, corpus, materialize, run_grader
from test_gradescope import _run_autograder, _unpack
from test_reporters import assert_junit, assert_runner_result, decode, variables

from grader import assignments, gradescope
from grader.checks.hw2 import textdata
from grader.sandbox import isolation

HW2 = assignments.get("hw2")
SOLUTION = ROOT / "solutions" / "hw2"
STUBS = ROOT / "assignments" / "hw2"
STEPS = ["data", "model", "train", "evaluate", "end-to-end"]
TITLES = ["Step 1 (Data)", "Step 2 (Model)", "Step 3 (Training)", "Step 4 (Evaluation)", "End to end"]

HIDDEN = '''"""Hidden hw2 checks for the test: one about the student's code, one about what it may read."""

import torch

from grader.checks import check, expect, expect_close


@check(points=1, step="model", slide="Step 2-1 Construct the model")
def test_mean_of_one_token(student):
    """masked_mean of one real token is that token's vector"""
    pooled = student.module("model").masked_mean(torch.ones(1, 2, 3), torch.tensor([[1, 0]]))
    expect_close(pooled, torch.ones(1, 3), "masked_mean(ones(1, 2, 3), [[1, 0]])")


@check(points=2, step="data", slide="Step 1-1 Prepare the dataset")
def test_staff_files_are_unreadable(student):
    """student code cannot read the hidden checks, the mutation corpus or the reference solution"""
    for path in [__file__, "{corpus}", "{solution}"]:
        seen = student.module("model").peek(path)
        expect(seen == "", f"student code read {{len(seen)}} characters of {{path}}")
'''


def _zip_folder(folder: Path, target: Path, prefix: str = "") -> None:
    with zipfile.ZipFile(target, "w") as bundle:
        for path in sorted(folder.iterdir()):
            bundle.write(path, prefix + path.name)


@pytest.fixture(scope="module")
def hidden_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hw2-hidden")
    # The files the hidden check tries to read exist: an empty read means "hidden", not "not there".
    assert (HW2.audit_dir / "variants.py").is_file() and (SOLUTION / "data.py").is_file()
    source = HIDDEN.format(corpus=HW2.audit_dir / "variants.py", solution=SOLUTION / "data.py")
    (folder / "test_secret.py").write_text(source)
    return folder


def _peeking(target: Path) -> Path:
    """The reference solution with a model.py that reads any file it can (for the hidden check)."""
    shutil.copytree(SOLUTION, target)
    with open(target / "model.py", "a") as model:
        model.write(PEEK)
    return target


def test_solution_gets_full_marks_and_exit_0() -> None:
    done = run_grader("hw2", str(SOLUTION), "--format", "json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    report = json.loads(done.stdout)
    assert report["score"] == report["max_score"] == 100
    assert list(dict.fromkeys(test["step"] for test in report["tests"])) == STEPS


def test_untouched_stubs_get_zero_and_exit_1() -> None:
    done = run_grader("hw2", cwd=ROOT)  # the default folder, assignments/hw2
    assert done.returncode == 1
    positions = [done.stdout.index(title) for title in TITLES]
    assert positions == sorted(positions)
    # Each unfinished function once, where it is, with the slide's step its stub names.
    assert "Total: 0/100" in done.stdout and "TODO data.py line " in done.stdout and ": Step 1-1: " in done.stdout


_EVERY_FORMAT = """
import json, sys
from pathlib import Path
from grader import assignments, reporters
from grader.runner import Grader
grader = Grader(assignments.get("hw2"))
report = grader.grade(Path(sys.argv[1]))
grader.close()
print(json.dumps({name: reporters.get(name).render(report) for name in reporters.FORMATS}))
"""


def test_every_format_renders_a_real_hw2_report(tmp_path: Path) -> None:
    """One grading of a submission with one bug, rendered by every reporter: each as its reader wants it."""
    bug = next(variant for variant in corpus("hw2").buggy if variant.step == "train")
    materialize(bug.edits, tmp_path / "submission", SOLUTION)
    done = subprocess.run(
        [sys.executable, "-c", _EVERY_FORMAT, str(tmp_path / "submission")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    documents = json.loads(done.stdout.splitlines()[-1])
    assert set(documents) == {"text", "json", "gradescope", "classroom", "junit", "github"}
    text = documents["text"]
    assert [text.index(title) for title in TITLES] == sorted(text.index(title) for title in TITLES)
    tests = json.loads(documents["json"])["tests"]
    assert {test["step"] for test in tests if test["status"] == "failed"} <= {"train", "end-to-end"}
    gradescope_tests = json.loads(documents["gradescope"])["tests"]
    majors = [int(test["number"].split(".")[0]) for test in gradescope_tests]
    assert majors == sorted(majors) and set(majors) == {1, 2, 3, 4, 5}
    assert {tag for test in gradescope_tests for tag in test["tags"]} == set(STEPS)
    assert "Step 3 (Training): 0/20" in json.loads(documents["gradescope"])["output"]
    results = [decode(value) for value in variables(documents["classroom"]).values()]
    for result in results:
        assert_runner_result(result)
    tests = [test for result in results for test in result["tests"]]
    assert all(test["name"].startswith(tuple(f"{title}: " for title in TITLES)) for test in tests)
    (suite,) = assert_junit(documents["junit"])
    assert suite.name == "hw2"
    assert {case.classname for case in suite} == {f"hw2.{step}" for step in STEPS}
    groups = [group.data for group in read(documents["github"]).named("group")]
    assert [group.split(":")[0] for group in groups] == list(TITLES)


def test_a_batch_with_hidden_checks(tmp_path: Path, hidden_folder: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    _peeking(folder / "alice")
    _zip_folder(STUBS, folder / "bob.zip", prefix="bob/assignments/hw2/")  # one top folder, as zipping makes
    bug = next(variant for variant in corpus("hw2").buggy if variant.step == "data")
    _peeking(tmp_path / "carol-base")
    materialize(bug.edits, folder / "carol", tmp_path / "carol-base")
    out = tmp_path / "out"
    done = run_grader("hw2", "--batch", str(folder), "--out", str(out), "--jobs", "2", "--hidden", str(hidden_folder))
    assert done.returncode == 0, done.stderr
    documents = {path.stem: json.loads(path.read_text()) for path in out.glob("*.json")}
    assert set(documents) == {"alice", "bob", "carol"}
    hidden = {
        name: [t for t in doc["tests"] if t["visibility"] == "after_published"] for name, doc in documents.items()
    }
    assert [t["name"] for t in hidden["alice"]] == [
        "student code cannot read the hidden checks, the mutation corpus or the reference solution",
        "masked_mean of one real token is that token's vector",
    ]
    if isolation.choose().contained:
        assert documents["alice"]["score"] == documents["alice"]["max_score"] == 103, hidden["alice"]
    assert documents["bob"]["score"] == 0 and documents["bob"]["status"] == "graded"
    carol = {
        step: sum(t["max_score"] - t["score"] for t in documents["carol"]["tests"] if t["step"] == step)
        for step in STEPS
    }
    assert carol["data"] > 0 and not any(carol[step] for step in ("model", "train", "evaluate"))
    with open(out / "grades.csv", newline="") as grades:
        header = next(csv.reader(grades))
    assert header[:3] == ["submission", "score", "max_score"]
    assert [column.split(" [max ")[0] for column in header[3 : 3 + len(STEPS)]] == TITLES
    # The staff's feedback for alice shows the hidden checks by their visibility, each marked as hidden.
    returned = (out / "feedback" / "alice.txt").read_text()
    marked = sum(int(n) for n in re.findall(r"\((\d+) hidden\)", returned)) + returned.count(" (hidden)")
    assert marked == len(hidden["alice"]) == 2, returned
    page = (out / "summary.html").read_text()
    assert [page.index(f"<td>{title}</td>") for title in TITLES] == sorted(page.index(f"<td>{t}</td>") for t in TITLES)
    # hidden.json announces none: the staff run says so.
    assert "Warning: hidden.json announces 0 hidden checks" in done.stdout + done.stderr


def test_gradescope_zip_grades_hw2_with_hidden_checks(tmp_path: Path, hidden_folder: Path) -> None:
    names = gradescope.build_zip(HW2, tmp_path / "autograder.zip", hidden=hidden_folder)
    assert "grader/checks/hw2/assignment.toml" in names and "hidden/test_secret.py" in names
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        assert "assignment=hw2" in archive.read("run_autograder").decode()
    root = tmp_path / "autograder"
    _unpack(tmp_path / "autograder.zip", root)
    _peeking(root / "submission" / "assignments" / "hw2")
    document = _run_autograder(root)
    public = [test for test in document["tests"] if test["visibility"] == "visible"]
    assert sum(test["score"] for test in public) == sum(test["max_score"] for test in public) == 100
    assert all(test["number"].split(".")[0] == str(HW2.step(test["tags"][0]).number) for test in public)
    assert len([test for test in document["tests"] if test["visibility"] == "after_published"]) == 2


def test_the_shipped_sample_is_the_generators() -> None:
    """assignments/hw2/sample.csv is what grader.checks.hw2.textdata makes for the public seed."""
    expected = textdata.to_csv(textdata.generate(textdata.SAMPLE_SEED, textdata.SAMPLE_ROWS, 0).train)
    assert (STUBS / "sample.csv").read_text(encoding="utf-8") == expected, (
        'regenerate it: python -c "from pathlib import Path; from grader.checks.hw2 import textdata; '
        "textdata.write_sample(Path('assignments/hw2/sample.csv'))\""
    )


def _solution_module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"_hw2_solution_{name}", SOLUTION / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sample_reads_as_the_handout_says() -> None:
    data = _solution_module("data")
    rows = data.read_rows(STUBS / "sample.csv")
    assert len(rows) == textdata.SAMPLE_ROWS and {label for _, label in rows} == set(range(len(textdata.TOPICS)))
    assert any("\n" in text for text, _ in rows) and any('"' in text for text, _ in rows)
    lengths = [len(data.tokenize(text)) for text, _ in rows]
    assert min(lengths) <= 3 and max(lengths) >= 60  # lengths that vary a lot


def test_the_handouts_examples_hold() -> None:
    data = _solution_module("data")
    assert data.tokenize("Hello, World!") == ["hello", ",", "world", "!"]
    assert data.tokenize("It's 3.5°C") == ["it", "'", "s", "3", ".", "5", "°", "c"]
    assert data.tokenize("") == [] and data.tokenize("Wow!!") == ["wow", "!", "!"]
    assert data.build_vocab(["b a b", "c a b"]) == {"<pad>": 0, "<unk>": 1, "b": 2, "a": 3, "c": 4}
    vocab = data.build_vocab(["b a b", "c a b"], min_freq=2)
    assert vocab == {"<pad>": 0, "<unk>": 1, "b": 2, "a": 3}
    assert data.encode("a d b", vocab) == [3, 1, 2]
