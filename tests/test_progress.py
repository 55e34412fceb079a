"""While student code runs: a long call shows that it runs (grader.progress), a hang names its function,
and a failing check shows what the code printed."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import ROOT, materialize, run_grader

from grader.audit import Edit
from grader.progress import Indicator

ERASE = "\r\033[2K"
#: The reference solution with a HandWrite.__len__ that never returns and a train_one_epoch that prints
#: (colours and a screen clear included) and returns the sum of the losses instead of their mean.
HANG_AND_PRINT = (
    Edit("data.py", "        return len(self.files)\n", "        while True:\n            pass\n"),
    Edit(
        "train.py",
        "    return total_loss / n_samples\n",
        "    print('\\x1b[2J\\x1b[31mepoch done\\x1b[0m', total_loss)\n    return total_loss\n",
    ),
)


def test_the_line_appears_after_two_seconds_counts_them_and_is_erased() -> None:
    stream = io.StringIO()
    line = Indicator(stream, "HandWrite returns the image")
    for seconds in (0.05, 1.0, 1.99):
        line.waiting(seconds)
    assert stream.getvalue() == ""
    for seconds in (2.0, 2.05, 2.5, 3.01, 3.5):
        line.waiting(seconds)
    line.done()
    assert stream.getvalue() == (
        f"{ERASE}running HandWrite returns the image... 2 s{ERASE}running HandWrite returns the image... 3 s{ERASE}"
    )


def test_a_short_call_draws_and_erases_nothing() -> None:
    stream = io.StringIO()
    line = Indicator(stream, "softmax")
    line.waiting(0.3)
    line.done()
    assert stream.getvalue() == ""


def test_the_line_fits_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "30")
    stream = io.StringIO()
    Indicator(stream, "a check with a very long title indeed").waiting(5)
    assert stream.getvalue() == ERASE + "running a check with a very l"  # 29 columns: the cursor stays on the line


def test_a_terminal_gone_away_does_not_stop_the_grading() -> None:
    stream = io.StringIO()
    stream.close()
    line = Indicator(stream, "softmax")
    line.waiting(3)
    line.done()


REAL_WORKER = """
import sys, tempfile
from pathlib import Path
from grader.errors import Timeout
from grader.sandbox import Sandbox, Session
from grader.sandbox.limits import Limits

sandbox = Sandbox(Limits(call_seconds=1), preload=("torch",))
session = Session(sandbox, Path(sys.argv[1]), Path(tempfile.mkdtemp()))
dataset = session.module("data").HandWrite()
try:
    len(dataset)
except Timeout as error:
    print(error)
session.close()
sandbox.close()
"""


def test_a_worker_names_the_method_that_hangs(tmp_path: Path) -> None:
    """The worker's own answer, through the real signal and channel (with namespaces, where the machine has them)."""
    (tmp_path / "data.py").write_text(
        "class HandWrite:\n    def __len__(self):\n        n = 0\n        while True:\n            n += 1\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", REAL_WORKER, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # Line 4 or 5: the loop's test or its body, whichever the signal found running.
    assert done.stdout.startswith("len(data.HandWrite()) did not finish within 1 s: HandWrite.__len__ (data.py line ")
    assert done.stdout.rstrip().endswith(") was still running (an infinite loop, or far too slow)"), done.stdout


def _on_a_terminal(*args: str) -> str:
    """``python -m grader ARGS`` with standard output and error on a pseudo-terminal: all it wrote there."""
    main, terminal = pty.openpty()
    written = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(main, 1 << 16)
            except OSError:  # the terminal's last holder closed it
                return
            if not chunk:
                return
            written.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        subprocess.run(
            [sys.executable, "-m", "grader", *args],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=terminal,
            env={**os.environ, "COLUMNS": "120"},
            timeout=600,
            check=False,
        )
    finally:
        os.close(terminal)
        reader.join(timeout=10)
        os.close(main)
    return written.decode("utf-8", "replace").replace("\r\n", "\n")


def test_on_a_terminal_a_hang_shows_it_runs_and_is_named(tmp_path: Path) -> None:
    submission = materialize(HANG_AND_PRINT, tmp_path / "sub")
    shown = _on_a_terminal("hw1", str(submission), "--timeout", "3", "--color", "never")
    assert f"{ERASE}running HandWrite returns the PIL image" in shown and "... 2 s" in shown
    report = shown.rpartition(ERASE)[2]  # the line was erased before the report began
    assert report.startswith("hw1: ") and "running HandWrite" not in report
    assert "data.split_dataset() did not finish within 3 s: HandWrite.__len__ (data.py line 159)" in " ".join(
        report.split()
    )
    assert "your output:\n       | epoch done" in report
    assert "\x1b[2J" not in report and "\x1b[31m" not in report


def test_a_report_read_by_a_program_has_no_line_and_the_output_of_failed_checks_only(tmp_path: Path) -> None:
    submission = materialize(HANG_AND_PRINT, tmp_path / "sub")
    done = run_grader("hw1", str(submission), "--timeout", "3", "--format", "json")
    assert "running" not in done.stderr and "\x1b" not in done.stderr
    tests = json.loads(done.stdout)["tests"]
    printing = [test for test in tests if test["step"] == "train" and test["printed"]]
    assert printing and all(test["status"] == "failed" for test in printing)
    assert printing[0]["printed"] == "epoch done 12.000633716583252"
    assert all(not test["printed"] for test in tests if test["status"] == "passed")
    hung = [test for test in tests if "did not finish within" in test["output"]]
    assert {test["step"] for test in hung} == {"data", "end-to-end"}
    assert all("HandWrite.__len__ (data.py line 159) was still running" in test["output"] for test in hung), hung
