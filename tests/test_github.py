"""``--format github``: the log, annotations and job summary, read as GitHub reads them.

The log goes through a port of the Actions runner's own command parser (``tests/actions_runner.py``);
the job summary through ``cmarkgfm``, the bindings to GitHub's own Markdown renderer (cmark-gfm).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import cmarkgfm
import pytest
from actions_runner import parse_v2, read
from cmarkgfm.cmark import Options
from hypothesis import given
from hypothesis import strategies as st

from grader import assignments, cli, reporters, runner
from grader.reporters import github
from grader.results import CheckResult, GradeReport

HW1 = assignments.get("hw1")
#: A message a submission controls (exception text), trying every way into the log and the summary.
HOSTILE = (
    "expected 0.5 | got 100% & <b>1</b>\n::endgroup::\n::error title=forged::forged\n  ::add-mask::secret\n"
    "x ##[error]forged too\n::stop-commands::token\n```\n**bold** [link](http://example.com) <script>alert(1)</script>"
)


def _check(name: str, step: str, points: float, passed: bool, message: str = "", file: str = "", line: int = 0):
    text = "" if passed else f"{message or name + ' is wrong'}. Reread: Step 2-2 Softmax."
    return CheckResult(
        name=f"test_{name}",
        title=f"the {name} clause holds, a:b",
        step=step,
        slide="Step 2-2 Softmax",
        max_score=points,
        passed=passed,
        message=text,
        file=file,
        line=line,
    )


@pytest.fixture
def submission(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository in ``$GITHUB_WORKSPACE`` with the student's files under ``assignments/hw1/``."""
    folder = tmp_path / "assignments" / "hw1"
    folder.mkdir(parents=True)
    (folder / "model.py").write_text("def softmax(x):\n    raise ValueError\n")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    return folder


@pytest.fixture
def report(submission: Path) -> GradeReport:
    checks = [
        _check("loads", "data", 3, True),
        _check("splits", "data", 2, False),
        _check("softmax", "model", 2.5, False, HOSTILE, file="model.py", line=2),
        _check("gone", "model", 1, False, file="helpers.py", line=9),  # not a file of the submission any more
        _check("trains", "train", 5, True),
    ]
    return GradeReport("hw1", str(submission), checks, step_order=HW1.steps)


def test_one_group_per_step_and_one_annotation_per_failed_check(report: GradeReport) -> None:
    log = read(github.render(report))
    names = [command.name for command in log.commands]
    # Nothing a submission wrote became a command: only the report's own groups and annotations.
    assert names == ["group", "endgroup", "group", "endgroup", "group", "endgroup", "error", "error", "error"]
    assert [command.data for command in log.named("group")] == [
        "Step 1 (Data): 3/5 --",
        "Step 2 (Model): 0/3.5 --",
        "Step 3 (Training): 5/5 ok",
    ]
    failed = [check for check in report.checks if not check.passed]
    errors = log.named("error")
    assert [error.data for error in errors] == [check.message for check in failed]
    assert [error.properties["title"] for error in errors] == [
        "Step 1 (Data): the splits clause holds, a:b (0/2)",
        "Step 2 (Model): the softmax clause holds, a:b (0/2.5)",
        "Step 2 (Model): the gone clause holds, a:b (0/1)",
    ]
    # The student's file from the repository root, and its line, where student code raised what failed.
    assert errors[1].properties == {
        "file": "assignments/hw1/model.py",
        "line": "2",
        "title": errors[1].properties["title"],
    }
    assert "file" not in errors[0].properties and "file" not in errors[2].properties
    # The hostile message shows as text in its step's group, every line of it.
    shown = "\n".join(log.text)
    for line in ("::error title=forged::forged", "::add-mask::secret", "##[error]forged too", "::stop-commands::token"):
        assert line in shown
    assert log.text[-1] == "Total: 8/13.5"


def test_a_file_outside_the_workspace_gets_no_location(report: GradeReport, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(Path(report.submission) / "elsewhere"))
    assert all("file" not in error.properties for error in read(github.render(report)).named("error"))


