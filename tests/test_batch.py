"""Batch grading as a TA runs it: mixed folders and zips, bad input, hidden checks, Ctrl-C and resume,
--jobs-independent grades, the summary page and the progress line.

One class folder holds every case and is graded once (module fixture); what only needs the pieces
(naming, unzipping, the page, the progress line) is tested on them directly, without grading.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import PEEK, ROOT, SOLUTION, STUBS, corpus, materialize, run_grader, unreadable_check

from grader import assignments
from grader.batch.fingerprints import fingerprint, grader_key
from grader.batch.intake import find_submissions, locate, prepare
from grader.batch.progress import Progress, bar, clock, estimate
from grader.batch.store import write_atomic
from grader.errors import SubmissionError
from grader.reporters import summary
from grader.sandbox import Limits, isolation

HW1 = assignments.get("hw1")
#: 240 bytes of UTF-8: ``OUT/<name>.json`` and its temporary file would not fit in a file name.
LONG_NAME = "学" * 80
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
NOT_UTF8 = os.fsdecode(b"caf\xe9")

HIDDEN_CHECK = '''"""A hidden check for the test: student code must not read it."""

from grader.checks import check, expect

''' + unreadable_check(2)

#: Student code that writes a forged result on every stream socket it inherited: it must reach no one.
FORGE = """

def _forge():
    import os
    import socket

    for fd in range(3, 256):
        try:
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        try:
            if sock.family == socket.AF_UNIX and sock.type == socket.SOCK_STREAM:
                sock.setblocking(False)
                sock.send(b'{"score": 999, "max_score": 1, "status": "forged"}\\n')
        except OSError:
            pass
        finally:
            sock.close()


