"""Gradescope: ``results.json`` against Gradescope's autograder spec, and the autograder zip at work.

The zip's ``run_autograder`` runs here against a temporary ``/autograder``-like folder
(``AUTOGRADER_ROOT``), with this environment's Python instead of the venv ``setup.sh`` builds
(``GRADER_PYTHON``): once on a real submission with hidden checks, and on the crash and
timeout paths, where it must still leave a valid ``results.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import PEEK, ROOT, SOLUTION, unreadable_check

from grader import assignments, gradescope
from grader.reporters import gradescope as reporter
from grader.results import CheckResult, GradeReport
from grader.sandbox import isolation

HW1 = assignments.get("hw1")
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
# Every key Gradescope's spec names; anything else in results.json is a typo Gradescope would ignore.
TOP_LEVEL = {
    "score",
    "execution_time",
    "output",
    "output_format",
    "test_output_format",
    "test_name_format",
    "visibility",
    "stdout_visibility",
    "extra_data",
    "tests",
    "leaderboard",
}
PER_TEST = {
    "score",
    "max_score",
    "status",
    "name",
    "name_format",
    "number",
    "output",
    "output_format",
    "tags",
    "visibility",
    "extra_data",
}


def assert_results_json(document: dict[str, Any]) -> None:
    """The constraints of Gradescope's autograder spec on ``results.json``."""
    assert set(document) <= TOP_LEVEL, set(document) - TOP_LEVEL
    assert isinstance(document["tests"], list)
    assert isinstance(document["score"], int | float) and not isinstance(document["score"], bool)
    assert isinstance(document.get("execution_time", 0), int | float)
    assert isinstance(document.get("output", ""), str)
    for key in ("visibility", "stdout_visibility"):
        assert document.get(key, "visible") in VISIBILITIES
    numbers = [test["number"] for test in document["tests"]]
    assert len(set(numbers)) == len(numbers)
    for test in document["tests"]:
        assert set(test) <= PER_TEST, set(test) - PER_TEST
        assert test["status"] in {"passed", "failed"}
        assert 0 <= test["score"] <= test["max_score"]
        assert (test["score"] == test["max_score"]) == (test["status"] == "passed")
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["number"], str) and isinstance(test["output"], str)
        assert all(isinstance(tag, str) for tag in test["tags"])
        assert test["visibility"] in VISIBILITIES
    if document["tests"]:
        assert document["score"] == pytest.approx(sum(test["score"] for test in document["tests"]))


def _check(name: str, step: str, points: float, passed: bool, hidden: bool = False) -> CheckResult:
    message = "" if passed else f"{name}: expected 1, got 2. Reread: Step 2-2."
    return CheckResult(
        name=name,
        title=f"the {name} clause holds",
        step=step,
        slide="Step 2-2",
        max_score=points,
        passed=passed,
        message=message,
        hidden=hidden,
        duration=0.25,
    )


@pytest.fixture
def report() -> GradeReport:
    checks = [
        _check("loads", "data", 3, True),
        _check("splits", "data", 2, False),
        _check("softmax", "model", 2.5, True),
        _check("secret", "model", 4, False, hidden=True),
        _check("trains", "train", 5, True),
    ]
    return GradeReport("hw1", "submission", checks, duration=12.6, step_order=HW1.steps)


def test_results_follow_the_spec_and_hide_hidden_checks(report: GradeReport) -> None:
    document = json.loads(reporter.render(report))
    assert_results_json(document)
    assert document["score"] == 10.5 and document["execution_time"] == 13
    by_name = {test["name"]: test for test in document["tests"]}
    assert by_name["the secret clause holds"]["visibility"] == "after_published"
    assert {test["visibility"] for name, test in by_name.items() if "secret" not in name} == {"visible"}
    assert [test["number"] for test in document["tests"]] == ["1.1", "1.2", "2.1", "2.2", "3.1"]
    assert by_name["the splits clause holds"]["output"].startswith("splits: expected 1, got 2")
    # The student-visible summary must not give away the hidden check's result before publication.
    assert "Step 2 (Model): 2.5/2.5" in document["output"] and "6.5" not in document["output"]
    assert "1 hidden checks" in document["output"]


def test_error_document_follows_the_spec() -> None:
    document = json.loads(reporter.render_error("hw1", "GraderError: the checks could not be loaded"))
    assert_results_json(document)
    assert document["score"] == 0 and "could not be loaded" in document["output"]


