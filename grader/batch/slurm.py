"""A batch as a Slurm job array plus a merge job: the two scripts, kept in ``OUT/slurm/``, and their submission.

``python -m grader hw1 --batch CLASS --out OUT --slurm N`` writes ``grade.sbatch`` (an array of N tasks,
task I running the batch with ``--shard auto --shards N``, which reads I from ``SLURM_ARRAY_TASK_ID``)
and ``merge.sbatch`` (the same command with ``--merge``), submits the first with ``sbatch`` and the second
with ``--dependency=afterany`` on it: the merge runs once every task has ended, however it ended, and
lists what a failed task left ungraded. The scripts are plain bash with ``#SBATCH`` lines, readable and
meant to be adapted; ``sbatch --array=I OUT/slurm/grade.sbatch`` reruns task I alone.

Options after ``--`` on the command line are the TA's ``sbatch`` options (partition, time, account, ...):
each, with its value, becomes a ``#SBATCH`` line after the grader's own, so it wins where both set one.
GPU requests go to the array only: the merge grades nothing.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from grader.errors import UsageError

#: Under OUT: the scripts and every job's log.
FOLDER = "slurm"
GRADE_SCRIPT = "grade.sbatch"
MERGE_SCRIPT = "merge.sbatch"
#: sbatch options that ask for GPUs: given to the array's tasks, never to the merge.
_GPU_OPTIONS = ("--gres", "--gpu", "--mem-per-gpu", "--cpus-per-gpu")
#: Where a task's shard count comes from when it runs: the CPUs Slurm gave it.
_JOBS = '--jobs "${SLURM_CPUS_PER_TASK:-1}"'


@dataclass(frozen=True)
class Scripts:
    """The two scripts written into ``OUT/slurm/``."""

    grade: Path
    merge: Path


@dataclass(frozen=True)
class Jobs:
    """The submitted jobs: the array's id and the merge's."""

    array: str
    merge: str


def sbatch_lines(options: list[str]) -> list[list[str]]:
    """The TA's sbatch options grouped one option per line: ``--time 1:00:00`` stays together."""
    lines: list[list[str]] = []
    for token in options:
        if token.startswith("-"):
            if token.split("=")[0] in ("--array", "-a"):
                raise UsageError("the array is --slurm N: leave --array out of the sbatch options.")
            lines.append([token])
        elif lines:
            lines[-1].append(token)
        else:
            raise UsageError(f"sbatch options after -- start with an option, not '{token}'.")
    return lines


def asks_for_gpu(line: list[str]) -> bool:
    """Whether an sbatch option line (see :func:`sbatch_lines`) asks for GPUs."""
    name = line[0].split("=")[0]
    return name.startswith(_GPU_OPTIONS) or (name.startswith("-G") and not name.startswith("--"))


def write_scripts(
    folder: Path,
    assignment: str,
    shards: int,
    shard_command: list[str],
    merge_command: list[str],
    cwd: Path,
    exports: Mapping[str, str],
    cpus: int,
    options: list[str],
    gpu: bool,
) -> Scripts:
    """Write ``grade.sbatch`` and ``merge.sbatch`` into ``folder``.

    ``shard_command`` is the batch command of a task, without ``--jobs`` (a task runs as many grading
    processes as it got CPUs, ``cpus`` unless the TA's options say otherwise); ``merge_command`` the merge's.
    Both run in ``cwd`` with ``exports`` set. ``gpu``: each task asks for a GPU unless ``options`` ask already.
    """
    if any(char in str(folder) for char in '"\\\n'):
        raise UsageError(f"--slurm cannot name '{folder}' in an #SBATCH line: rename it without quotes or backslashes.")
    folder.mkdir(parents=True, exist_ok=True)
    lines = sbatch_lines(options)
    theirs = [" ".join(line) for line in lines]
    theirs_merge = [" ".join(line) for line in lines if not asks_for_gpu(line)]
    gres = ["--gres=gpu:1"] if gpu and not any(asks_for_gpu(line) for line in lines) else []
    logs = str(folder).replace("%", "%%")  # Slurm reads % in a file name as a pattern
    setup = ["set -eu", f"cd {shlex.quote(str(cwd))}", *(f"export {k}={shlex.quote(v)}" for k, v in exports.items())]
    grade = folder / GRADE_SCRIPT
    merge = folder / MERGE_SCRIPT
    grade.write_text(
        _script(
            [
                f"Grades shard I of {shards} of the class (I: the array task's index, SLURM_ARRAY_TASK_ID).",
                "Each result is written to the --out folder as it is done; a rerun keeps what is unchanged.",
                f"Rerun some tasks alone (here 1 and 3):  sbatch --array=1,3 {shlex.quote(str(grade))}",
                f"then merge again:                      sbatch {shlex.quote(str(merge))}",
            ],
            [
                f"--job-name=grader-{assignment}",
                f"--array=0-{shards - 1}",
                f"--cpus-per-task={cpus}",
                f'--output="{logs}/shard-%a-job%A.log"',
                *gres,
                *theirs,
            ],
            setup,
            f"{_shell(shard_command)} {_JOBS}",
        ),
        encoding="utf-8",
    )
    merge.write_text(
        _script(
            [
                "Builds grades.csv and summary.html from every shard's results, and lists the submissions",
                "that have none yet with their shards (exit status 3 then: rerun those tasks, merge again).",
            ],
            [
                f"--job-name=grader-{assignment}-merge",
                "--cpus-per-task=1",
                f'--output="{logs}/merge-job%j.log"',
                *theirs_merge,
            ],
            setup,
            _shell(merge_command),
        ),
        encoding="utf-8",
    )
    return Scripts(grade, merge)


