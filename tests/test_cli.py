"""The command line as students and CI use it: exit codes, one-line usage errors, output formats.

Usage errors run in this process through :class:`CliRunner` (as click's tests do): no interpreter, no torch
import per case. The end-to-end tests run ``python -m grader`` as a student does.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from conftest import ROOT, SOLUTION, STUBS, run_grader

from grader import cli, errors
from grader.results import CheckResult, GradeReport
from grader.sandbox import isolation


@dataclass(frozen=True)
class Result:
    """What one in-process run of the command line did."""

    exit_code: int
    stdout: str
    stderr: str


class _Stream(io.StringIO):
    """A captured stream that says whether it is a terminal."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


class CliRunner:
    """Runs :func:`grader.cli.main` in this process with captured stdout and stderr, variables and a folder.

    The environment and the isolation level a run forces are put back after each run.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch

    def invoke(
        self, *argv: str, env: dict[str, str | None] | None = None, cwd: Path = ROOT, tty: bool = False
    ) -> Result:
        """``python -m grader ARGV`` run from ``cwd``; ``env``: variables to set (None: to unset)."""
        out, err = _Stream(tty), _Stream(tty)
        self._monkeypatch.setattr(isolation, "_forced", [])
        with mock.patch.dict(os.environ), contextlib.chdir(cwd):
            for name, value in (env or {}).items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli.main(list(argv))
        return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli_runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for variable in ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "NO_COLOR", "COLUMNS"):
        monkeypatch.delenv(variable, raising=False)
    return CliRunner(monkeypatch)


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
        # The cases: each one line that says what to do.
        (
            [],
            "Error: no assignment given. Usage: python -m grader ASSIGNMENT [SUBMISSION] [options], ASSIGNMENT one "
            "of hw1, hw2 ('python -m grader list' shows their steps, --help every option).",
        ),
        (["HW1", "no/such/folder"], "Error: submission folder 'no/such/folder' does not exist."),  # HW1 is hw1
        (["workflow", "Hw2", "--nope"], "Error: unrecognized arguments: --nope"),
        (
            ["hw1", "solutions/hw1/model.py"],
            "Error: 'solutions/hw1/model.py' is a file: give the folder that holds it, e.g. python -m grader hw1 "
            "solutions/hw1",
        ),
        (["hw1", "solutions/hw1", "--out", "x"], "Error: --out goes with --batch CLASS; one submission's report"),
        (["hw1", "solutions/hw1", "--only", "x"], "Error: --only goes with --batch CLASS"),
        (
            ["hw1", "--batch", "solutions", "--out", "solutions"],
            f"Error: --out 'solutions' is inside the class folder 'solutions': put it beside, e.g. --out "
            f"{ROOT / 'solutions-results'}",
        ),
        (["hw1", "--batch", "solutions", "--out", "solutions/hw1/out"], "Error: --out 'solutions/hw1/out' is inside"),
        (["hw1", "--batch", "solutions", "--out", "/proc/nope"], "Error: --out '/proc/nope' cannot be written: "),
        (["hw1", "--batch", "solutions", "--out", "README.md/x"], "Error: --out 'README.md/x' cannot be made: "),
        (
            ["hw1", "--batch", "solutions", "--out", "no/such/out", "--only", "hw1,hw3"],
            "Error: --only: 'solutions' has no submission 'hw3'. Did you mean 'hw1' or 'hw2'?",
        ),
        (["hw1", "--batch", "solutions", "--out", "no/such/out", "--only", ","], "Error: --only needs the names"),
        (
            ["hw1", "--batch", "solutions", "--out", "no/such/out", "--only", "hw1", "--merge"],
            "Error: --only regrades on this machine",
        ),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(cli_runner: CliRunner, args: list[str], message: str) -> None:
    done = cli_runner.invoke(*args)
    assert done.exit_code == 2, done.stderr
    assert done.stderr.startswith(message)
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (ROOT / "no").exists()  # a refused --out is never made


def test_every_option_has_help(cli_runner: CliRunner) -> None:
    parser = cli._parser()
    for action in parser._actions:
        assert action.help, action.option_strings or action.dest
    with pytest.raises(SystemExit) as exited:
        cli_runner.invoke("--help")
    assert exited.value.code == 0


@pytest.mark.parametrize(
    "error, code, line",
    [
        (errors.UsageError("unknown assignment 'hw7'."), 2, "Error: unknown assignment 'hw7'.\n"),
        (errors.GraderError("grading failed: OSError: gone"), 3, "Error: grading failed: OSError: gone\n"),
        (errors.Timeout("train() ran past 20 s"), 1, "Error: train() ran past 20 s\n"),
        (errors.Interrupted("Interrupted: every finished result is kept."), 130, "Interrupted: every finished"),
        (errors.Interrupted("Stopped.", signal.SIGTERM), 143, "Stopped.\n"),
    ],
)
def test_errors_carry_their_exit_code_and_one_function_maps_them(
    error: errors.GraderError, code: int, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.fail(error) == code
    captured = capsys.readouterr()
    assert captured.err.startswith(line) and captured.out == ""


def test_a_stopped_batch_exits_128_plus_its_signal_in_a_line(
    cli_runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from grader.batch import pool
    from grader.batch import run as batch

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "run", interrupted)
    monkeypatch.setattr(pool.StopSignals, "install", lambda: None)  # this process's signals stay pytest's
    monkeypatch.setattr(pool.StopSignals, "received", [signal.SIGTERM])
    (tmp_path / "class").mkdir()
    done = cli_runner.invoke("hw1", "--batch", str(tmp_path / "class"), "--out", str(tmp_path / "out"))
    assert done.exit_code == 143
    assert done.stderr == "Interrupted: every finished result is kept; run the same command again to grade the rest.\n"


class _FakeGrader:
    """Stands in for :class:`grader.runner.Grader`: records the folder it is given; one check fails at length."""

    graded: list[Path] = []  # noqa: RUF012 (reset by the fixture)

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def grade(
        self, submission: Path, show_tracebacks: bool = False, hidden: tuple[Path, ...] = (), progress: bool = False
    ) -> GradeReport:
        self.graded.append(Path(submission))
        check = CheckResult("test_a", "a check", "data", "Step 1-1", 5, False, message=" ".join(["word"] * 60))
        return GradeReport("hw1", str(submission), [check])

    def close(self) -> None:
        pass


@pytest.fixture
def graded(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The folders the command line grades (with a stand-in grader: no student code runs)."""
    from grader import runner

    monkeypatch.setattr(runner, "Grader", _FakeGrader)
    monkeypatch.setattr(_FakeGrader, "graded", [])
    return _FakeGrader.graded