_forge()
"""


def _zip_folder(folder: Path, target: Path, prefix: str = "") -> None:
    with zipfile.ZipFile(target, "w") as bundle:
        for path in sorted(folder.glob("*.py")):
            bundle.write(path, prefix + path.name)


def _zip_raw_name(target: Path, folder: Path, name: str, raw: bytes) -> None:
    """A zip of ``folder``'s modules plus a file whose stored name is ``raw``; ``name`` has the same length.

    zipfile writes a name that is not ASCII as UTF-8 and says so; other zippers store other encodings,
    so the name is patched in the bytes, in the local header and in the central directory.
    """
    assert len(name.encode()) == len(raw)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in sorted(folder.glob("*.py")):
            bundle.write(path, path.name)
        bundle.writestr(name, "notes\n")
    data = buffer.getvalue()
    assert data.count(name.encode()) == 2
    target.write_bytes(data.replace(name.encode(), raw))


def _zip_bomb(target: Path, megabytes: int) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as bundle, bundle.open("data.py", "w") as member:
        for _ in range(megabytes):
            member.write(bytes(1 << 20))


def _nest(inner: Path, target: Path, name: str) -> None:
    with zipfile.ZipFile(target, "w") as bundle:
        bundle.write(inner, name)


@pytest.fixture(scope="module")
def hidden_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hidden-checks")
    (folder / "test_secret.py").write_text(HIDDEN_CHECK)
    return folder


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tas-class")
    scratch = tmp_path_factory.mktemp("tas-scratch")
    shutil.copytree(SOLUTION, folder / "alice")
    with open(folder / "alice" / "model.py", "a") as model:
        model.write(PEEK)
    _zip_folder(STUBS, folder / "alice.zip")  # a second "alice": graded as alice.zip, never over alice/
    shutil.copytree(SOLUTION, folder / "bob" / "assignments" / "hw1")  # as `gh classroom clone` lays it out
    (folder / "bob" / "data.py").write_text("# scratch: the graded files are under assignments/hw1/\n")
    _zip_folder(SOLUTION, folder / "carol.zip")
    (folder / "dave").mkdir()  # empty: nothing to grade
    _zip_folder(STUBS, scratch / "hw1.zip")
    _nest(scratch / "hw1.zip", folder / "erin.zip", "hw1.zip")  # a zip in the zip
    _zip_folder(STUBS, folder / "frank.zip", prefix="frank/assignments/hw1/")  # one top folder
    _nest(scratch / "hw1.zip", scratch / "middle.zip", "middle.zip")
    _nest(scratch / "middle.zip", folder / "hank.zip", "outer.zip")  # three deep: too deep
    _zip_bomb(folder / "ivan.zip", megabytes=51)
    _zip_raw_name(folder / "judy.zip", STUBS, "notes-X.txt", b"notes-\xe9.txt")  # not UTF-8, not said to be
    _zip_raw_name(folder / "kate.zip", STUBS, "notes-é.txt", b"notes-\xe9\xe9.txt")  # said UTF-8, is not
    with zipfile.ZipFile(folder / "mallory.zip", "w") as bundle:
        bundle.writestr("../escaped.py", "print('zip slip')\n")
    shutil.copytree(SOLUTION, folder / "forger")
    with open(folder / "forger" / "model.py", "a") as model:
        model.write(FORGE)
    shutil.copytree(STUBS, folder / NOT_UTF8, ignore=shutil.ignore_patterns("*.md"))
    (folder / NOT_UTF8 / os.fsdecode(b"r\xe9sum\xe9.txt")).write_text("not UTF-8\n")
    (folder / HOSTILE_NAME).mkdir()
    materialize(corpus("hw1").buggy[0].edits, folder / "grace")  # one bug in Step 1: some points, not all
    shutil.copytree(STUBS, folder / LONG_NAME, ignore=shutil.ignore_patterns("*.md"))
    (folder / "zed").symlink_to(folder / "alice")  # its target may be anywhere: not followed
    (folder / "=HYPERLINK(1)").mkdir()
    (folder / "notes.txt").write_text("not a submission\n")
    return folder


def _batch(folder: Path, out: Path, jobs: int, hidden: Path) -> tuple[str, dict[str, Any]]:
    done = run_grader("hw1", "--batch", str(folder), "--out", str(out), "--jobs", str(jobs), "--hidden", str(hidden))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout, {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in out.glob("*.json")}


@pytest.fixture(scope="module")
def first_run(
    class_folder: Path, hidden_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("tas-out")
    log, results = _batch(class_folder, out, 2, hidden_folder)
    return out, log, results


def _public(document: dict[str, Any]) -> float:
    return sum(t["score"] for t in document["tests"] if t["visibility"] == "visible")


def test_every_kind_of_submission_gets_a_verdict(first_run: tuple[Path, str, dict[str, Any]]) -> None:
    out, log, results = first_run
    long_name = LONG_NAME[:62] + "~" + hashlib.sha256(LONG_NAME.encode()).hexdigest()[:12]  # 186 + 13 bytes
    graded = {"alice", "alice.zip", "bob", "carol", "erin", "frank", "judy", "forger", "caf%E9", "grace", long_name}
    invalid = {"dave", "hank", "ivan", "kate", "mallory", HOSTILE_NAME, "=HYPERLINK(1)"}
    assert set(results) == graded | invalid
    checks = len(results["alice"]["tests"])
    for name in graded:
        assert results[name]["status"] == "graded" and len(results[name]["tests"]) == checks, name
    for name in ("alice", "bob", "carol"):
        assert _public(results[name]) == 100, name
    for name in ("alice.zip", "erin", "frank", "judy", "caf%E9", long_name):  # the stubs: graded, no points
        assert results[name]["score"] == 0, name
    missed = {t["step"] for t in results["grace"]["tests"] if t["status"] == "failed" and t["visibility"] == "visible"}
    assert 0 < results["grace"]["score"] < 100 and missed <= {"data", "end-to-end"}, missed
    reasons = {name: results[name]["output"] for name in invalid}
    assert all(results[name]["status"] == "invalid" and results[name]["tests"] == [] for name in invalid)
    assert "none of data.py, model.py, train.py, evaluate.py found" in reasons["dave"]
    assert "neither in outer.zip" in reasons["hank"]
    assert reasons["ivan"].endswith(
        "left out of ivan.zip, over the 50 MB and 2000 files a submission may hold (a zip bomb?): data.py (51.0 MB)"
    )
    assert "marked as UTF-8 but is not" in reasons["kate"]
    assert "unsafe path" in reasons["mallory"]
    assert "skipped notes.txt: not a folder or .zip" in log
    assert "alice.zip: named with .zip because another submission is named alice" in log
    assert "caf%E9: its name has bytes that are not UTF-8" in log
    assert f"{long_name}: {LONG_NAME} cut short, its name is too long for a file name" in log
    assert "skipped zed: a symbolic link" in log
    assert not (out.parent / "escaped.py").exists()


def test_hidden_checks_run_hidden_and_unreadable(first_run: tuple[Path, str, dict[str, Any]]) -> None:
    _, log, results = first_run
    hidden = [t for t in results["alice"]["tests"] if t["visibility"] == "after_published"]
    assert [(t["check"], t["max_score"]) for t in hidden] == [("test_hidden_checks_are_unreadable", 2)]
    if isolation.choose().contained:
        assert hidden[0]["status"] == "passed", hidden[0]["output"]
    assert "Warning: hidden.json announces 0 hidden checks worth 0 points, but 1 worth 2 ran" in log


def test_student_code_cannot_forge_or_shift_the_results(first_run: tuple[Path, str, dict[str, Any]]) -> None:
    _, log, results = first_run
    assert "forged" not in log and "999" not in log
    lines = re.findall(r"^\[\d+/\d+\] (.+): (\S+)/(\S+) (\w+) \(", log, re.MULTILINE)
    assert len(lines) == len(results)
    for name, score, max_score, status in lines:
        document = results[name]
        assert (float(score), float(max_score), status) == (
            document["score"],
            document["max_score"],
            document["status"],
        )


def test_grades_csv_has_a_row_per_submission_and_a_column_per_step_and_check(
    first_run: tuple[Path, str, dict[str, Any]],
) -> None:
    out, _, results = first_run
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    # A name that would run as a spreadsheet formula is quoted.
    assert set(rows) == set(results) - {"=HYPERLINK(1)"} | {"'=HYPERLINK(1)"}
    # Steps and checks by title and maximum, in one header row.
    steps = [
        f"{step.title} [max {sum(t['max_score'] for t in results['carol']['tests'] if t['step'] == step.key):g}]"
        for step in HW1.steps
    ]
    checks = {t["check"]: f"{t['name']} [max {t['max_score']:g}]" for t in results["alice"]["tests"]}
    assert list(rows["alice"]) == ["submission", "score", "max_score", *steps, "status", "reason", *checks.values()]
    assert steps[0] == "Step 1 (Data) [max 30]"
    assert rows["carol"]["score"] == "100" and rows["alice.zip"]["score"] == "0"  # the same way, never 0.0
    rows_check = checks["test_titanic_rows"]
    assert rows["ivan"]["status"] == "invalid" and rows["ivan"][steps[0]] == rows["ivan"][rows_check] == ""
    assert float(rows["grace"][steps[0]]) == sum(t["score"] for t in results["grace"]["tests"] if t["step"] == "data")
    # Why each submission that is not graded is not, on one line; nothing for one that is.
    assert rows["carol"]["reason"] == rows["grace"]["reason"] == ""
    assert rows["dave"]["reason"].startswith("none of data.py, model.py, train.py, evaluate.py found")
    assert "left out of ivan.zip" in rows["ivan"]["reason"] and "unsafe path" in rows["mallory"]["reason"]
    for path in out.rglob("*"):
        if path.is_file():
            path.read_bytes().decode("utf-8")  # every output, feedback included, is valid UTF-8 whatever the names


class _Page(HTMLParser):
    """Tags with their attributes, and the text, of an HTML page."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def rows(self, attribute: str) -> list[dict[str, str | None]]:
        """The attributes of every row that has ``attribute``, in page order."""
        return [attrs for tag, attrs in self.tags if tag == "tr" and attribute in attrs]


_ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "b", "div", "span"}
_ALLOWED_TAGS |= {"table", "thead", "tbody", "tr", "th", "td", "a"}


def _links(page: _Page) -> list[str]:
    """Every link of the page: each a relative one to a feedback file, the only attribute that may hold a URL."""
    assert not [attrs for _, attrs in page.tags if "src" in attrs]
    hrefs = [attrs["href"] or "" for tag, attrs in page.tags if "href" in attrs]
    assert all(tag == "a" for tag, attrs in page.tags if "href" in attrs)
    assert all(href.startswith("feedback/") and "/" not in href.removeprefix("feedback/") for href in hrefs)
    return hrefs


def test_summary_page_lists_every_submission_and_escapes_their_names(
    first_run: tuple[Path, str, dict[str, Any]],
) -> None:
    out, _, results = first_run
    page = _Page((out / "summary.html").read_text(encoding="utf-8"))
    assert {tag for tag, _ in page.tags} <= _ALLOWED_TAGS
    listed = {attrs["data-submission"] for attrs in page.rows("data-score")}
    assert listed == set(results)
    # Each submission links to its feedback, which is there, whatever its name.
    linked = {urllib.parse.unquote(href, errors="surrogateescape") for href in _links(page)}
    assert linked == {f"feedback/{name}.txt" for name in results}
    assert all((out / path).is_file() for path in linked)
    assert HOSTILE_NAME in "".join(page.text)
    assert sum(int(attrs["data-count"] or 0) for tag, attrs in page.tags if "data-count" in attrs) == 11


def test_a_second_run_resumes_and_regrades_only_what_changed(
    class_folder: Path, hidden_folder: Path, first_run: tuple[Path, str, dict[str, Any]]
) -> None:
    out, _, _ = first_run
    log, _ = _batch(class_folder, out, 2, hidden_folder)
    assert "] alice: " not in log and "] carol: " not in log and "Kept " in log  # kept, said in one line
    model = class_folder / "alice" / "model.py"
    model.write_text(model.read_text() + "\n# edited\n")
    log, results = _batch(class_folder, out, 2, hidden_folder)
    assert "] alice: " in log and "] bob: " not in log and "Kept " in log
    assert _public(results["alice"]) == 100
    (out / "carol.json").write_text("")  # what a crash of the machine might leave: graded again, not lost
    log, results = _batch(class_folder, out, 2, hidden_folder)
    assert "] carol: " in log and "] bob: " not in log and "Kept " in log
    assert _public(results["carol"]) == 100


def test_grades_do_not_depend_on_jobs(
    class_folder: Path, hidden_folder: Path, first_run: tuple[Path, str, dict[str, Any]], tmp_path: Path
) -> None:
    out, _, with_two = first_run
    subset = tmp_path / "subset"  # the graded kinds, without paying for the whole class twice
    for name in ("alice", "bob", "carol.zip", "erin.zip", "dave", "grace"):
        source = class_folder / name
        if source.is_dir():
            shutil.copytree(source, subset / name)
        else:
            subset.mkdir(exist_ok=True)
            shutil.copy(source, subset / name)
    _, with_one = _batch(subset, tmp_path / "one-job", 1, hidden_folder)

    def verdicts(document: dict[str, Any]) -> list[tuple[str, float, str]]:
        return [(t["check"], t["score"], t["status"]) for t in document["tests"]]

    assert {n: verdicts(d) for n, d in with_one.items()} == {n: verdicts(with_two[n]) for n in with_one}
    assert _rows(tmp_path / "one-job") == {n: row for n, row in _rows(out).items() if n in with_one}


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        return {row["submission"]: row for row in csv.DictReader(handle)}


def _session_members(session: int) -> list[str]:
    """The live processes of a session (zombies are gone already, only not yet reaped)."""
    members = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == session and fields[0] != "Z":
            members.append(stat)
    return members


