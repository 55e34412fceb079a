"""The results store: what a rerun keeps, and writers (a batch, its shards, the merge) that share OUT."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from grader.batch.outcome import Outcome, Status
from grader.batch.store import ResultStore, write_atomic
from grader.results import CheckResult, GradeReport

GRADED = Outcome.of(
    GradeReport("hw1", "alice", [CheckResult("test_rows", "rows", "data", "", 2, True)], 1.0, sandbox="session")
)


def test_a_result_reads_back_and_a_rerun_keeps_it_only_with_its_key(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    assert store.load("alice") is None and store.kept("alice", "k1") is None
    store.write("alice", GRADED, key="k1")
    assert json.loads((tmp_path / "alice.json").read_text()) == GRADED.to_json()
    assert store.load("alice", "hw1") == GRADED
    kept = store.kept("alice", "k1")
    assert kept is not None and kept.to_json() == GRADED.to_json() and store.key("alice") == "k1"
    assert store.kept("alice", "k2") is None  # its files, the grader or an option changed
    store.write("bob", Outcome.failed(Status.ERROR, "the grading process died"))
    assert store.key("bob") is None and store.kept("bob", "") is None
    (tmp_path / ".keys" / "bob").write_text("k3")  # even with a key, an error is never a grade to keep
    assert store.load("bob") is not None and store.kept("bob", "k3") is None
    assert store.load_all(["bob", "carol", "alice"]).keys() == {"bob", "alice"}
    assert list(store.load_all(["bob", "carol", "alice"])) == ["bob", "alice"]


def test_a_damaged_result_is_no_result(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    store.write("alice", GRADED, key="k1")
    for damage in ("", "{", json.dumps({**GRADED.to_json(), "score": 99}), "\udce9"):
        (tmp_path / "alice.json").write_text(damage, errors="surrogateescape")
        assert store.load("alice") is None and store.kept("alice", "k1") is None


def _leftover(folder: Path, writer: str) -> Path:
    """What a writer killed between creating its temporary file and renaming it leaves."""
    folder.mkdir(exist_ok=True)
    before = set(folder.iterdir())
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)  # type: ignore[assignment]
        write_atomic(folder / "x.json", "{}", writer)
        os._exit(0)
    os.waitpid(pid, 0)
    (leftover,) = set(folder.iterdir()) - before
    assert leftover.name.endswith(".tmp") and writer in leftover.name
    return leftover


def test_each_writer_removes_only_what_its_own_killed_runs_left(tmp_path: Path) -> None:
    """Shards share OUT: a shard that starts must not delete the file another shard is about to rename."""
    mine = _leftover(tmp_path, "shard-1-of-4")
    theirs = _leftover(tmp_path, "shard-2-of-4")
    merges = _leftover(tmp_path / ".keys", "merge")
    merges_feedback = _leftover(tmp_path / "feedback", "merge")  # a merge killed writing a student's feedback
    ResultStore(tmp_path, "shard-1-of-4").remove_partial()
    assert not mine.exists() and theirs.exists() and merges.exists() and merges_feedback.exists()
    ResultStore(tmp_path, "merge").remove_partial()
    assert not merges.exists() and not merges_feedback.exists() and theirs.exists()
    batchs = _leftover(tmp_path, "")
    ResultStore(tmp_path).remove_partial()  # a whole batch owns OUT: everything goes
    assert not theirs.exists() and not batchs.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == [".keys", "feedback"]
