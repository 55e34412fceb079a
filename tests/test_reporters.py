"""Reporters: every format from one result model, each checked against what its reader accepts.

JUnit against the rules of the strict JUnit schema (Jenkins' junit-10.xsd), written out as
assertions; the Classroom runner result against what classroom-resources'
autograding-grading-reporter reads; and the command line's error path, where a format
read by another program must still get a well-formed document.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from grader import assignments, ci, cli, reporters, runner
from grader.reporters import classroom, junit
from grader.results import CheckResult, GradeReport

# junit-10.xsd: the children each element may have, the attributes it must have, and its time format.
SUITE_CHILDREN = {"testsuite", "properties", "testcase", "system-out", "system-err"}
CASE_CHILDREN = {
    "skipped",
    "error",
    "failure",
    "rerunFailure",
    "rerunError",
    "flakyFailure",
    "flakyError",
    "system-out",
    "system-err",
}
SUITE_REQUIRED = {"name", "tests", "failures", "errors"}
SUREFIRE_TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?")
UNSAFE = 'expected <0.5> & "1" \x00\x1b[31m é'


def _check(name: str, step: str, points: float, passed: bool, hidden: bool = False, error: str = "") -> CheckResult:
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
    )


@pytest.fixture
def report() -> GradeReport:
    checks = [
        _check("loads", "data", 3, True),
        _check("splits", "data", 2, False),
        _check("softmax", "model", 2.5, True),
        _check("hangs", "train", 5, False, error="Timeout"),
        _check("secret", "end-to-end", 4, True, hidden=True),
    ]
    return GradeReport("hw1", "submission", checks, duration=1234.5, step_order=assignments.get("hw1").steps)


def assert_junit(document: str) -> ET.Element:
    """The constraints of junit-10.xsd, plus counts that add up; returns the root."""
    root = ET.fromstring(document.encode("utf-8"))
    assert root.tag == "testsuites"
    assert {child.tag for child in root} == {"testsuite"}
    for suite in root:
        assert set(suite.attrib) >= SUITE_REQUIRED
        assert {child.tag for child in suite} <= SUITE_CHILDREN
        assert SUREFIRE_TIME.fullmatch(suite.attrib["time"])
        cases = suite.findall("testcase")
        for case in cases:
            assert case.attrib["name"] and "classname" in case.attrib
            assert {child.tag for child in case} <= CASE_CHILDREN
            float(case.attrib["time"])
        for prop in suite.iter("property"):
            assert set(prop.attrib) == {"name", "value"}
        assert int(suite.attrib["tests"]) == len(cases)
        assert int(suite.attrib["failures"]) == sum(1 for case in cases if case.find("failure") is not None)
        assert int(suite.attrib["errors"]) == sum(1 for case in cases if case.find("error") is not None)
        assert int(suite.attrib.get("skipped", 0)) == sum(1 for case in cases if case.find("skipped") is not None)
    return root


def test_junit_one_testcase_per_check_with_points(report: GradeReport) -> None:
    document = junit.render(report)
    assert document.startswith("<?xml")
    suite = assert_junit(document).find("testsuite")
    assert suite is not None
    assert suite.attrib == {
        "name": "hw1",
        "tests": "5",
        "failures": "2",
        "errors": "0",
        "skipped": "0",
        "time": "1234.500",
    }
    points = {prop.attrib["name"]: prop.attrib["value"] for prop in suite.iter("property")}
    assert points == {"score": "9.5", "max_score": "16.5", "hidden_pending": "0"}
    cases = suite.findall("testcase")
    assert [case.attrib["classname"] for case in cases] == [
        "hw1.data",
        "hw1.data",
        "hw1.model",
        "hw1.train",
        "hw1.end-to-end",
    ]
    assert [case.attrib["time"] for case in cases] == ["0.000"] * 5
    outputs = [case.findtext("system-out") for case in cases]
    assert outputs[1] == "score: 0\nmax_score: 2\n" and outputs[2] == "score: 2.5\nmax_score: 2.5\n"
    assert outputs[4].endswith("hidden: true\n")
    failure = cases[1].find("failure")
    assert failure is not None and failure.attrib["type"] == "CheckFailure"
    # Escaped, and the characters XML 1.0 cannot hold replaced: the message survives a parser.
    assert (
        failure.attrib["message"]
        == failure.text
        == 'splits: expected <0.5> & "1" \ufffd\ufffd[31m é. Reread: Step 2-2.'
    )
    hang = cases[3].find("failure")
    assert hang is not None and hang.attrib["type"] == "Timeout"


def test_junit_error_document() -> None:
    suite = assert_junit(junit.render_error("hw1", "GraderError: <boom>")).find("testsuite")
    assert suite is not None and suite.attrib["errors"] == "1" and suite.attrib["failures"] == "0"
    error = suite.find("testcase/error")
    assert error is not None and error.attrib["message"] == "GraderError: <boom>"


def decode(text: str) -> dict[str, Any]:
    """What autograding-grading-reporter does with ``<ID>_RESULTS``: base64, then JSON."""
    assert re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text), "not one line of standard base64"
    return json.loads(base64.b64decode(text, validate=True).decode("utf-8"))


def assert_runner_result(result: dict[str, Any]) -> None:
    """The fields the reporter and the command/io graders agree on."""
    assert result["version"] == 1
    assert result["status"] in {"pass", "fail", "error"}
    assert isinstance(result["max_score"], int | float)
    # ConsoleResults divides by tests.length and iterates tests: the array must be there and non-empty.
    assert isinstance(result["tests"], list) and result["tests"]
    for test in result["tests"]:
        assert isinstance(test["name"], str) and test["name"]
        assert test["status"] in {"pass", "fail", "error"}
        assert isinstance(test["score"], int | float) and isinstance(test["message"], str)
        assert isinstance(test["line_no"], int) and isinstance(test["duration"], int | float)


def test_classroom_runner_result(report: GradeReport) -> None:
    result = decode(classroom.render(report))
    assert_runner_result(result)
    assert result["status"] == "fail" and result["max_score"] == 16.5
    # NotifyClassroom posts the sum of the tests' scores out of max_score.
    assert sum(test["score"] for test in result["tests"]) == report.score == 9.5
    assert [test["status"] for test in result["tests"]] == ["pass", "fail", "pass", "fail", "pass"]
    assert result["tests"][1]["name"] == "Step 1 (Data): the splits clause holds"
    assert result["tests"][1]["message"].startswith("splits: expected <0.5>")
    passing = GradeReport("hw1", "s", [check for check in report.checks if check.passed])
    assert decode(classroom.render(passing))["status"] == "pass"


def test_classroom_error_result_keeps_the_tests_array() -> None:
    result = decode(classroom.render_error("hw1", "GraderError: the checks could not be loaded"))
    assert_runner_result(result)
    assert result["status"] == "error" and result["max_score"] == 0
    assert result["tests"][0]["status"] == "error" and "could not be loaded" in result["tests"][0]["message"]


def test_classroom_delivers_to_github_output(
    report: GradeReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "github_output"
    output.write_text("earlier=step\n")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    reporters.deliver("classroom", classroom.render(report))
    assert capsys.readouterr().out == ""
    earlier, line = output.read_text().splitlines()
    assert earlier == "earlier=step" and line.startswith("result=")
    assert_runner_result(decode(line.removeprefix("result=")))
    monkeypatch.delenv("GITHUB_OUTPUT")
    reporters.deliver("classroom", classroom.render(report))
    assert_runner_result(decode(capsys.readouterr().out.strip()))


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
    output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    assert cli.main(["hw1", str(tmp_path), "--format", "classroom"]) == cli.ExitCode.INTERNAL_ERROR == 3
    assert capsys.readouterr().err == "Error: grading failed: RuntimeError: the sandbox did not start\n"
    result = decode(output.read_text().strip().removeprefix("result="))
    assert_runner_result(result)
    assert result["status"] == "error" and "the sandbox did not start" in result["tests"][0]["message"]
    monkeypatch.delenv("GITHUB_OUTPUT")
    assert cli.main(["hw1", str(tmp_path), "--format", "junit"]) == 3
    assert_junit(capsys.readouterr().out)
    with pytest.raises(RuntimeError, match="the sandbox did not start"):
        cli.main(["hw1", str(tmp_path), "--format", "text"])


@pytest.mark.parametrize("name", assignments.names())
def test_classroom_workflow_of_each_assignment(tmp_path: Path, name: str) -> None:
    yaml = pytest.importorskip("yaml")
    assignment = assignments.get(name)
    text = ci.classroom_workflow(assignment)
    assert "@" not in text.replace("actions/checkout@v4", "").replace("setup-python@v5", "").replace("reporter@v1", "")
    workflow = yaml.safe_load(text)
    (job,) = workflow["jobs"].values()
    steps = {step.get("id") or step["name"]: step for step in job["steps"]}
    install = next(step["run"] for step in job["steps"] if "torch" in step.get("run", ""))
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in install
    assert any(step.get("with", {}).get("python-version") == "3.11" for step in job["steps"])
    assert f"python -m grader {name} " in steps[name]["run"] and "--format classroom" in steps[name]["run"]
    assert f"[ ! -f {assignment.modules[0]}.py ] && [ -d assignments/{name} ]" in steps[name]["run"]
    reporter = steps["Autograding Reporter"]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert reporter["with"]["runners"] == name
    assert reporter["env"] == {f"{name.upper()}_RESULTS": f"${{{{ steps.{name}.outputs.result }}}}"}
    assert workflow["permissions"]["checks"] == "write"
    assert cli.main(["classroom", name, str(tmp_path / "classroom.yml")]) == 0
    assert (tmp_path / "classroom.yml").read_text() == text

    # The grading step's fallback: a grader killed before it wrote anything still leaves a result.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text("#!/bin/sh\nexit 124\n")
    (bin_dir / "python").chmod(0o755)
    output = tmp_path / "github_output"
    output.touch()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "GITHUB_OUTPUT": str(output)}
    done = subprocess.run(
        ["bash", "-e", "-c", steps[name]["run"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 124
    result = decode(output.read_text().strip().removeprefix("result="))
    assert_runner_result(result)
    assert result["status"] == "error" and "exit status 124" in result["tests"][0]["message"]