@pytest.mark.parametrize(
    "how",
    [
        "ctrl-c",  # the terminal signals the whole process group
        # a closed terminal or a dropped ssh session: the whole group too
        pytest.param("hang-up", marks=pytest.mark.slow),
        # `kill PID`, a job scheduler's time limit: the batch's own process only
        pytest.param("kill", marks=pytest.mark.slow),
    ],
)
def test_ctrl_c_keeps_finished_results_and_a_rerun_grades_the_rest(tmp_path: Path, how: str) -> None:
    signum, exit_status = {"ctrl-c": (signal.SIGINT, 130), "hang-up": (signal.SIGHUP, 129)}.get(
        how, (signal.SIGTERM, 143)
    )
    folder = tmp_path / "class"
    for name in ("a1", "a2"):
        shutil.copytree(SOLUTION, folder / name)
    shutil.copytree(STUBS, folder / "a3", ignore=shutil.ignore_patterns("*.md"))
    out, scratch = tmp_path / "out", tmp_path / "tmp"
    scratch.mkdir()
    command = [sys.executable, "-m", "grader", "hw1", "--batch", str(folder), "--out", str(out), "--jobs", "1"]
    # A hang-up comes with a terminal that is gone: the batch writes its bar and lines to a pseudo-terminal
    # whose other end is closed before the signal, so that every write to it fails from then on.
    terminal, output = pty.openpty() if how == "hang-up" else (None, subprocess.PIPE)
    batch = subprocess.Popen(
        command,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=output,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job is
        env={**os.environ, "TMPDIR": str(scratch)},  # every workspace it makes, where we can see it
    )
    if terminal is not None:
        os.close(output)
    try:
        deadline = time.monotonic() + 300
        while not list(out.glob("*.json")):
            assert batch.poll() is None and time.monotonic() < deadline, f"the batch ended first: {batch.returncode}"
            if terminal is not None and select.select([terminal], [], [], 0)[0]:
                os.read(terminal, 1 << 16)  # what a terminal shows, read so that the batch never blocks on it
            time.sleep(0.05)
        if terminal is not None:
            os.close(terminal)
        if how == "kill":
            os.kill(batch.pid, signum)
        else:
            os.killpg(batch.pid, signum)
        interrupted = time.monotonic()
        _, stderr = batch.communicate(timeout=60)
        stopped_after = time.monotonic() - interrupted
    finally:
        if batch.poll() is None:
            os.killpg(batch.pid, signal.SIGKILL)
            batch.wait()
    assert batch.returncode == exit_status and stopped_after < 20
    if how != "hang-up":  # nobody sees what it says then
        assert "Traceback" not in stderr and "Interrupted: every finished result is kept" in stderr
    deadline = time.monotonic() + 5
    while _session_members(batch.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _session_members(batch.pid) == []  # grading processes, zygotes, workers: all gone
    assert list(scratch.iterdir()) == []  # and so are the workspaces
    finished = {path.stem for path in out.glob("*.json")}
    assert "a1" in finished and finished <= {"a1", "a2", "a3"}
    assert {path.name for path in out.iterdir()} == {f"{n}.json" for n in finished} | {
        ".keys",
        "feedback",
        "grades.csv",
        "summary.html",
    }
    assert {path.name for path in (out / "feedback").iterdir()} == {
        f"{n}{s}" for n in finished for s in (".txt", ".md")
    }
    assert {path.name for path in (out / ".keys").iterdir()} == finished
    page = (out / "summary.html").read_text(encoding="utf-8")
    for name in {"a1", "a2", "a3"} - finished:
        assert f'data-submission="{name}" data-status="pending"' in page
    if how != "ctrl-c":
        return  # how a rerun resumes does not depend on how the batch was stopped

    done = run_grader("hw1", "--batch", str(folder), "--out", str(out), "--jobs", "1")
    assert done.returncode == 0, done.stderr
    kept = "1 unchanged result;" if len(finished) == 1 else f"{len(finished)} unchanged results;"
    assert f"Kept {kept} grading {3 - len(finished)}." in done.stdout
    results = {path.stem: json.loads(path.read_text()) for path in out.glob("*.json")}
    assert {name: (d["status"], d["score"]) for name, d in results.items()} == {
        "a1": ("graded", 100),
        "a2": ("graded", 100),
        "a3": ("graded", 0),
    }


def _children(pid: int, name: str) -> list[int]:
    """The live child processes of ``pid`` whose /proc comm is ``name``."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if comm == name and int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def test_a_grading_process_that_dies_costs_only_its_submission(tmp_path: Path) -> None:
    """Killed mid-grading (the OOM killer, a grader bug): ``error``, exit status 3, the batch goes on."""
    folder, out, scratch = tmp_path / "class", tmp_path / "out", tmp_path / "tmp"
    for name in ("a1", "a2"):
        shutil.copytree(SOLUTION, folder / name)
    scratch.mkdir()
    command = [sys.executable, "-m", "grader", "hw1", "--batch", str(folder), "--out", str(out), "--jobs", "1"]
    batch = subprocess.Popen(
        command,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},  # where the grading of a submission shows it began
    )
    try:
        deadline = time.monotonic() + 300
        while not list(scratch.glob("grader-batch-*")):  # a1's grading (the first, in name order) began
            assert batch.poll() is None and time.monotonic() < deadline, f"the batch ended first: {batch.returncode}"
            time.sleep(0.02)
        (grading,) = _children(batch.pid, "grader-grading")
        os.kill(grading, signal.SIGKILL)
        stdout, _ = batch.communicate(timeout=300)
    finally:
        if batch.poll() is None:
            batch.kill()
            batch.wait()
    results = {path.stem: json.loads(path.read_text()) for path in out.glob("*.json")}
    assert batch.returncode == 3, stdout
    assert results["a1"]["status"] == "error" and "the grading process died" in results["a1"]["output"]
    assert results["a2"]["status"] == "graded" and results["a2"]["score"] == 100
    assert list(scratch.iterdir()) == []  # what the killed process left is removed, too
    # Even with the key of its files in place (as a result graded before would leave it), an error is
    # graded again: the key, computed as the batch does, is the one it wrote for a2.
    key = grader_key("hw1", Limits())
    assert (out / ".keys" / "a2").read_text() == fingerprint(folder / "a2", key, HW1)
    (out / ".keys" / "a1").write_text(fingerprint(folder / "a1", key, HW1))
    done = run_grader("hw1", "--batch", str(folder), "--out", str(out), "--jobs", "1")
    assert done.returncode == 0 and "Kept 1 unchanged result; grading 1." in done.stdout and "] a1: " in done.stdout
    assert json.loads((out / "a1.json").read_text())["score"] == 100


# Naming and unzipping, without grading.


def test_names_never_collide_and_are_printable(tmp_path: Path) -> None:
    for name in ("alice", NOT_UTF8, "caf%E9", ".git", "line\nbreak"):
        (tmp_path / name).mkdir()
    for name in ("alice.zip", "x.zip", "x.ZIP", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    found, notes = find_submissions(tmp_path)
    assert {s.name: s.path.name for s in found} == {
        "alice": "alice",
        "alice.zip": "alice.zip",
        "line%0Abreak": "line\nbreak",
        "x.zip": "x.zip",
        "x.ZIP": "x.ZIP",
    }
    assert "skipped caf%E9: another submission is also named caf%E9; rename one" in notes
    assert "skipped .git: hidden" in notes and "skipped notes.txt: not a folder or .zip" in notes


def test_the_out_folder_inside_the_class_folder_is_no_submission(tmp_path: Path) -> None:
    (tmp_path / "alice").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    found, notes = find_submissions(tmp_path, exclude=(tmp_path / "results").resolve())
    assert [s.name for s in found] == ["alice"] and "skipped results: the --out folder" in notes
    assert any(note.startswith("skipped loop: a symbolic link") for note in notes)


def test_the_folder_with_most_of_the_files_is_graded(tmp_path: Path) -> None:
    """A stray data.py at a repository's root does not hide the assignment under assignments/hw1/."""
    (tmp_path / "assignments" / "hw1").mkdir(parents=True)
    for module in HW1.modules:
        (tmp_path / "assignments" / "hw1" / f"{module}.py").write_text("")
    (tmp_path / "data.py").write_text("# scratch\n")
    assert locate(tmp_path, HW1) == tmp_path / "assignments" / "hw1"
    (tmp_path / "model.py").write_text("")
    (tmp_path / "train.py").write_text("")
    (tmp_path / "evaluate.py").write_text("")
    assert locate(tmp_path, HW1) == tmp_path  # as many at the root: the root
    for module in ("model", "train", "evaluate"):
        (tmp_path / f"{module}.py").unlink()
    shutil.rmtree(tmp_path / "assignments")
    (tmp_path / "hw1").mkdir()
    for module in HW1.modules:
        (tmp_path / "hw1" / f"{module}.py").write_text("")
    assert locate(tmp_path, HW1) == tmp_path / "hw1"  # in the root's only folder, too


def test_a_linked_folder_is_never_graded(tmp_path: Path) -> None:
    """A repository whose assignments/hw1 links to the grading machine's reference solution gets nothing."""
    _zip_folder(SOLUTION, tmp_path / "solution.zip")
    for link in ("assignments/hw1", "assignments"):
        student = tmp_path / link.replace("/", "-")
        (student / "assignments").mkdir(parents=True)
        if link == "assignments":
            (student / "assignments").rmdir()
            (tmp_path / "elsewhere" / "hw1").mkdir(parents=True, exist_ok=True)
            shutil.copytree(SOLUTION, tmp_path / "elsewhere" / "hw1", dirs_exist_ok=True)
            (student / "assignments").symlink_to(tmp_path / "elsewhere")
        else:
            (student / "assignments" / "hw1").symlink_to(SOLUTION)
        (student / "data.py").symlink_to(SOLUTION / "data.py")  # a linked file counts for nothing either
        (student / "upload.zip").symlink_to(tmp_path / "solution.zip")  # nor does a linked zip
        assert locate(student, HW1) is None, link
        with pytest.raises(SubmissionError, match=r"none of data\.py"):
            prepare(student, tmp_path / f"scratch-{student.name}", HW1)


def test_a_rerun_hashes_what_is_graded(tmp_path: Path) -> None:
    """A huge data file beside the code is neither read nor a reason to grade again; the code is."""
    shutil.copytree(SOLUTION, tmp_path / "alice")
    big = tmp_path / "alice" / "digits.bin"
    with open(big, "wb") as handle:
        handle.truncate(60 * 1024 * 1024)  # sparse: more than a submission may hold, so it is never copied
    before = fingerprint(tmp_path / "alice", b"key", HW1)
    with open(big, "r+b") as handle:
        handle.write(b"changed")
    assert fingerprint(tmp_path / "alice", b"key", HW1) == before
    with open(tmp_path / "alice" / "train.py", "a") as handle:
        handle.write("# edited\n")
    assert fingerprint(tmp_path / "alice", b"key", HW1) != before
    assert fingerprint(tmp_path / "alice", b"other key", HW1) != fingerprint(tmp_path / "alice", b"key", HW1)
    # As a repository lays it out: what counts is what is graded under assignments/hw1/, not the caps at the root.
    shutil.copytree(SOLUTION, tmp_path / "bob" / "assignments" / "hw1")
    with open(tmp_path / "bob" / "slides.pdf", "wb") as handle:
        handle.truncate(50 * 1024 * 1024 - 10)  # fits the caps alone, and leaves no room for more at the root
    (tmp_path / "bob" / "assignments" / "hw1" / "labels.csv").write_text("0\n")
    before = fingerprint(tmp_path / "bob", b"key", HW1)
    (tmp_path / "bob" / "assignments" / "hw1" / "labels.csv").write_text("1\n")
    assert fingerprint(tmp_path / "bob", b"key", HW1) != before


@pytest.mark.parametrize(
    "layout",
    ["{m}", "alice/{m}", "alice/assignments/hw1/{m}", "alice/hw1/{m}", "__MACOSX/alice/._data.py", ".hidden/x"],
)
def test_files_are_found_at_the_top_or_in_a_single_folder(tmp_path: Path, layout: str) -> None:
    archive = tmp_path / "alice.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for module in HW1.modules:
            bundle.writestr(layout.format(m=f"{module}.py") if "{m}" in layout else f"alice/{module}.py", "")
        if "{m}" not in layout:
            bundle.writestr(layout, "junk beside the one real folder")
    folder = prepare(archive, tmp_path / "scratch", HW1)
    assert {path.name for path in folder.iterdir()} >= {f"{m}.py" for m in HW1.modules}


def test_a_zip_in_a_folder_or_a_zip_is_unpacked_one_level_deep(tmp_path: Path) -> None:
    _zip_folder(STUBS, tmp_path / "hw1.zip")
    (tmp_path / "student").mkdir()
    shutil.copy(tmp_path / "hw1.zip", tmp_path / "student" / "upload.ZIP")
    assert (prepare(tmp_path / "student", tmp_path / "s1", HW1) / "data.py").is_file()
    _nest(tmp_path / "hw1.zip", tmp_path / "twice.zip", "x/hw1.zip")
    assert (prepare(tmp_path / "twice.zip", tmp_path / "s2", HW1) / "data.py").is_file()
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as bundle:
        bundle.write(tmp_path / "hw1.zip", "a.zip")
        bundle.write(tmp_path / "hw1.zip", "b.zip")
    with pytest.raises(SubmissionError, match=r"but 2 zips \(a.zip, b.zip\); submit one"):
        prepare(tmp_path / "two.zip", tmp_path / "s3", HW1)


def test_bad_zips_get_a_reason(tmp_path: Path) -> None:
    _zip_bomb(tmp_path / "bomb.zip", megabytes=51)
    _zip_raw_name(tmp_path / "flagged.zip", STUBS, "é.txt", b"\xe9\xe9.txt")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    with zipfile.ZipFile(tmp_path / "absolute.zip", "w") as bundle:
        bundle.writestr("/etc/evil.py", "")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("data.py", "")
    # The "encrypted" flag, in the local header and in the central directory: zipfile asks for a password.
    data = bytearray(buffer.getvalue())
    data[6] |= 1
    data[data.index(b"PK\x01\x02") + 8] |= 1
    (tmp_path / "locked.zip").write_bytes(bytes(data))
    data = bytearray(buffer.getvalue())
    data[8] = data[data.index(b"PK\x01\x02") + 10] = 9  # Deflate64: a method zipfile does not know
    (tmp_path / "deflate64.zip").write_bytes(bytes(data))
    expected = {
        "bomb.zip": "none of data.py, model.py, train.py, evaluate.py found at the top level, under assignments/hw1/"
        " or in a single folder; left out of bomb.zip, over the 50 MB and 2000 files a submission may hold"
        " (a zip bomb?): data.py (51.0 MB)",
        "flagged.zip": "flagged.zip: a file name in it is marked as UTF-8 but is not; zip it again",
        "broken.zip": "broken.zip is not a readable zip: File is not a zip file",
        "absolute.zip": "the zip has an unsafe path: '/etc/evil.py'",
        "locked.zip": "locked.zip is encrypted: zip it again without a password",
        "deflate64.zip": "deflate64.zip is not a readable zip: That compression method is not supported",
    }
    for name, reason in expected.items():
        with pytest.raises(SubmissionError) as error:
            prepare(tmp_path / name, tmp_path / f"scratch-{name}", HW1)
        assert str(error.value) == reason


def test_a_zip_is_unpacked_with_a_folders_caps(tmp_path: Path) -> None:
    """A big data file, a virtual environment, a bomb's payload: left out, never decompressed; the code is in."""
    archive = tmp_path / "alice.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for index in range(2100):  # more files than a submission may hold, listed before the code
            bundle.writestr(f"alice/venv/lib/site-packages/pkg/m{index:04d}.py", "")
        with bundle.open("alice/weights.bin", "w") as member:  # 51 MB, more than all the room
            for _ in range(51):
                member.write(bytes(1 << 20))
        bundle.writestr("alice/.git/objects/big", "")
        bundle.writestr("alice/__pycache__/data.cpython-311.pyc", "")
        bundle.writestr("alice/titanic.csv", "PassengerId\n1\n")
        for path in sorted(SOLUTION.glob("*.py")):
            bundle.write(path, f"alice/{path.name}")
    folder = prepare(archive, tmp_path / "scratch", HW1)
    # Python files first: the 2,000 files are the code and the venv's, the CSV is what is left out.
    assert {path.name for path in folder.iterdir()} == {*(f"{m}.py" for m in HW1.modules), "venv"}
    assert (folder / "data.py").read_bytes() == (SOLUTION / "data.py").read_bytes()
    unpacked = list((folder / "venv").rglob("*.py"))
    assert len(unpacked) == 2000 - len(HW1.modules) and unpacked  # the shallowest files come first
    # What was left out is what grading would not have seen of the same folder either.
    with pytest.raises(SubmissionError, match=r"left out of bomb\.zip.*: big\.py \(51\.0 MB\), huge\.py \(60\.0 MB\)"):
        with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as bundle:
            for name, megabytes in (("huge.py", 60), ("big.py", 51)):
                with bundle.open(name, "w") as member:
                    for _ in range(megabytes):
                        member.write(bytes(1 << 20))
        prepare(tmp_path / "bomb.zip", tmp_path / "scratch-bomb", HW1)


def test_results_are_valid_utf8_whatever_they_hold(tmp_path: Path) -> None:
    document = {"output": f"{NOT_UTF8}: printed bytes that are not UTF-8"}
    write_atomic(tmp_path / "x.json", json.dumps(document, ensure_ascii=False))
    assert json.loads((tmp_path / "x.json").read_bytes().decode("utf-8")) == document
    assert [path.name for path in tmp_path.iterdir()] == ["x.json"]


# The summary page, from hand-made results.


def _document(status: str, passed: dict[str, bool], seconds: float, output: str = "") -> dict[str, Any]:
    checks = {"test_a": ("data", 10), "test_b": ("data", 20), "test_c": ("model", 70)}
    tests = [
        {
            "name": f"check {check}",
            "check": check,
            "step": step,
            "score": points if passed[check] else 0,
            "max_score": points,
            "status": "passed" if passed[check] else "failed",
            "output": "" if passed[check] else f"{check} failed: <img src=x onerror=alert(2)> & more",
            "visibility": "visible",
        }
        for check, (step, points) in checks.items()
        if check in passed
    ]
    document = {
        "score": sum(t["score"] for t in tests),
        "max_score": sum(t["max_score"] for t in tests),
        "execution_time": seconds,
        "tests": tests,
        "status": status,
    }
    return document | ({"output": output} if output else {})


HAND_MADE = {
    "<script>alert(1)</script>": _document("graded", {"test_a": True, "test_b": True, "test_c": True}, 5.0),
    "bob": _document("graded", {"test_a": True, "test_b": False, "test_c": False}, 7.5),
    "carol": _document("graded", {"test_a": False, "test_b": True, "test_c": True}, 3.0),
    "dan": _document(
        "timeout", {"test_a": True, "test_b": True, "test_c": False}, 61.0, "check test_c: did not finish in 20 s"
    ),
    "eve": {**_document("invalid", {}, 0), "output": "none of data.py found <b>at all</b>"},
    "fay": {**_document("error", {}, 0), "output": "the grading process died"},
}


@pytest.fixture(scope="module")
def hand_made_page() -> _Page:
    return _Page(summary.render("hw1", HAND_MADE, pending=["zed"]))


def test_summary_is_self_contained_and_escapes_everything(hand_made_page: _Page) -> None:
    page = summary.render("hw1", HAND_MADE, pending=["zed"])
    assert {tag for tag, _ in hand_made_page.tags} <= _ALLOWED_TAGS  # no script, no img, no link
    assert len(_links(hand_made_page)) >= len(HAND_MADE)  # no image, no link but to feedback files
    policy = [attrs["content"] for tag, attrs in hand_made_page.tags if attrs.get("http-equiv")]
    assert policy == ["default-src 'none'; style-src 'unsafe-inline'"]
    text = "".join(hand_made_page.text)
    for hostile in ("<script>alert(1)</script>", "<img src=x onerror=alert(2)> & more", "<b>at all</b>"):
        assert hostile in text  # shown as text, which only escaping gives
    assert "<script" not in page and "<img" not in page


def test_summary_histogram_and_pass_rates_match_the_results(hand_made_page: _Page) -> None:
    histogram = {
        attrs["data-low"]: int(attrs["data-count"] or 0) for _, attrs in hand_made_page.tags if "data-low" in attrs
    }
    # 100, 10, 90 and 30 points of 100; invalid and error results have no score.
    assert histogram == {str(low): {10: 1, 30: 1, 90: 2}.get(low, 0) for low in range(0, 100, 10)}
    rates = {
        attrs["data-check"]: (attrs["data-passed"], attrs["data-total"]) for attrs in hand_made_page.rows("data-total")
    }
    assert rates == {"test_a": ("3", "4"), "test_b": ("3", "4"), "test_c": ("2", "4")}
    missed = [(attrs["data-check"], attrs["data-failed"]) for attrs in hand_made_page.rows("data-failed")]
    assert missed[0] == ("test_c", "2") and sorted(missed) == [("test_a", "1"), ("test_b", "1"), ("test_c", "2")]
    # The sample message of a check is the best-scoring miss's: dan's 30 points, not bob's 10.
    page = summary.render("hw1", HAND_MADE, pending=["zed"])
    assert re.search(r'data-check="test_c" data-failed="2">.*?e\.g\. (\w+)<', page).group(1) == "dan"
    steps = {attrs["data-step"]: float(attrs["data-average"] or 0) for attrs in hand_made_page.rows("data-step")}
    assert steps == {"data": pytest.approx((30 + 10 + 20 + 30) / 4), "model": pytest.approx((70 + 0 + 70 + 0) / 4)}


def test_summary_lists_the_slowest_and_what_was_not_graded_normally(hand_made_page: _Page) -> None:
    slowest = [attrs["data-submission"] for attrs in hand_made_page.rows("data-seconds")]
    assert slowest == ["dan", "bob", "<script>alert(1)</script>", "carol"]
    unusual = {attrs["data-submission"]: attrs["data-status"] for attrs in hand_made_page.rows("data-status")}
    assert unusual == {"dan": "timeout", "eve": "invalid", "fay": "error", "zed": "pending"}
    text = "".join(hand_made_page.text)
    assert "check test_c: did not finish in 20 s" in text and "the grading process died" in text
    assert "7 submissions: 3 graded normally, 3 not graded normally, 1 not graded yet" in text


class _Tables(HTMLParser):
    """Each table of a page: its header cells and its rows' cells, as (class, text) pairs."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[tuple[list[tuple[str, str]], list[list[tuple[str, str]]]]] = []
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append(([], []))
        elif tag == "tr" and self.tables and self._cell is None:
            self._row: list[tuple[str, str]] = []
            self._head = not self.tables[-1][1] and not self.tables[-1][0]
        elif tag in ("th", "td"):
            self._cell = [dict(attrs).get("class") or ""]

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            self._row.append((self._cell[0], "".join(self._cell[1:])))
            self._cell = None
        elif tag == "tr" and self.tables:
            head, rows = self.tables[-1]
            if self._head:
                head.extend(self._row)
            else:
                rows.append(self._row)


HAND_STEPS = (assignments.Step("data", "Step 1 (Data)", 1), assignments.Step("model", "Step 2 (Model)", 2))


def test_summary_tables_have_a_header_cell_per_column_aligned_as_its_cells() -> None:
    """A number's header sits over its numbers: a header cell per column, with the class of the column's cells."""
    tables = _Tables(summary.render("hw1", HAND_MADE, ["zed"], HAND_STEPS, [["bob", "carol"]])).tables
    assert len(tables) >= 8
    for head, rows in tables:
        assert head and rows
        for row in rows:
            assert [kind for kind, _ in row] == [kind for kind, _ in head], (head, row)
    numeric = {text for head, _ in tables for kind, text in head if kind == "num"}
    assert {"Score", "Time", "Failed", "Passed", "Average"} <= numeric


def test_summary_lists_each_submission_with_its_points_per_step_and_a_link_to_its_feedback() -> None:
    page = summary.render("hw1", HAND_MADE, ["zed"], HAND_STEPS)
    head, rows = _Tables(page).tables[-1]
    assert [text for _, text in head] == [
        "Submission",
        "Score",
        "Step 1 (Data) [max 30]",
        "Step 2 (Model) [max 70]",
        "Status",
    ]
    listed = {row[0][1]: [text for _, text in row[2:4]] for row in rows}
    # bob: 10 of data, 0 of model; eve (invalid) has no points per step, not zeros.
    assert listed["bob"] == ["10", "0"] and listed["carol"] == ["20", "70"] and listed["eve"] == ["", ""]
    assert '<a href="feedback/%3Cscript%3Ealert%281%29%3C%2Fscript%3E.txt">' in page
    assert '<a href="feedback/bob.txt">bob</a>' in page


def _failing(check: str, step: str, message: str) -> dict[str, Any]:
    return {
        "name": f"check {check}",
        "check": check,
        "step": step,
        "score": 0,
        "max_score": 5,
        "status": "failed",
        "output": message,
        "visibility": "visible",
    }


def test_summary_shows_one_row_per_check_and_an_error_of_several_checks_once() -> None:
    """One submission's syntax error fails all its model checks, each message naming its own slide: it is one
    error, listed once, and it fills none of the most-missed rows, where another's own failure stands."""
    broken = "model.py could not be imported: SyntaxError: invalid syntax (model.py line 158). Reread: Step 2-{}."
    cascade = [_failing(f"test_m{i}", "model", broken.format(i)) for i in range(5)]
    own = [_failing("test_m1", "model", "forward returned probabilities. Reread: Step 2-1.")]
    documents = {
        "syntax": {"score": 0, "max_score": 25, "execution_time": 1.0, "tests": cascade, "status": "graded"},
        "alice": {"score": 0, "max_score": 5, "execution_time": 1.0, "tests": own, "status": "graded"},
    }
    page = _Page(summary.render("hw1", documents))
    missed = [(attrs["data-check"], attrs["data-failed"]) for attrs in page.rows("data-failed")]
    assert missed == [("test_m1", "1")]
    errors = [(attrs["data-submissions"], attrs["data-checks"]) for attrs in page.rows("data-checks")]
    assert errors == [("1", "5")]
    text = "".join(page.text)
    assert text.count("SyntaxError") == 1 and "(model.py line 158)" in text
    # The same error in a whole class of stubs: one row, the first names and how many more.
    stubs = {f"s{i:02}": documents["syntax"] for i in range(25)}
    many = summary.render("hw1", stubs)
    (row,) = re.findall(r'<tr data-submissions="(\d+)" data-checks="5">(.*?)</tr>', many)
    assert row[0] == "25" and row[1].endswith('<a href="feedback/s09.txt">s09</a>, and 15 more</td>')
    assert "s10" not in row[1]


def test_summary_lists_identical_submissions_together() -> None:
    page = _Page(summary.render("hw1", HAND_MADE, identical=[["carol", "bob"], ["dan", "fay", "eve"]]))
    groups = [attrs["data-identical"] for attrs in page.rows("data-identical")]
    assert groups == ["3", "2"]  # the biggest group first
    text = "".join(page.text)
    assert "dan, fay, eve" in text and "carol, bob" in text
    assert "No two submissions were graded from the same files." in "".join(
        _Page(summary.render("hw1", HAND_MADE)).text
    )


# The progress line.


def test_progress_line_formatting() -> None:
    assert [clock(s) for s in (0, 59.6, 61.4, 3725)] == ["0:00", "1:00", "1:01", "1:02:05"]
    assert estimate(0, 10, 0.0, 2) is None
    assert estimate(4, 10, 40.0, 2) == 30.0  # 10 s each, 6 left, 2 at a time
    assert estimate(9, 10, 90.0, 4) == 10.0  # the last one alone: no sharing
    assert estimate(10, 10, 90.0, 4) == 0.0
    assert bar(6, 24, 31.0, 93.0) == "[######------------------]  6/24   25%  elapsed 0:31  ETA 1:33"
    assert bar(0, 3, 2.0, None) == "[------------------------] 0/3    0%  elapsed 0:02  ETA --:--"
    assert bar(3, 3, 75.0, 0.0).startswith("[########################] 3/3  100%")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_one_line_on_a_terminal_and_only_logs_elsewhere() -> None:
    now = [100.0]
    lines: list[str] = []
    terminal = _Terminal()
    progress = Progress(4, 2, lines.append, terminal, now=lambda: now[0])
    progress.tick()
    now[0] = 110.0
    progress.finished("alice", "100/100 graded", 10.0)
    assert lines == ["[1/4] alice: 100/100 graded (10.0 s)"]
    drawn = terminal.getvalue()
    clear = "\r\033[K"  # back to the line's start, and erase what a longer line left
    assert drawn.startswith(clear + "[------------------------] 0/4")
    assert drawn.endswith(clear + "[######------------------] 1/4   25%  elapsed 0:10  ETA 0:15")  # 10 s x 3 left / 2
    now[0] = 115.0
    progress.tick()
    assert terminal.getvalue().endswith("ETA 0:10")  # counting down between results
    progress.close()
    assert terminal.getvalue().endswith("\n") and "\n" not in drawn

    plain: list[str] = []
    quiet = Progress(1, 1, plain.append)
    quiet.tick()
    quiet.finished("bob", "0/0 invalid", 0.0)
    quiet.close()
    assert plain == ["[1/1] bob: 0/0 invalid (0.0 s)"]


def test_a_submission_that_takes_too_long_in_all_is_stopped_and_the_rest_graded(tmp_path: Path) -> None:
    """No call runs out of time (each sleeps under --timeout), yet the whole submission would take minutes:
    --submission-timeout stops it, records why, and the batch goes on."""
    folder = tmp_path / "class"
    shutil.copytree(SOLUTION, folder / "honest")
    materialize((), folder / "slow")
    for module in ("data", "model", "train", "evaluate"):
        with open(folder / "slow" / f"{module}.py", "a") as handle:
            handle.write("\nimport time\ntime.sleep(2.5)\n")
    out = tmp_path / "out"
    done = run_grader(
        "hw1", "--batch", str(folder), "--out", str(out), "--jobs", "2", "--timeout", "5", "--submission-timeout", "10"
    )
    assert done.returncode == 0, done.stderr
    slow = json.loads((out / "slow.json").read_text())
    assert slow["status"] == "timeout" and "--submission-timeout" in slow["output"], slow
    assert json.loads((out / "honest.json").read_text())["score"] == 100
    assert (out / ".keys" / "slow").exists(), "a timeout is a grade: a rerun keeps it"