@pytest.mark.parametrize(
    "cwd, assignment, expected",
    [
        (STUBS, "hw1", STUBS),  # the student inside their assignment's folder
        (STUBS, "HW1", STUBS),
        (ROOT, "hw1", Path("assignments/hw1")),  # as before
        (ROOT / "grader" / "checks", "hw1", Path("../../assignments/hw1")),  # anywhere in the repository
        (ROOT / "assignments" / "hw2", "hw1", Path("../hw1")),  # hw2's files have hw1's names: not these
    ],
)
def test_the_submission_is_the_current_folder_or_the_repositorys_default(
    cli_runner: CliRunner, graded: list[Path], cwd: Path, assignment: str, expected: Path
) -> None:
    done = cli_runner.invoke(assignment, "--device", "cpu", "--trust-submissions", cwd=cwd)
    assert done.exit_code == 1, done.stderr
    assert graded == [expected] and (cwd / expected).resolve() == (ROOT / "assignments" / "hw1").resolve()


def test_a_folder_with_the_assignments_files_is_graded_where_it_is(
    cli_runner: CliRunner, graded: list[Path], tmp_path: Path
) -> None:
    (tmp_path / "Data.py").write_text("")  # misnamed, but a submission: grading says what it found
    done = cli_runner.invoke("hw1", "--device", "cpu", "--trust-submissions", cwd=tmp_path)
    assert done.exit_code == 1 and graded == [tmp_path]


def test_outside_any_submission_or_repository_says_where_it_looked(
    cli_runner: CliRunner, graded: list[Path], tmp_path: Path
) -> None:
    done = cli_runner.invoke("hw1", "--device", "cpu", "--trust-submissions", cwd=tmp_path)
    assert done.exit_code == 2 and graded == []
    assert done.stderr == (
        f"Error: no submission given, and the current folder ({tmp_path}) holds no hw1 files (data.py, model.py, "
        "train.py, evaluate.py) nor is it inside a repository with assignments/hw1: name the folder to grade.\n"
    )


