"""What student code printed, as a failing check shows it (grader.sandbox.printed) and as reporters write it."""

from __future__ import annotations

import json

from grader.reporters import gradescope, text
from grader.reporters import json as json_reporter
from grader.results import CheckResult, GradeReport
from grader.sandbox import printed


def test_escape_sequences_and_control_characters_are_removed() -> None:
    spoof = (
        "\x1b[2J\x1b[H"  # clear the screen, cursor home
        "\x1b]0;pwned\x07"  # window title
        "\x1b[32mPASS\x1b[0m all checks\x1b7\x1b8"
        "\x00\x08\x9b\u202eevil\u200b\n"
        "epoch 1\repoch 2\r\n"
    )
    assert printed.clean(spoof) == "PASS all checksevil\nepoch 2\n"
    assert "\x1b" not in printed.tail(spoof * 50)


def test_short_output_is_kept_whole() -> None:
    assert printed.tail("loss 0.5\nloss 0.4\n") == "loss 0.5\nloss 0.4"


def test_only_the_last_lines_are_kept_and_the_cut_is_said() -> None:
    shown = printed.tail("".join(f"batch {i}\n" for i in range(100)))
    lines = shown.splitlines()
    assert lines[0] == "[... 90 earlier lines (800 characters) cut]"
    assert lines[1:] == [f"batch {i}" for i in range(90, 100)]


def test_one_long_line_is_cut_to_its_end() -> None:
    shown = printed.tail("x" * 5000 + "END")
    first, rest = shown.split("\n")
    assert first == "[... 3,003 earlier characters cut]"
    assert len(rest) == printed.CHARS and rest.endswith("END")


def _report(output: str) -> GradeReport:
    failed = CheckResult("test_mean", "returns the mean loss", "train", "Step 3", 4, False, "wrong.", output=output)
    passed = CheckResult("test_mode", "puts the model in training mode", "train", "Step 3", 2, True)
    return GradeReport("hw1", "sub", [failed, passed])


def test_a_failing_check_shows_the_output_labelled_and_apart() -> None:
    lines = text.render(_report("epoch 1\nepoch 2")).splitlines()
    start = lines.index("       your output:")
    assert lines[start - 1].endswith("wrong.")
    assert lines[start + 1 : start + 3] == ["       | epoch 1", "       | epoch 2"]
    assert lines[start + 3].startswith("  PASS")


def test_a_check_without_output_shows_no_label() -> None:
    assert "your output" not in text.render(_report(""))


def test_json_and_gradescope_carry_the_output() -> None:
    document = json.loads(json_reporter.render(_report("epoch 1")))
    assert [test["printed"] for test in document["tests"]] == ["epoch 1", ""]
    assert document["tests"][0]["output"] == "wrong."
    tests = gradescope.to_dict(_report("epoch 1"))["tests"]
    assert tests[0]["output"] == "wrong.\n\nYour output:\nepoch 1"
    assert tests[1]["output"] == ""


def test_the_workers_error_text_reaches_reports_without_terminal_controls() -> None:
    """A student's exception (its message, type names, traceback) is shown as text: what would drive the
    reader's terminal (set its title, write its clipboard, rewrite a line, reverse text) is taken out."""
    from grader.sandbox.client import _text

    hostile = "bad\x1b]0;PWNED\x07\x1b]52;c;ZXZpbA==\x07\x1b[1A\x1b[2K\r\u202eTotal: 100/100\udce9\nline two"
    assert _text(hostile) == "badTotal: 100/100\\udce9\nline two"