def _unpack(bundle: Path, root: Path) -> None:
    """Lay the zip out as Gradescope does: /autograder/source and /autograder/run_autograder."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    (root / "submission").mkdir()


def _run_autograder(root: Path, python: str = sys.executable, limit: str = "600", **env_vars: str) -> dict[str, Any]:
    # This checkout stands in for the grader that setup.sh installs into /autograder/venv.
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {
        **os.environ,
        "AUTOGRADER_ROOT": str(root),
        "GRADER_PYTHON": python,
        "GRADER_TIME_LIMIT": limit,
        "PYTHONPATH": path,
        "GRADER_CGROUP": str(root / "cgroup"),  # a container's cgroup, made up by the test (empty: none)
        **env_vars,
    }
    done = subprocess.run(
        [str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr
    document = json.loads((root / "results" / "results.json").read_text())
    assert_results_json(document)
    return document


def test_zip_layout(tmp_path: Path) -> None:
    names = gradescope.build_zip(HW1, tmp_path / "autograder.zip")
    assert {
        "setup.sh",
        "run_autograder",
        "pyproject.toml",
        "README.md",
        "grader/__init__.py",
        "grader/checks/hw1/hidden.json",
        "grader/templates/gradescope/run_autograder",
    } <= set(names)
    assert not [name for name in names if "__pycache__" in name or name.startswith(("solutions", "hidden/"))]
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        for script in ("setup.sh", "run_autograder"):
            assert archive.getinfo(script).external_attr >> 16 & 0o111, f"{script} is not executable"
        setup = archive.read("setup.sh").decode()
        run_autograder = archive.read("run_autograder").decode()
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in setup
    assert "@" not in run_autograder.replace("${arguments[@]}", "")
    assert 'arguments=("$assignment" "$root/submission" --upload --format gradescope' in run_autograder
    gradescope.build_zip(HW1, tmp_path / "again.zip")
    assert (tmp_path / "again.zip").read_bytes() == (tmp_path / "autograder.zip").read_bytes()


HIDDEN_CHECKS = '''\
"""Hidden checks for the test: one about the student's code, one about the sandbox."""

import torch

from grader.checks import check, expect, expect_close


@check(points=1, step="model", slide="Step 2-2 Define the loss function")
def test_softmax_of_equal_logits(student):
    """softmax of equal logits is uniform"""
    expect_close(student.module("model").softmax(torch.zeros(4)), torch.full((4,), 0.25), "softmax(zeros(4))")


