"""--slurm: the scripts it writes and keeps, what it asks sbatch, and a class graded on a real Slurm cluster.

The scripts and the sbatch calls are checked against a stand-in ``sbatch`` on PATH (in process, as click's
CliRunner would). The real thing (marked ``slow``) starts a single-node cluster of Debian's slurm-wlm in a
temporary folder, grades a class of 8 as an array of 4 tasks plus the merge, kills a task, and compares
grades.csv with one local --batch's.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, SOLUTION, STUBS, corpus, materialize, run_grader

from grader import cli
from grader.batch.sharding import Shard

#: Records each call (its arguments and whether it got this process's private cache folder), prints a job id the
#: way --parsable does (with a cluster name), refuses what it is told to, and --wait exits with the merge's status.
FAKE_SBATCH = r"""#!/bin/bash
echo "$* | inductor=${TORCHINDUCTOR_CACHE_DIR-unset}" >> "$FAKE_SBATCH_LOG"
script="${@: -1}"
if grep -q -- "--partition=nope" "$script"; then
    echo "sbatch: error: invalid partition specified: nope" >&2
    exit 1
fi
if [[ " $* " == *" --dependency="* && -n "${FAKE_REFUSE_MERGE-}" ]]; then
    echo "sbatch: error: Job dependency problem" >&2
    exit 1
fi
echo "$(( 100 + $(wc -l < "$FAKE_SBATCH_LOG") ));cluster"
[[ " $* " == *" --wait "* ]] && exit "${FAKE_MERGE_STATUS:-0}"
exit 0
"""


@pytest.fixture
def fake_sbatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in sbatch first on PATH; returns its log. The grader runs in process, from the repository."""
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    (bin_folder / "sbatch").write_text(FAKE_SBATCH)
    (bin_folder / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SBATCH_LOG", str(tmp_path / "sbatch.log"))
    # main() sets its own cache folder, to be removed with it: a job must not inherit it.
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "")
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR")
    monkeypatch.chdir(ROOT)
    return tmp_path / "sbatch.log"


def _directives(script: Path) -> list[str]:
    return [line.removeprefix("#SBATCH ") for line in script.read_text().splitlines() if line.startswith("#SBATCH ")]


def _command(script: Path) -> list[str]:
    (line,) = [line for line in script.read_text().splitlines() if line.startswith("exec ")]
    return shlex.split(line.removeprefix("exec "))