def _script(comment: list[str], directives: list[str], setup: list[str], command: str) -> str:
    return "\n".join(
        [
            "#!/bin/bash",
            *(f"# {line}" for line in comment),
            *(f"#SBATCH {directive}" for directive in directives),
            *setup,
            f"exec {command}",
            "",
        ]
    )


def _shell(command: list[str]) -> str:
    return " ".join(shlex.quote(part) for part in command)


def submit(
    scripts: Scripts,
    env: Mapping[str, str],
    wait: bool = False,
    submitted: Callable[[Jobs], None] = lambda jobs: None,
) -> tuple[Jobs, int | None]:
    """Submit the array, then the merge after it; ``submitted`` is told both ids as soon as they are known.

    With ``wait``, returns once the merge has ended, with its exit status (sbatch --wait's: the job's own,
    1 for a job ended by a signal); else with None at once.
    """
    if shutil.which("sbatch", path=env.get("PATH")) is None:
        raise UsageError(
            "--slurm needs Slurm's sbatch, which is not on PATH here (run it on the cluster's login node)."
        )
    array = _job_id(_sbatch(["--parsable", str(scripts.grade)], env), "the array job")
    command = [
        "sbatch",
        "--parsable",
        f"--dependency=afterany:{array}",
        *(["--wait"] if wait else []),
        str(scripts.merge),
    ]
    # Its complaints go to a file, not a pipe: waiting for hours, sbatch must never block on a full one.
    with (
        tempfile.TemporaryFile("w+") as complaints,
        subprocess.Popen(
            command, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=complaints, text=True
        ) as process,
    ):
        assert process.stdout is not None
        # --parsable prints the id as soon as the job is queued; then --wait waits for it to end.
        first = process.stdout.readline()
        if not first.strip():
            returncode = process.wait()
            complaints.seek(0)
            _job_id(_Done(returncode, first, complaints.read()), "the merge job", array)
        jobs = Jobs(array, _job_id(_Done(0, first, ""), "the merge job", array))
        submitted(jobs)
        status = process.wait()
    return jobs, status if wait else None


@dataclass(frozen=True)
class _Done:
    returncode: int
    stdout: str
    stderr: str


def _sbatch(arguments: list[str], env: Mapping[str, str]) -> _Done:
    done = subprocess.run(
        ["sbatch", *arguments], env=dict(env), stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    return _Done(done.returncode, done.stdout, done.stderr)


def _job_id(done: _Done, what: str, array: str = "") -> str:
    """The id sbatch --parsable printed (``id`` or ``id;cluster``); a refusal is a usage error saying sbatch's why."""
    job = done.stdout.strip().split(";")[0]
    if done.returncode == 0 and job.isascii() and job.isdigit():
        return job
    why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
    cancel = f" (the array job {array} is queued: scancel {array})" if array else ""
    raise UsageError(f"sbatch refused {what}: {why}{cancel}")


def describe(jobs: Jobs, scripts: Scripts, shards: int) -> list[str]:
    """What a TA reads after submitting: the jobs, how to watch them, where the logs are, how to rerun."""
    grade, merge, logs = (shlex.quote(str(path)) for path in (scripts.grade, scripts.merge, scripts.grade.parent))
    return [
        f"Submitted array job {jobs.array} ({shards} tasks: {grade}) and merge job {jobs.merge} ({merge}), which "
        "runs once every task has ended.",
        f"Watch: squeue -j {jobs.array},{jobs.merge}   Logs in {logs}: shard-<I>-job{jobs.array}.log, "
        f"merge-job{jobs.merge}.log",
        f"Rerun task I alone: sbatch --array=I {grade}; then merge again: sbatch {merge}",
    ]


def rerun_hint(out: Path, shards: list[int]) -> str:
    """The sbatch commands that rerun ``shards`` of the array written into ``out`` and merge, or "" without one."""
    grade, merge = out / FOLDER / GRADE_SCRIPT, out / FOLDER / MERGE_SCRIPT
    if not grade.is_file() or not shards:
        return ""
    return (
        f"sbatch --array={','.join(map(str, shards))} {shlex.quote(str(grade))}, then sbatch {shlex.quote(str(merge))}"
    )