''' + unreadable_check(1)


def test_run_autograder_grades_a_zipped_folder_with_hidden_checks(tmp_path: Path) -> None:
    hidden = tmp_path / "hidden-checks"
    hidden.mkdir()
    (hidden / "test_secret.py").write_text(HIDDEN_CHECKS)
    gradescope.build_zip(HW1, tmp_path / "autograder.zip", hidden=hidden)
    root = tmp_path / "autograder"
    _unpack(tmp_path / "autograder.zip", root)
    # A zipped clone of the student's repository, as Gradescope unpacks it: everything in one top folder,
    # the files under assignments/hw1/ and a stray data.py at the top, which --batch grades the same way.
    top = root / "submission" / "my-repo-main"
    submission = top / "assignments" / "hw1"
    shutil.copytree(SOLUTION, submission)
    with open(submission / "model.py", "a") as model:
        model.write(PEEK)
    (top / "data.py").write_text("# scratch: a stray file does not hide assignments/hw1/\n")

    document = _run_autograder(root)
    tests = {test["name"]: test for test in document["tests"]}
    hidden_tests = [test for test in document["tests"] if test["visibility"] == "after_published"]
    assert sorted(test["name"] for test in hidden_tests) == [
        "softmax of equal logits is uniform",
        "student code cannot read the hidden checks",
    ]
    assert len(document["tests"]) > 20
    assert tests["softmax of equal logits is uniform"]["status"] == "passed"
    if isolation.choose().contained:
        assert tests["student code cannot read the hidden checks"]["status"] == "passed"
        assert document["score"] == 102
    public = [test for test in document["tests"] if test["visibility"] == "visible"]
    assert sum(test["score"] for test in public) == sum(test["max_score"] for test in public) == 100


@pytest.fixture
def unpacked(tmp_path: Path) -> Path:
    gradescope.build_zip(HW1, tmp_path / "autograder.zip")
    root = tmp_path / "autograder"
    _unpack(tmp_path / "autograder.zip", root)
    return root


def test_run_autograder_crash_still_writes_results(unpacked: Path, tmp_path: Path) -> None:
    crashing = tmp_path / "python"
    crashing.write_text('#!/bin/sh\nprintf \'{"score": \'\necho "Traceback: the grader broke" >&2\nexit 1\n')
    crashing.chmod(0o755)
    shutil.copytree(SOLUTION, unpacked / "submission", dirs_exist_ok=True)
    document = _run_autograder(unpacked, python=str(crashing))
    assert document["score"] == 0 and document["tests"] == []
    assert "exit status 1" in document["output"]


def test_run_autograder_timeout_still_writes_results(unpacked: Path) -> None:
    (unpacked / "submission" / "data.py").write_text("while True:\n    pass\n")
    started = time.monotonic()
    document = _run_autograder(unpacked, limit="2")
    assert time.monotonic() - started < 30
    assert document["score"] == 0 and "longer than 2 seconds" in document["output"]


def _fake_python(folder: Path, scenario: str) -> Path:
    """A stand-in for the grader's Python: ``-m grader ...`` records its arguments and plays ``scenario``."""
    fake = folder / "python"
    fake.write_text(
        "#!/bin/bash\n"
        f'if [ "$1 $2" != "-m grader" ]; then exec {sys.executable} "$@"; fi\n'
        f'echo "$@" > {folder / "arguments"}\n'
        f"{scenario}\n"
    )
    fake.chmod(0o755)
    return fake


def test_run_autograder_reports_a_kill_as_what_it_was(unpacked: Path, tmp_path: Path) -> None:
    python = _fake_python(tmp_path, "kill -KILL $$")
    document = _run_autograder(unpacked, python=str(python))
    assert document["score"] == 0 and document["tests"] == []
    assert "the grader was killed by signal SIGKILL (most often the kernel's OOM killer" in document["output"]
    assert "longer than" not in document["output"]
    python = _fake_python(tmp_path, "kill -SEGV $$")
    assert "killed by signal SIGSEGV." in _run_autograder(unpacked, python=str(python))["output"]


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_run_autograder_reports_the_oom_killer(unpacked: Path, tmp_path: Path, version: str) -> None:
    cgroup = unpacked / "cgroup"
    events = cgroup / "memory.events" if version == "v2" else cgroup / "memory" / "memory.oom_control"
    events.parent.mkdir(parents=True)
    events.write_text("oom 0\noom_kill 0\n" if version == "v2" else "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    limit = cgroup / "memory.max" if version == "v2" else cgroup / "memory" / "memory.limit_in_bytes"
    limit.write_text(f"{768 * 1024 * 1024}\n")
    # The kernel counts the kill in the container's cgroup, then the grader is gone.
    python = _fake_python(tmp_path, f"sed -i 's/^oom_kill 0/oom_kill 1/' {events}; kill -KILL $$")
    document = _run_autograder(unpacked, python=str(python))
    assert document["output"] == (
        "The autograder could not grade this submission: the grader ran out of memory: the kernel's OOM killer "
        "stopped it (the container has 768 MiB). Please tell the course staff."
    )


def test_run_autograder_sizes_the_memory_limit_to_the_container(unpacked: Path, tmp_path: Path) -> None:
    python = _fake_python(tmp_path, "exit 1")  # no document: only the arguments matter here
    (unpacked / "cgroup").mkdir()
    limit = unpacked / "cgroup" / "memory.max"
    for container, expected in ((768, 192), (2048, 1472), (600, 192)):
        limit.write_text(f"{container * 1024 * 1024}\n")
        _run_autograder(unpacked, python=str(python))
        assert f"--memory-mb {expected}" in (tmp_path / "arguments").read_text()
    _run_autograder(unpacked, python=str(python), GRADER_MEMORY_MB="1000")
    assert "--memory-mb 1000" in (tmp_path / "arguments").read_text()
    limit.write_text("max\n")  # no limit: the machine's memory
    _run_autograder(unpacked, python=str(python))
    machine = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    assert f"--memory-mb {machine - 576}" in (tmp_path / "arguments").read_text()


def test_run_autograder_says_what_an_upload_lacks(unpacked: Path) -> None:
    (unpacked / "submission" / "notes.txt").write_text("I will submit later\n")
    document = _run_autograder(unpacked)
    assert document["score"] == 0 and document["tests"] == []
    assert (
        "none of data.py, model.py, train.py, evaluate.py found at the top level, under assignments/hw1/ or in a "
        "single folder" in document["output"]
    )
