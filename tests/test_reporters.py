"""Reporters: every format from one result model, each checked against its real reader.

JUnit against Jenkins xunit-plugin's ``junit-10.xsd`` (``tests/data/``, validated with ``xmlschema``) and
read by ``junitparser``; the Classroom runner results by ``classroom-resources/autograding-grading-reporter``
itself (its v1 bundle in ``tests/data/``, run with node; skipped where node is missing); and the command
line's error path, where a format read by another program must still get a well-formed document.
``--format github`` has ``tests/test_github.py``, Gradescope ``tests/test_gradescope.py``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import junitparser
import pytest
import xmlschema
from actions_runner import read

from grader import assignments, cli, reporters, runner
from grader.reporters import classroom, junit
from grader.results import CheckResult, GradeReport

DATA = Path(__file__).resolve().parent / "data"
SCHEMA = xmlschema.XMLSchema10(DATA / "junit-10.xsd")
REPORTER = DATA / "autograding-grading-reporter" / "main.js"
UNSAFE = 'expected <0.5> & "1" \x00\x1b[31m é'


def _check(
    name: str, step: str, points: float, passed: bool, hidden: bool = False, error: str = "", **where: Any
) -> CheckResult:
    message = "" if passed else f"{name}: {UNSAFE}. Reread: Step 2-2."
    return CheckResult(
        name=f"test_{name}",
        title=f"the {name} clause holds",
        step=step,
        slide="Step 2-2",
        max_score=points,
        passed=passed,
        message=message,
        hidden=hidden,
        duration=1e-5,
        error=error,
        **where,
    )


@pytest.fixture
def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GradeReport:
    # A repository (the current folder, where CI runs the grader) with the submission in a folder of it.
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "model.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    checks = [
        _check("loads", "data", 3, True),
        _check("splits", "data", 2, False, file="model.py", line=7),
        _check("softmax", "model", 2.5, True),
        _check("hangs", "train", 5, False, error="Timeout"),
        _check("secret", "end-to-end", 4, True, hidden=True),
    ]
    return GradeReport("hw1", "submission", checks, duration=1234.5, step_order=assignments.get("hw1").steps)


def assert_junit(document: str) -> junitparser.JUnitXml:
    """Valid against junit-10.xsd, counts that add up; returns the document as junitparser reads it."""
    SCHEMA.validate(document)
    parsed = junitparser.JUnitXml.fromstring(document)
    for suite in parsed:
        cases = list(suite)
        assert suite.tests == len(cases)
        assert suite.failures == sum(1 for case in cases if case.is_failure)
        assert suite.errors == sum(1 for case in cases if case.is_error)
    return parsed


def test_junit_validates_against_junit_10_and_junitparser_reads_it(report: GradeReport) -> None:
    document = junit.render(report)
    assert document.startswith("<?xml")
    (suite,) = assert_junit(document)
    assert (suite.name, suite.tests, suite.failures, suite.errors, suite.skipped, suite.time) == (
        "hw1",
        5,
        2,
        0,
        0,
        1234.5,
    )
    points = {prop.name: prop.value for prop in suite.properties()}
    assert points == {"score": "9.5", "max_score": "16.5", "hidden_pending": "0"}
    cases = list(suite)
    assert [case.classname for case in cases] == ["hw1.data", "hw1.data", "hw1.model", "hw1.train", "hw1.end-to-end"]
    assert [case.time for case in cases] == [0.0] * 5
    assert [case.is_passed for case in cases] == [True, False, True, False, True]
    assert cases[2].system_out == "score: 2.5\nmax_score: 2.5\n"
    assert cases[4].system_out.endswith("hidden: true\n")
    # Where student code raised what failed the check: the file from the current folder (the repository
    # root in CI) and the line, in system-out and as a traceback line ending the failure's text.
    assert cases[1].system_out == "score: 0\nmax_score: 2\nfile: submission/model.py\nline: 7\n"
    (failure,) = cases[1].result
    assert failure.type == "CheckFailure"
    # Escaped, and the characters XML 1.0 cannot hold replaced: the message survives a parser.
    assert failure.message == 'splits: expected <0.5> & "1" \ufffd\ufffd[31m é. Reread: Step 2-2.'
    assert failure.text == failure.message + '\n  File "submission/model.py", line 7'
    (hang,) = cases[3].result
    assert hang.type == "Timeout" and "file:" not in cases[3].system_out


def test_the_schema_is_the_strict_one() -> None:
    # What the issue saw rejected: attributes junit-10.xsd does not allow.
    bad = '<testsuites skipped="0"><testsuite name="a" tests="0" failures="0" errors="0"/></testsuites>'
    with pytest.raises(xmlschema.XMLSchemaValidationError, match="skipped"):
        SCHEMA.validate(bad)
    case = '<testsuites><testsuite name="a" tests="1" failures="0" errors="0"><testcase name="t" file="m.py"/>'
    with pytest.raises(xmlschema.XMLSchemaValidationError, match="file"):
        SCHEMA.validate(case + "</testsuite></testsuites>")


def test_junit_error_document() -> None:
    (suite,) = assert_junit(junit.render_error("hw1", "GraderError: <boom>"))
    assert suite.errors == 1 and suite.failures == 0
    (case,) = suite
    (error,) = case.result
    assert error.message == "GraderError: <boom>"


def decode(text: str) -> dict[str, Any]:
    """What autograding-grading-reporter does with ``<ID>_RESULTS``: base64, then JSON."""
    assert re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text), "not one line of standard base64"
    return json.loads(base64.b64decode(text, validate=True).decode("utf-8"))


def variables(text: str) -> dict[str, str]:
    """``NAME=value`` lines (``$GITHUB_ENV``'s format for one-line values) as a dict."""
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def assert_runner_result(result: dict[str, Any]) -> None:
    """The fields the reporter reads."""
    assert result["version"] == 1
    assert result["status"] in {"pass", "fail", "error"}
    assert isinstance(result["max_score"], int | float)
    assert isinstance(result["tests"], list) and result["tests"]
    for test in result["tests"]:
        assert isinstance(test["name"], str) and test["name"]
        assert test["status"] in {"pass", "fail", "error"}
        assert isinstance(test["score"], int | float) and isinstance(test["message"], str)
        assert isinstance(test["line_no"], int) and isinstance(test["duration"], int | float)


def test_classroom_runners_group_checks_of_equal_points_in_powers_of_two(report: GradeReport) -> None:
    found = {name: decode(value) for name, value in variables(classroom.render(report)).items()}
    assert list(found) == [
        "HW1POINTS2_RESULTS",
        "HW1POINTS2P5_RESULTS",
        "HW1POINTS3_RESULTS",
        "HW1POINTS4_RESULTS",
        "HW1POINTS5_RESULTS",
    ]
    for result in found.values():
        assert_runner_result(result)
        assert len({test["score"] for test in result["tests"] if test["status"] == "pass"}) <= 1
    assert sum(test["score"] for result in found.values() for test in result["tests"]) == report.score == 9.5
    assert sum(result["max_score"] for result in found.values()) == report.max_score
    splits = found["HW1POINTS2_RESULTS"]
    assert splits["status"] == "fail" and splits["tests"][0]["name"] == "Step 1 (Data): the splits clause holds"
    assert (splits["tests"][0]["filename"], splits["tests"][0]["line_no"]) == ("model.py", 7)
    eighteen = GradeReport("hw1", "s", [_check(f"c{i}", "data", 2, i % 3 > 0) for i in range(18)])
    sizes = {name: len(result["tests"]) for name, result in classroom.runners(eighteen).items()}
    assert sizes == {"hw1points2a": 16, "hw1points2b": 2}


def _reporter(variables: dict[str, str], runners: str) -> subprocess.CompletedProcess[str]:
    """The Classroom reporter, as the Actions runner starts it (inputs as INPUT_* variables)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the Classroom reporter cannot run")
    env = {"PATH": os.environ["PATH"], "INPUT_RUNNERS": runners, **variables}
    return subprocess.run([node, str(REPORTER)], env=env, capture_output=True, text=True, timeout=60, check=False)


def reporter_totals(output: str) -> tuple[str, str, dict[str, Any]]:
    """What the reporter's log says (its table's total and max) and what it posts (its notice)."""
    log = read(output)
    (total,) = re.findall(r"│ Total: +│ (\S+) +│ (\S+) +│", "\n".join(log.text))
    notices = {notice.properties["title"]: notice.data for notice in log.named("notice")}
    return total[0], total[1], json.loads(notices["Autograding report"])


def _passing_pattern(count: int, seed: int) -> list[bool]:
    return [(index * 7 + seed) % 5 != 0 for index in range(count)]


@pytest.mark.parametrize("name", assignments.names())
def test_the_classroom_reporter_logs_what_it_posts(name: str) -> None:
    # The assignment's own checks and points, some failing: the log's per-runner and total points must be
    # the posted points to the digit (its log computes passed/tests x max_score, its notice sums scores).
    from grader import plugin

    assignment = assignments.get(name)
    infos = plugin.collect(assignment.checks_dir)
    for seed in range(3):
        checks = [
            _check(check, info.step, info.points, passed)
            for (check, _, info), passed in zip(infos, _passing_pattern(len(infos), seed), strict=True)
        ]
        report = GradeReport(name, "s", checks, step_order=assignment.steps)
        found = variables(classroom.render(report))
        done = _reporter(found, ",".join(key.removesuffix("_RESULTS").lower() for key in found))
        assert done.returncode == 1  # some checks failed: the reporter fails the step
        score, top, posted = reporter_totals(done.stdout)
        assert posted == {"totalPoints": report.score, "maxPoints": report.max_score}
        assert (score, top) == (f"{report.score:g}", f"{report.max_score:g}")
        for runner_name, value in found.items():
            result = decode(value)
            points = sum(test["score"] for test in result["tests"])
            shown = f"Total points for {runner_name.removesuffix('_RESULTS').lower()}: {points:.2f}/"
            assert shown + f"{result['max_score']:g}" in done.stdout


def test_classroom_results_stay_under_the_variable_limit_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A submission whose errors print a lot: 38 failed checks with 20,000-character messages.
    checks = [
        CheckResult(f"test_{i}", f"check {i}", "data", "Step 1", 1, False, message="é" * 20_000) for i in range(38)
    ]
    report = GradeReport("hw1", str(tmp_path), checks, step_order=assignments.get("hw1").steps)
    found = variables(classroom.render(report))
    assert sum(len(value) for value in found.values()) <= classroom.ENCODED_LIMIT_BYTES < 128 * 1024
    message = decode(found["HW1POINTS1A_RESULTS"])["tests"][0]["message"]
    assert message.startswith("é" * 80) and message.endswith(
        "(cut short: the whole message is in the grading step's log)"
    )
    env, output = tmp_path / "env", tmp_path / "output"
    monkeypatch.setenv("GITHUB_ENV", str(env))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    reporters.emit("classroom", report)
    shown = capsys.readouterr().out
    assert "Note: the messages passed to the Classroom reporter are cut to" in shown
    assert "".join(read(shown).text).count("é") >= 38 * 20_000  # the log has each message whole
    done = _reporter(variables(env.read_text()), output.read_text().strip().removeprefix("runners="))
    assert reporter_totals(done.stdout)[2] == {"totalPoints": 0, "maxPoints": 38}


def test_classroom_emit_in_a_workflow_step(
    report: GradeReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env, output, summary = tmp_path / "env", tmp_path / "output", tmp_path / "summary"
    env.write_text("EARLIER=step\n")
    monkeypatch.setenv("GITHUB_ENV", str(env))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    reporters.emit("classroom", report)
    # The report in the log (why checks failed: the reporter shows only their names), annotations, summary.
    log = read(capsys.readouterr().out)
    assert len(log.named("group")) == 4 and len(log.named("error")) == 2
    assert "splits: expected" in "\n".join(log.text) and summary.read_text().startswith("## hw1: 9.5/16.5")
    written = variables(env.read_text())
    assert written.pop("EARLIER") == "step"
    assert written == variables(classroom.render(report))
    assert output.read_text() == f"runners={','.join(name.removesuffix('_RESULTS').lower() for name in written)}\n"


def test_classroom_outside_a_workflow_prints_its_variables(
    report: GradeReport, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITHUB_ENV", raising=False)
    reporters.emit("classroom", report)
    assert capsys.readouterr().out == classroom.render(report) + "\n"


def test_classroom_error_result_reaches_the_reporter() -> None:
    found = variables(classroom.render_error("hw1", "GraderError: the checks could not be loaded"))
    result = decode(found["HW1_RESULTS"])
    assert_runner_result(result)
    assert result["status"] == "error" and result["max_score"] == 0
    done = _reporter(found, "hw1")
    assert "Error: The grader could not finish: GraderError: the checks could not be loaded" in done.stdout
    assert done.returncode == 1 and "Some tests errored." in done.stdout


def test_every_format_renders_the_same_report(report: GradeReport) -> None:
    for name in reporters.FORMATS:
        text = reporters.get(name).render(report)
        assert isinstance(text, str) and text


class _BrokenGrader:
    """Stands in for :class:`grader.runner.Grader` when grading itself fails."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def grade(self, *args: object, **kwargs: object) -> GradeReport:
        raise RuntimeError("the sandbox did not start")

    def close(self) -> None:
        pass


def test_grading_failure_still_gives_classroom_its_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runner, "Grader", _BrokenGrader)
    env, output = tmp_path / "github_env", tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_ENV", str(env))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    assert cli.main(["hw1", str(tmp_path), "--format", "classroom"]) == cli.ExitCode.INTERNAL_ERROR == 3
    captured = capsys.readouterr()
    assert captured.err == "Error: grading failed: RuntimeError: the sandbox did not start\n"
    assert read(captured.out).named("error")[0].data.startswith("RuntimeError: the sandbox did not start")
    result = decode(variables(env.read_text())["HW1_RESULTS"])
    assert_runner_result(result)
    assert result["status"] == "error" and "the sandbox did not start" in result["tests"][0]["message"]
    assert output.read_text() == "runners=hw1\n"
    monkeypatch.delenv("GITHUB_ENV")
    assert cli.main(["hw1", str(tmp_path), "--format", "junit"]) == 3
    assert_junit(capsys.readouterr().out)
    with pytest.raises(RuntimeError, match="the sandbox did not start"):
        cli.main(["hw1", str(tmp_path), "--format", "text"])
