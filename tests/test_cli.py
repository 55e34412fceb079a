"""The command line as students and CI use it: exit codes, one-line usage errors, output formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, SOLUTION, STUBS, run_grader


@pytest.mark.parametrize(
    "args, message",
    [
        (["hw7"], "Error: unknown assignment 'hw7'. Did you mean 'hw1' or 'hw2'?"),
        (["hw"], "Error: unknown assignment 'hw'. Did you mean 'hw1' or 'hw2'?"),
        (["hw22"], "Error: unknown assignment 'hw22'. Did you mean 'hw2'?"),
        (["zzz"], "Error: unknown assignment 'zzz'. Known: hw1, hw2."),
        (["audit", "hw9"], "Error: unknown assignment 'hw9'. Did you mean 'hw1' or 'hw2'?"),
        (["workflow", "hw1", "--nope"], "Error: unrecognized arguments: --nope"),
        (["hw1", "no/such/folder"], "Error: submission folder 'no/such/folder' does not exist."),
        (["hw1", "--format", "yaml"], "Error: argument --format: invalid choice"),
        (["hw1", "--batch", "no/such/folder", "--out", "x"], "Error: batch folder 'no/such/folder' does not exist."),
        (["hw1", "--batch", "solutions", "--out", "README.md"], "Error: --out 'README.md' is not a folder."),
        (
            ["hw1", "--batch", "solutions", "--out", "no/such/out", "--isolation", "session"],
            "Error: --batch runs other people's code, and here it could not be isolated",
        ),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    done = run_grader(*args)
    assert done.returncode == 2
    assert done.stderr.startswith(message)
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_json_report_of_the_solution_whatever_pytest_setup_the_caller_has(tmp_path: Path) -> None:
    # Grading runs its own pytest session: a TA's PYTEST_ADDOPTS, PYTEST_PLUGINS or an installed pytest
    # plugin (found by its entry point) must not select, stop, reorder or reseed the checks.
    site = tmp_path / "site"
    (site / "deselect_all-1.0.dist-info").mkdir(parents=True)
    (site / "deselect_all-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: deselect-all\nVersion: 1.0\n"
    )
    (site / "deselect_all-1.0.dist-info" / "entry_points.txt").write_text("[pytest11]\ndeselect_all = deselect_all\n")
    (site / "deselect_all.py").write_text("def pytest_collection_modifyitems(items):\n    del items[1:]\n")
    (site / "broken_plugin.py").write_text("raise RuntimeError('loaded')\n")
    hostile = {
        "PYTHONPATH": str(site),
        "PYTEST_ADDOPTS": "-x -k titanic --hypothesis-seed=1",
        "PYTEST_PLUGINS": "broken_plugin",
    }
    done = run_grader("hw1", str(SOLUTION), "--format", "json", env=hostile)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["score"] == report["max_score"] == 100
    for test in report["tests"]:
        assert set(test) >= {"name", "step", "score", "max_score", "status", "output", "visibility"}
        assert test["step"] in {"data", "model", "train", "evaluate", "end-to-end"}
        assert test["status"] == "passed" and test["score"] == test["max_score"] > 0
    assert len({test["name"] for test in report["tests"]}) == len(report["tests"])


def test_text_report_of_the_stubs_defaults_to_assignments_hw1() -> None:
    done = run_grader("hw1", cwd=ROOT)
    assert done.returncode == 1
    for heading in ("Step 1 (Data)", "Step 2 (Model)", "Step 3 (Training)", "Step 4 (Evaluation)", "End to end"):
        assert heading in done.stdout
    assert "Total: 0/100" in done.stdout
    assert "NotImplementedError" in done.stdout and "Reread: " in done.stdout
    assert "\\033[" not in done.stdout and "\x1b[" not in done.stdout  # no colour when not on a terminal
    assert str(STUBS) not in done.stderr


def test_a_batch_the_machine_stops_says_why_in_a_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full disk or a grading process that cannot start: a line and exit status 3, not a traceback."""
    from grader import cli
    from grader.batch import pool
    from grader.batch import run as batch

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(batch, "run", fail)
    monkeypatch.setattr(pool.StopSignals, "install", lambda: None)  # this process's signals stay pytest's
    assert cli.main(["hw1", "--batch", str(tmp_path), "--out", str(tmp_path / "out")]) == 3
    assert capsys.readouterr().err == (
        "Error: the batch stopped: [Errno 28] No space left on device. Every finished result is kept.\n"
    )
