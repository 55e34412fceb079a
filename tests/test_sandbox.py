"""The adversarial suite: hostile submissions (on the stubs) graded in one batch with an honest one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SOLUTION, STUBS, materialize, step_scores
from hw1_attacks import ATTACKS, EXTRA_FILES, SECRET_ENV, SECRET_VALUE

from grader.audit import Edit
from grader.sandbox import isolation

# About two minutes on two cores: in the slow set (python -m pytest -m slow), which .ci/run runs too.
pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
ISOLATED = isolation.choose().contained
# kill(-1) without a PID namespace would signal every process of the user, the test runner included.
RUNNABLE = [a for a in ATTACKS if ISOLATED or a.name != "kill-everyone"]
#: Deeper than Python's recursion limit: os.walk and Path.mkdir(parents=True) would fail there.
DEEP = 1100
#: The reference solution but for one function that never returns: only the checks that call it may fail.
ONE_HANG = (Edit("data.py", "        return len(self.samples)\n", "        while True:\n            pass\n"),)
OUTSIDE = [
    Path("/tmp/grader-pwned"),
    Path("/tmp/grader-reduce-pwned"),
    Path.home() / "grader-pwned",
    ROOT.parent / "grader-pwned",
    ROOT / "grader-pwned",
]


def _processes_of_run(marker: str) -> set[int]:
    """This run's grading processes and zygotes: their environment holds ``marker`` (another run's never does).

    Workers scrub their environment, but none outlives its zygote: with namespaces it is PID 1 of a namespace
    that ends with it and dies with its parent, without them the zygote kills what it adopted.
    """
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def _deep(target: Path, levels: int) -> None:
    """A submission (the stubs) with a folder nested ``levels`` deep beside its files."""
    shutil.copytree(STUBS, target, ignore=shutil.ignore_patterns("*.md"))
    folder = target
    for _ in range(levels):
        folder = folder / "d"
        os.mkdir(folder)  # one level at a time: Path.mkdir(parents=True) recurses


def _snapshot(folder: Path) -> dict[Path, bytes]:
    """Every file's content, walked without recursion (Path.rglob recurses, and one submission is deep)."""
    found, pending = {}, [folder]
    while pending:
        for entry in os.scandir(pending.pop()):
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                found[Path(entry.path)] = Path(entry.path).read_bytes()
    return found


def _remove_deep(folder: Path) -> None:
    """Remove a deep chain of folders from the bottom up (shutil.rmtree recurses)."""
    chain = [folder]
    while (chain[-1] / "d").is_dir():
        chain.append(chain[-1] / "d")
    for path in reversed(chain):
        for entry in os.scandir(path):
            if not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)
        if path != folder:
            os.rmdir(path)