@given(title=st.text(min_size=1).filter(lambda text: text == text.strip() != ""), data=st.text())
def test_escaping_round_trips_through_the_runner(title: str, data: str) -> None:
    # The runner trims the ends of the properties, hence titles without spaces at their ends (the grader's are).
    line = f"::error file=a.py,line=3,title={github.escape_property(title)}::{github.escape_data(data)}"
    assert "\n" not in line and "\r" not in line
    command = parse_v2(line, {"error"})
    assert command is not None
    assert command.properties == {"file": "a.py", "line": "3", "title": title}
    assert command.data == data


def _html(markdown: str, unsafe: bool = False) -> str:
    options = Options.CMARK_OPT_UNSAFE if unsafe else Options.CMARK_OPT_DEFAULT
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options)


def test_job_summary_as_github_renders_it(report: GradeReport) -> None:
    markdown = github.summary(report)
    page = _html(markdown)
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td[^>]*>(.*?)</td>", page, re.DOTALL)
    assert rows == [
        ("Step 1 (Data)", "3/5"),
        ("Step 2 (Model)", "0/3.5"),
        ("Step 3 (Training)", "5/5"),
        ("<strong>Total</strong>", "<strong>8/13.5</strong>"),
    ]
    assert "<h2>hw1: 8/13.5 points (some checks failed)</h2>" in page
    assert "<h3>Failed checks (3)</h3>" in page
    blocks = [
        html.unescape(block) for block in re.findall(r'<pre lang="text"><code>(.*?)</code></pre>', page, re.DOTALL)
    ]
    # Each failed check's message, as written (without "Reread": its slide has a line of its own).
    assert blocks == [check.message.removesuffix(" Reread: Step 2-2 Softmax.") + "\n" for check in report.checks[1:4]]
    assert page.count("Reread: Step 2-2 Softmax") == 3
    assert "<code>assignments/hw1/model.py line 2</code>" in page
    # Even rendered without GitHub's HTML filter, what the submission wrote stays text.
    unsafe = _html(markdown, unsafe=True)
    assert "<script" not in unsafe and "<b>" not in unsafe and "<a " not in unsafe and "<strong>bold" not in unsafe


def test_job_summary_stays_under_githubs_limit() -> None:
    checks = [_check(f"c{index}", "data", 1, False, "x" * 50_000) for index in range(400)]
    markdown = github.summary(GradeReport("hw1", "s", checks, step_order=HW1.steps))
    assert len(markdown.encode()) <= github.SUMMARY_LIMIT_BYTES
    shown = markdown.count("```text")
    assert 0 < shown < 400
    assert f"{400 - shown} more failed checks are in the log of this step" in markdown


def test_emit_writes_the_log_and_appends_the_summary(
    report: GradeReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    reporters.emit("github", report)
    assert read(capsys.readouterr().out).named("group")
    assert summary.read_text() == "earlier step\n" + github.summary(report)


def test_inside_actions_github_is_the_default_format() -> None:
    assert reporters.default_format({"GITHUB_ACTIONS": "true"}) == "github"
    assert reporters.default_format({"GITHUB_ACTIONS": "false"}) == reporters.default_format({}) == "text"


class _BrokenGrader:
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def grade(self, *args: object, **kwargs: object) -> GradeReport:
        raise RuntimeError("the sandbox did not start")

    def close(self) -> None:
        pass


def test_a_grading_that_fails_says_so_in_an_annotation_and_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runner, "Grader", _BrokenGrader)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    assert cli.main(["hw1", str(tmp_path)]) == cli.ExitCode.INTERNAL_ERROR
    (error,) = read(capsys.readouterr().out).commands
    assert error.name == "error" and error.properties == {"title": "hw1: the grader could not finish"}
    assert error.data == "RuntimeError: the sandbox did not start. Please tell the course staff."
    assert "the sandbox did not start" in _html((tmp_path / "summary.md").read_text())
