"""One worker serves a grading's checks, yet each check starts as in a fresh worker.

Run for real: a submission with a helper module, graded with extra (hidden) checks that look at the
worker from the inside: its pid, its random state, the objects earlier checks were handed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, SOLUTION, run_grader

HELPER = '''\
"""Looks at the worker from the inside (a test helper, not part of hw1)."""

import os
import weakref

import torch

seen = {}


class Thing:
    pass


def draw(n):
    return torch.rand(n).tolist()


def note(key, value):
    seen[key] = value


def recall(key):
    return seen.get(key)


def pid():
    return os.getpid()


def make_thing():
    thing = Thing()
    seen["thing"] = weakref.ref(thing)
    return thing


def thing_alive():
    return seen["thing"]() is not None
'''

CHECKS = '''\
"""Extra checks that pass only if the worker is shared and each check starts afresh."""

from grader.checks import check, expect


@check(points=1, step="model", slide="Step 2")
def test_a_first(student):
    """a first check draws random numbers and keeps an object"""
    helper = student.module("helper")
    helper.note("first", helper.draw(3))
    helper.draw(100)
    helper.note("pid", helper.pid())
    thing = helper.make_thing()
    expect(helper.thing_alive(), "the object handed to this check is alive while it runs")
    expect(thing.type_name.endswith("Thing"), "a handle to the object")


@check(points=1, step="model", slide="Step 2")
def test_b_second(student):
    """a second check runs in the same worker, from the same random state, without the first's objects"""
    helper = student.module("helper")
    expect(helper.pid() == helper.recall("pid"), "the same worker")
    draw, first = helper.draw(3), helper.recall("first")
    expect(draw == first, f"the same random state: {draw} vs {first}")
    expect(not helper.thing_alive(), "the first check's object was let go")
'''


def test_checks_share_a_worker_but_start_afresh(tmp_path: Path) -> None:
    submission = tmp_path / "submission"
    shutil.copytree(SOLUTION, submission, ignore=shutil.ignore_patterns("__pycache__"))
    (submission / "helper.py").write_text(HELPER)
    checks = tmp_path / "extra-checks"
    checks.mkdir()
    (checks / "test_worker.py").write_text(CHECKS)
    done = run_grader("hw1", str(submission), "--hidden", str(checks), "--format", "json")
    document = json.loads(done.stdout)
    extra = {t["name"]: t for t in document["tests"] if t["visibility"] == "after_published"}
    assert len(extra) == 2, document["tests"]
    assert all(t["status"] == "passed" for t in extra.values()), [t["output"] for t in extra.values()]
    assert document["score"] == document["max_score"]


def test_a_global_setting_changed_in_one_step_stays_there(tmp_path: Path) -> None:
    """data.py switching torch's default dtype at import must not cost points in Steps 2 to 4."""
    submission = tmp_path / "submission"
    shutil.copytree(SOLUTION, submission, ignore=shutil.ignore_patterns("__pycache__"))
    with (submission / "data.py").open("a") as handle:
        handle.write("\ntorch.set_default_dtype(torch.float64)\n")
    document = json.loads(run_grader("hw1", str(submission), "--format", "json").stdout)
    elsewhere = [t for t in document["tests"] if t["step"] in ("model", "train", "evaluate")]
    assert elsewhere and all(t["status"] == "passed" for t in elsewhere), [
        (t["name"], t["output"]) for t in elsewhere if t["status"] != "passed"
    ]
    # The whole pipeline does run data.py's import: there the setting counts.
    assert [t["status"] for t in document["tests"] if t["step"] == "end-to-end"] == ["failed"]


FORK_AHEAD = """
import os, sys, tempfile
from pathlib import Path
from grader.sandbox import Sandbox
from grader.sandbox.isolation import Session
from grader.sandbox.cgroups import Layout

def forked(zygote_pid):
    tasks = Path(f"/proc/{zygote_pid}/task")
    return sum(len((task / "children").read_text().split()) for task in tasks.iterdir())

sandbox = Sandbox(isolation=Session(Layout("none", None, None)), preload=("torch",))
home = Path(tempfile.mkdtemp())
counts = []
for ahead in (False, True):
    worker = sandbox.spawn(home, home, ahead=ahead)
    worker.link.wait(worker.pid, 0)  # answered after any spawn sent before it: what was forked is forked
    counts.append(forked(worker.link.pid))
    worker.close()
sandbox.close()
print(counts)
"""


def test_the_zygote_forks_a_worker_ahead_only_when_asked(tmp_path: Path) -> None:
    """The last step's worker is forked alone: a spare forked after it would be killed unused."""
    done = subprocess.run(
        [sys.executable, "-c", FORK_AHEAD], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[1,", "2]"]