@pytest.mark.parametrize(
    "env, tty, option, colored",
    [
        ({}, True, "auto", True),
        ({"NO_COLOR": "1"}, True, "auto", False),
        ({"NO_COLOR": ""}, True, "auto", True),  # set but empty: as if unset (no-color.org)
        ({"NO_COLOR": "1"}, True, "always", True),  # the option is the user's own choice
        ({}, False, "auto", False),
    ],
)
def test_no_color_is_honoured(
    cli_runner: CliRunner, graded: list[Path], env: dict[str, str | None], tty: bool, option: str, colored: bool
) -> None:
    done = cli_runner.invoke(
        "hw1", str(SOLUTION), "--device", "cpu", "--trust-submissions", "--color", option, env=env, tty=tty
    )
    assert done.exit_code == 1 and ("\x1b[" in done.stdout) == colored


@pytest.mark.parametrize("columns", [60, 100, 160])
def test_the_text_report_wraps_at_the_terminal_width(
    cli_runner: CliRunner, graded: list[Path], columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=(80, 24): os.terminal_size((columns, 24)))
    done = cli_runner.invoke("hw1", str(SOLUTION), "--device", "cpu", "--trust-submissions")
    message = [line for line in done.stdout.splitlines() if "word" in line]
    assert max(len(line) for line in message) <= columns
    assert max(len(line) for line in message) > columns - 10  # uses the width it has


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


def test_text_report_of_the_stubs_run_inside_assignments_hw1() -> None:
    done = run_grader("hw1", cwd=STUBS)
    assert done.returncode == 1
    for heading in ("Step 1 (Data)", "Step 2 (Model)", "Step 3 (Training)", "Step 4 (Evaluation)", "End to end"):
        assert heading in done.stdout
    assert "Total: 0/100" in done.stdout and f"hw1: {STUBS}" in done.stdout
    assert "TODO data.py line " in done.stdout  # each unfinished function once, where it is
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
    (tmp_path / "class").mkdir()
    assert cli.main(["hw1", "--batch", str(tmp_path / "class"), "--out", str(tmp_path / "out")]) == 3
    assert capsys.readouterr().err == (
        "Error: the batch stopped: [Errno 28] No space left on device. Every finished result is kept.\n"
    )


def test_a_resume_reports_in_one_line_and_only_regrades_the_named(tmp_path: Path) -> None:
    folder, out = tmp_path / "class", tmp_path / "out"
    for name in ("a1", "a2", "a3"):
        shutil.copytree(SOLUTION, folder / name)
    batch = ["hw1", "--batch", str(folder), "--out", str(out), "--jobs", "2"]
    done = run_grader(*batch)
    assert done.returncode == 0, done.stderr
    assert "Kept" not in done.stdout and "[3/3]" in done.stdout
    done = run_grader(*batch)
    assert done.returncode == 0, done.stderr
    assert "Kept 3 unchanged results; grading 0." in done.stdout and "[1/" not in done.stdout
    before = {name: (out / f"{name}.json").stat().st_mtime_ns for name in ("a1", "a2", "a3")}
    model = folder / "a3" / "model.py"
    model.write_text(model.read_text() + "\n# resubmitted\n")  # out of date, but not named: left as it is
    done = run_grader(*batch, "--only", "a2")
    assert done.returncode == 0, done.stderr
    assert "Kept 2 other results as they are (--only); grading 1." in done.stdout
    assert "[1/1] a2: " in done.stdout and "a1" not in done.stdout and "a3" not in done.stdout
    after = {name: (out / f"{name}.json").stat().st_mtime_ns for name in ("a1", "a2", "a3")}
    assert after["a2"] > before["a2"] and (after["a1"], after["a3"]) == (before["a1"], before["a3"])
    rows = (out / "grades.csv").read_text().splitlines()[1:]
    assert sorted(row.split(",")[0] for row in rows) == ["a1", "a2", "a3"]


def test_only_takes_a_name_as_written_before_splitting_it(tmp_path: Path) -> None:
    """A submission named " alice" or "alice,bob" is chosen as itself, never as another student's."""
    folder = tmp_path / "class"
    for name in ("alice", " alice", "bob", "alice,bob"):
        (folder / name).mkdir(parents=True)
        (folder / name / "data.py").write_text("")
    out = tmp_path / "out"
    assert cli._only(" alice", folder, out) == {" alice"}
    assert cli._only("alice,bob", folder, out) == {"alice,bob"}
    assert cli._only("alice, bob", folder, out) == {"alice", "bob"}  # spaces typed after a comma
    assert cli._only("bob, alice", folder, out) == {"bob", " alice"}  # " alice" is a name of the class