def test_slurm_writes_readable_scripts_and_submits_the_merge_after_the_array(
    fake_sbatch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "hidden").mkdir()
    (tmp_path / "hidden" / "test_secret.py").write_text("")
    (tmp_path / "key").write_bytes(os.urandom(32))
    monkeypatch.setenv("GRADER_KEY_FILE", str(tmp_path / "key"))
    out = tmp_path / "out 50%"  # a space for the shell, a % for Slurm's file name patterns
    options = ["--partition=short", "--time", "0:30:00", "--gres=gpu:1", "-A", "nlp"]
    argv = ["hw1", "--batch", "solutions", "--out", str(out), "--slurm", "3", "--jobs", "2", "--timeout", "30"]
    assert cli.main([*argv, "--hidden", str(tmp_path / "hidden"), "--", *options]) == 0
    grade, merge = out / "slurm" / "grade.sbatch", out / "slurm" / "merge.sbatch"
    assert capsys.readouterr().out.splitlines() == [
        f"Submitted array job 101 (3 tasks: {shlex.quote(str(grade))}) and merge job 102 "
        f"({shlex.quote(str(merge))}), which runs once every task has ended.",
        f"Watch: squeue -j 101,102   Logs in {shlex.quote(str(grade.parent))}: shard-<I>-job101.log, merge-job102.log",
        f"Rerun task I alone: sbatch --array=I {shlex.quote(str(grade))}; then merge again: sbatch "
        f"{shlex.quote(str(merge))}",
    ]
    assert fake_sbatch.read_text().splitlines() == [
        f"--parsable {grade} | inductor=unset",
        f"--parsable --dependency=afterany:101 {merge} | inductor=unset",
    ]
    logs = str(out / "slurm").replace("%", "%%")
    # The TA's options last (the last of an option wins); GPUs for the tasks only.
    assert _directives(grade) == [
        "--job-name=grader-hw1",
        "--array=0-2",
        "--cpus-per-task=2",
        f'--output="{logs}/shard-%a-job%A.log"',
        "--partition=short",
        "--time 0:30:00",
        "--gres=gpu:1",
        "-A nlp",
    ]
    assert _directives(merge) == [
        "--job-name=grader-hw1-merge",
        "--cpus-per-task=1",
        f'--output="{logs}/merge-job%j.log"',
        "--partition=short",
        "--time 0:30:00",
        "-A nlp",
    ]
    common = [sys.executable, "-m", "grader", "hw1", "--batch", str(ROOT / "solutions"), "--out", str(out)]
    common += ["--timeout", "30", "--memory-mb", "3072", "--device", "cuda", "--hidden", str(tmp_path / "hidden")]
    # A GPU asked for: the tasks grade on it, and the merge computes their fingerprints with the same device.
    assert _command(grade) == [*common, "--shard", "auto", "--shards", "3", "--jobs", "${SLURM_CPUS_PER_TASK:-1}"]
    assert _command(merge) == [*common, "--merge", "--shards", "3"]
    for script in (grade, merge):
        body = script.read_text()
        assert f"\ncd {shlex.quote(str(ROOT))}\n" in body
        assert f"\nexport GRADER_KEY_FILE={shlex.quote(str(tmp_path / 'key'))}\n" in body
        assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0


@pytest.mark.parametrize(
    "device, options, gres, shown",
    [
        ("cuda", [], True, "cuda"),  # --device cuda asks Slurm for a GPU per task
        ("auto", [], False, "cpu"),  # decided here, once, for every task
        ("auto", ["--gpus-per-task=1"], False, "cuda"),
        ("cpu", ["-G", "1"], False, "cpu"),
    ],
)
def test_the_device_is_decided_once_and_a_gpu_asked_for_with_cuda(
    fake_sbatch: Path, tmp_path: Path, device: str, options: list[str], gres: bool, shown: str
) -> None:
    out = tmp_path / "out"
    argv = ["hw1", "--batch", "solutions", "--out", str(out), "--slurm", "2", "--device", device]
    assert cli.main([*argv, *(["--", *options] if options else [])]) == 0
    grade, merge = out / "slurm" / "grade.sbatch", out / "slurm" / "merge.sbatch"
    assert ("--gres=gpu:1" in _directives(grade)) is gres
    assert not any("gpu" in line.lower() or line.startswith("-G") for line in _directives(merge))
    for script in (grade, merge):
        command = _command(script)
        assert command[command.index("--device") + 1] == shown