def _deep_zip(target: Path, levels: int) -> None:
    with zipfile.ZipFile(target, "w") as bundle:
        for module in ("data", "model", "train", "evaluate"):
            bundle.write(STUBS / f"{module}.py", f"{module}.py")
        bundle.writestr("d/" * levels + "x.txt", "deep")


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Grade every attack plus one honest submission in one batch, with short test budgets."""
    folder = tmp_path_factory.mktemp("hostile-class")
    shutil.copytree(SOLUTION, folder / "honest")
    materialize(ONE_HANG, folder / "one-hang")
    for attack in RUNNABLE:
        target = folder / attack.name
        shutil.copytree(STUBS, target, ignore=shutil.ignore_patterns("*.md"))
        with open(target / f"{attack.module}.py", "a") as handle:
            handle.write("\n" + attack.code)
        for relative, content in EXTRA_FILES.get(attack.name, {}).items():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            (target / relative).write_text(content)
    _deep(folder / "deep-folder", DEEP)
    _deep_zip(folder / "deep-zip.zip", DEEP)
    before = _snapshot(folder)
    out = tmp_path_factory.mktemp("hostile-out")
    tmpdir = tmp_path_factory.mktemp("hostile-tmp")
    marker = f"GRADER_TEST_RUN_{os.getpid()}_{id(folder)}"
    env = {**os.environ, SECRET_ENV: SECRET_VALUE, "TMPDIR": str(tmpdir), marker: "1"}
    # Descriptors a TA's shell might have left open: a secret file, and one open for writing.
    (tmpdir.parent / "inherited-secret").write_text(SECRET_VALUE)
    secret_fd = os.open(tmpdir.parent / "inherited-secret", os.O_RDONLY)
    log = tmpdir.parent / "inherited-log"
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT, 0o644)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "hw1",
            "--batch",
            str(folder),
            "--out",
            str(out),
            "--jobs",
            "2",
            "--timeout",
            "3",
            "--memory-mb",
            "1024",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        stdin=subprocess.DEVNULL,
        pass_fds=(secret_fd, log_fd),
        check=False,
    )
    os.close(secret_fd)
    os.close(log_fd)
    after = _snapshot(folder)
    _remove_deep(folder / "deep-folder" / "d")
    return {
        "after": after,
        "log": log,
        "sysv": Path("/proc/sysvipc/shm").read_text() + Path("/proc/sysvipc/msg").read_text(),
        "keys": Path("/proc/keys").read_text(),
        "done": done,
        "out": out,
        "tmpdir": tmpdir,
        "folder": folder,
        "before": before,
        "left": _processes_of_run(marker),
        "results": {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")},
    }


def test_batch_survives_every_attack(attacked: dict[str, Any]) -> None:
    assert attacked["done"].returncode == 0, attacked["done"].stderr[-3000:]
    expected = {"honest", "one-hang", "deep-folder", "deep-zip", *(a.name for a in RUNNABLE)}
    assert set(attacked["results"]) == expected


def test_a_folder_nested_too_deep_is_invalid_and_the_rest_is_graded(attacked: dict[str, Any]) -> None:
    for name in ("deep-folder", "deep-zip"):
        document = attacked["results"][name]
        assert document["status"] == "invalid" and "more than 32 folders deep" in document["output"], document


def test_nothing_of_a_submission_stays_in_the_kernel(attacked: dict[str, Any]) -> None:
    """SysV IPC and keys made by student code (ipc-leftovers) went with its worker; descriptors the grader
    inherited (inherited-fds) were never reachable."""
    key = f"{0x47524143:10d}"
    assert key not in attacked["sysv"], "a SysV segment or queue outlived its worker"
    assert "grader-attack-key" not in attacked["keys"]
    assert attacked["log"].read_text() == "", "student code wrote through a descriptor of the grading process"


def test_a_trickled_answer_is_a_timeout(attacked: dict[str, Any]) -> None:
    document = attacked["results"]["trickle-reply"]
    assert document["status"] == "timeout"
    assert any("did not finish within" in t["output"] for t in document["tests"])


def test_honest_submission_keeps_its_exact_score(attacked: dict[str, Any]) -> None:
    honest = attacked["results"]["honest"]
    assert honest["score"] == honest["max_score"] == 100, [t["output"] for t in honest["tests"] if t["score"] == 0]


@pytest.mark.parametrize("attack", RUNNABLE, ids=lambda a: a.name)
def test_attack_scores_zero(attack: Any, attacked: dict[str, Any]) -> None:
    document = attacked["results"][attack.name]
    assert document["score"] == 0, [t["check"] for t in document["tests"] if t["score"] > 0]


def test_nothing_left_behind(attacked: dict[str, Any]) -> None:
    assert not attacked["left"], "grader or worker processes outlived the batch"
    assert list(attacked["tmpdir"].iterdir()) == [], "temporary folders were left behind"
    assert not [path for path in OUTSIDE if path.exists()], "a submission wrote outside its folder"
    assert attacked["after"] == attacked["before"], "a submission changed the class folder"


def test_no_secret_reaches_any_output(attacked: dict[str, Any]) -> None:
    for path in attacked["out"].rglob("*"):
        if path.is_file():
            assert SECRET_VALUE not in path.read_text(errors="replace"), path.name
    assert SECRET_VALUE not in attacked["done"].stdout + attacked["done"].stderr


def test_crashes_and_limits_are_reported_as_such(attacked: dict[str, Any]) -> None:
    results = attacked["results"]

    def outputs(name: str) -> str:
        return " ".join(t["output"] for t in results[name]["tests"])

    assert "did not finish within" in outputs("spin-forever")
    assert results["spin-forever"]["status"] == "timeout"
    # Filling 1 GB takes this VM 1 to 3 s, so under the batch's 3 s budget the kernel's OOM killer or the
    # budget may come first; test_limits grades the same bomb with 60 s to spare, where it is always memory.
    assert results["memory-bomb"]["status"] in ("memory", "timeout")
    assert "SIGSEGV" in outputs("segfault") and results["segfault"]["status"] == "crashed"
    assert "exit code 3" in outputs("os-exit")
    assert "sys.exit(0) was called" in outputs("sys-exit")
    assert "EOFError" in outputs("read-stdin")
    assert "SyntaxError" in outputs("syntax-error")
    assert "CHECKS LEAKED" not in outputs("read-checks")
    if ISOLATED:  # the checks' inputs are read-only to student code (without isolation: no link is followed)
        assert "inputs are read-only" in outputs("plant-in-inputs")


def test_a_module_that_hangs_costs_one_budget(attacked: dict[str, Any]) -> None:
    tests = attacked["results"]["spin-forever"]["tests"]
    skipped = [t for t in tests if "already ran out of time" in t["output"]]
    timed_out = [t for t in tests if "did not finish within" in t["output"] and t not in skipped]
    assert len(timed_out) == 1 and skipped


def test_a_hang_costs_only_the_checks_that_call_the_code_that_hangs(attacked: dict[str, Any]) -> None:
    # TitanicDataset.__len__ never returns: the Titanic checks that call len() fail (the first one after one
    # budget, the others at once), and nothing else does, HandWrite and the end-to-end check included.
    document = attacked["results"]["one-hang"]
    failed = [t for t in document["tests"] if t["status"] == "failed"]
    assert failed and all(t["check"].startswith("test_titanic_") for t in failed), [t["check"] for t in failed]
    assert all("len(" in t["output"] for t in failed), [t["output"] for t in failed]
    # One budget: the others say it already ran out of time (quoting the first one's message).
    assert sum("already ran out of time" not in t["output"] for t in failed) == 1
    steps = step_scores(document)
    assert all(score == full for step, (score, full) in steps.items() if step != "data"), steps
    assert steps["data"][0] >= steps["data"][1] - 12, steps


def test_output_flood_is_capped(attacked: dict[str, Any]) -> None:
    size = sum(p.stat().st_size for p in attacked["out"].rglob("*") if p.is_file())
    assert size < 20 * 1024 * 1024