def test_wait_exits_with_the_merges_status(
    fake_sbatch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FAKE_MERGE_STATUS", "3")
    assert cli.main(["hw1", "--batch", "solutions", "--out", str(tmp_path / "out"), "--slurm", "2", "--wait"]) == 3
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == [
        "Waiting for merge job 102 to end (Ctrl-C stops waiting, not the jobs).",
        "Merge job 102 ended with exit status 3.",
    ]
    assert fake_sbatch.read_text().splitlines()[1].startswith("--parsable --dependency=afterany:101 --wait ")


@pytest.mark.parametrize(
    "options, environment, message",
    [
        (["--partition=nope"], {}, "Error: sbatch refused the array job: sbatch: error: invalid partition specified"),
        (
            [],
            {"FAKE_REFUSE_MERGE": "1"},
            "Error: sbatch refused the merge job: sbatch: error: Job dependency problem (the array job 101 is queued: "
            "scancel 101)",
        ),
        ([], {"PATH": "/nonexistent"}, "Error: --slurm needs Slurm's sbatch, which is not on PATH here"),
    ],
)
def test_what_sbatch_refuses_is_a_line_with_its_reason(
    fake_sbatch: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    environment: dict[str, str],
    message: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    argv = ["hw1", "--batch", "solutions", "--out", str(tmp_path / "out"), "--slurm", "2"]
    assert cli.main([*argv, *(["--", *options] if options else [])]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(message) and len(err.splitlines()) == 1 and out == ""


# A real cluster.


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


SLURM_CONF = """\
ClusterName=gradertest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
AuthType=auth/none
CredType=cred/none
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
SlurmdUser=root
ReturnToService=2
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
NodeName=grader-node NodeHostname={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=debug Nodes=grader-node Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A single-node Slurm cluster on loopback ports, in a folder of its own; yields the environment to reach it."""
    missing = [name for name in ("slurmctld", "slurmd", "sbatch", "scancel", "sinfo") if not shutil.which(name)]
    if missing:
        pytest.skip(f"Slurm is not installed ({', '.join(missing)} not found; .ci/run installs Debian's slurm-wlm)")
    if os.geteuid() != 0:
        pytest.skip("slurmd runs a job as its user only as root")
    folder = tmp_path_factory.mktemp("slurm")
    for name in ("state", "spool"):
        (folder / name).mkdir()
    conf = folder / "slurm.conf"
    conf.write_text(
        SLURM_CONF.format(
            ctld_port=_free_port(),
            d_port=_free_port(),
            folder=folder,
            host=socket.gethostname(),
            cpus=min(2, os.cpu_count() or 1),
        )
    )
    environment = {**os.environ, "SLURM_CONF": str(conf)}
    daemons = [
        subprocess.Popen(
            [daemon, "-D", *arguments],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for daemon, arguments in (("slurmctld", ["-i"]), ("slurmd", ["-N", "grader-node"]))
    ]
    try:
        deadline = time.monotonic() + 60
        while _slurm(environment, "sinfo", "-h", "-N", "-o", "%T").strip() != "idle":
            if time.monotonic() > deadline or any(daemon.poll() is not None for daemon in daemons):
                logs = "".join(path.read_text() for path in folder.glob("*.log"))
                pytest.fail(f"the Slurm node did not come up within 60 s:\n{logs[-4000:]}")
            time.sleep(0.2)
        yield environment
    finally:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            _slurm(environment, "scancel", "--partition=debug")  # whatever a failed test left queued
        for daemon in daemons:
            daemon.terminate()
        for daemon in daemons:
            try:
                daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()


def _slurm(environment: dict[str, str], *command: str) -> str:
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60, check=False)
    return done.stdout


def _class(folder: Path) -> list[str]:
    """8 submissions: the solution three ways, the stubs three ways, one bug, one with nothing to grade."""
    shutil.copytree(SOLUTION, folder / "alice")
    shutil.copytree(SOLUTION, folder / "bob" / "assignments" / "hw1")
    with zipfile.ZipFile(folder / "carol.zip", "w") as bundle:
        for path in sorted(SOLUTION.glob("*.py")):
            bundle.write(path, f"carol/{path.name}")
    shutil.copytree(STUBS, folder / "dan", ignore=shutil.ignore_patterns("*.md"))
    with zipfile.ZipFile(folder / "erin.zip", "w") as bundle:
        for path in sorted(STUBS.glob("*.py")):
            bundle.write(path, path.name)
    materialize(corpus("hw1").buggy[0].edits, folder / "frank")
    (folder / "gina").mkdir()
    shutil.copytree(STUBS, folder / "hank" / "hw1", ignore=shutil.ignore_patterns("*.md"))
    return ["alice", "bob", "carol", "dan", "erin", "frank", "gina", "hank"]


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        return {row["submission"]: row for row in csv.DictReader(handle)}


@pytest.mark.slow
def test_a_class_graded_as_a_slurm_array_and_merged_matches_one_local_batch(
    slurm_cluster: dict[str, str], tmp_path: Path
) -> None:
    names = _class(tmp_path / "class")
    local = run_grader("hw1", "--batch", str(tmp_path / "class"), "--out", str(tmp_path / "local"), "--jobs", "2")
    assert local.returncode == 0, local.stderr
    out = tmp_path / "out 50%"  # as Slurm reads its #SBATCH lines: a space and a % in every log's path
    command = [sys.executable, "-m", "grader", "hw1", "--batch", str(tmp_path / "class"), "--out", str(out)]
    submitting = subprocess.Popen(
        [*command, "--slurm", "4", "--wait", "--", "--time", "30", "--job-name=grader-test"],
        cwd=ROOT,
        env=slurm_cluster,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert submitting.stdout is not None
        first = submitting.stdout.readline()
        found = re.match(r"Submitted array job (\d+) \(4 tasks: .*\) and merge job (\d+) ", first)
        assert found, first + submitting.stdout.read() + submitting.stderr.read()  # type: ignore[union-attr]
        array, merge = found.groups()
        # Task 3 waits for a CPU (2 on the node, 4 tasks): cancelled before it starts. Task 2 is killed as a
        # time limit would (SIGTERM) once it has written a result: what it finished stays, the rest is missing.
        _slurm(slurm_cluster, "scancel", f"{array}_3")
        second = Shard(2, 4).select(names)
        deadline = time.monotonic() + 600
        while not any((out / f"{name}.json").exists() for name in second):
            assert time.monotonic() < deadline and submitting.poll() is None, "task 2 wrote no result"
            time.sleep(0.1)
        _slurm(slurm_cluster, "scancel", f"{array}_2")
        stdout, stderr = submitting.communicate(timeout=900)
    finally:
        if submitting.poll() is None:
            submitting.kill()
            submitting.wait()
    assert submitting.returncode == 3, first + stdout + stderr
    assert f"Merge job {merge} ended with exit status 3." in stdout
    missing = {*Shard(3, 4).select(names), *(name for name in second if not (out / f"{name}.json").exists())}
    merged = (out / "slurm" / f"merge-job{merge}.log").read_text()
    listed = dict(re.findall(r"^  (\S+): .* \(shard (\d)/4\)$", merged, re.MULTILINE))
    assert listed == {name: str(next(i for i in range(4) if name in Shard(i, 4).select(names))) for name in missing}
    assert set(Shard(3, 4).select(names)) <= set(listed)
    assert set(_rows(out)) == set(names) - missing  # grades.csv has what the finished tasks graded
    assert len(list((out / "slurm").glob(f"shard-*-job{array}.log"))) == 4 - 1  # the cancelled task never ran

    # The rerun the merge printed: the missing tasks alone, then the merge after them.
    hint = re.search(r"with Slurm: sbatch (--array=\S+) (.+), then sbatch (.+)\), then merge again\.$", merged, re.M)
    assert hint, merged
    indexes = sorted({int(index) for index in listed.values()})
    assert hint.group(1) == f"--array={','.join(map(str, indexes))}"
    rerun = subprocess.run(
        ["sbatch", "--parsable", hint.group(1), *shlex.split(hint.group(2))],
        env=slurm_cluster,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    again = subprocess.run(
        ["sbatch", "--parsable", "--wait", f"--dependency=afterany:{rerun}", *shlex.split(hint.group(3))],
        env=slurm_cluster,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    merge_log = (out / "slurm" / f"merge-job{again.stdout.strip()}.log").read_text()
    assert again.returncode == 0, merge_log
    for index in indexes:  # a rerun keeps what its task had finished before it was killed
        kept = [name for name in Shard(index, 4).select(names) if name not in missing]
        log = (out / "slurm" / f"shard-{index}-job{rerun}.log").read_text()
        assert not any(f"] {name}: " in log for name in kept), log
        assert not kept or f"Kept {len(kept)} unchanged result" in log, log
    assert _rows(out) == _rows(tmp_path / "local")
