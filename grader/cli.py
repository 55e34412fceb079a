"""``python -m grader``: the command line. Usage errors print one line and exit 2.

python -m grader ASSIGNMENT [SUBMISSION] [--format F] [--hidden DIR] ...   grade (or --batch [--only NAMES])
python -m grader ASSIGNMENT --batch CLASS --out OUT --shard I/N|--merge    a shard of a batch; their merge
python -m grader ASSIGNMENT --batch CLASS --out OUT --slurm N [-- OPTIONS]  the batch as a Slurm job array
python -m grader list                                                      the assignments, steps, points
python -m grader gradescope ASSIGNMENT OUT.zip [--hidden DIR]             build Gradescope's zip
python -m grader workflow ASSIGNMENT [OUT.yml] [--classroom] ...           the GitHub Actions workflow
python -m grader assign ASSIGNMENT [--check]                               stubs from the solution
python -m grader audit ASSIGNMENT [--out DIR] [--only GLOB] [--jobs N]      the checks against the corpus
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from grader import assignments, devices, grading_key, hidden, reporters
from grader.errors import ExitCode, GraderError, Interrupted, UsageError
from grader.results import GradeReport
from grader.sandbox import Limits, isolation, syscalls

__all__ = ["ExitCode", "fail", "main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m grader",
        description="Grade a submission of a course assignment.",
        epilog="Other commands: 'python -m grader list' shows the assignments, their steps and points; "
        "'python -m grader gradescope ASSIGNMENT OUT.zip' builds the Gradescope autograder; 'python -m grader "
        "workflow ASSIGNMENT' writes the GitHub Actions workflow; 'python -m grader assign ASSIGNMENT' writes "
        "the stubs from the solution; 'python -m grader audit ASSIGNMENT' grades the mutation corpus.",
    )
    parser.add_argument("assignment", help="assignment name, e.g. hw1")
    parser.add_argument("submission", nargs="?", help="submission folder (default: assignments/<name>)")
    parser.add_argument(
        "--format",
        choices=sorted(reporters.FORMATS),
        help="output format: text for a terminal, json, and what Gradescope, GitHub Classroom, JUnit readers and "
        "GitHub Actions read (default: github inside a GitHub Actions step, text elsewhere)",
    )
    parser.add_argument(
        "--upload",
        action="store_true",
        help="SUBMISSION is an upload (a folder or a .zip): grade the assignment's files where --batch would "
        "find them (at its root, under assignments/<name>/, in a single top folder or in one zip inside)",
    )
    parser.add_argument("--hidden", metavar="DIR", help="also run the hidden checks in DIR (for staff)")
    parser.add_argument("--traceback", action="store_true", help="show full tracebacks (for staff)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=Limits.call_seconds,
        help="seconds each call into student code may take (default %(default)s)",
    )
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=Limits.memory_mb,
        help="memory limit of the process running student code (default %(default)s)",
    )
    parser.add_argument(
        "--device",
        choices=devices.CHOICES,
        default="auto",
        help="where student code runs models and data (auto: cuda when a GPU is usable, else cpu)",
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the text report (default auto: on a terminal, unless the NO_COLOR variable is set)",
    )
    parser.add_argument("--batch", metavar="DIR", help="grade every child folder and .zip of DIR")
    parser.add_argument(
        "--out", metavar="OUT", help="with --batch: where it writes grades.csv and <submission>.json (not in DIR)"
    )
    parser.add_argument(
        "--only",
        metavar="NAME[,NAME...]",
        help="with --batch: regrade just these submissions (even when their results are current), leaving the "
        "others' results as they are; grades.csv and summary.html still list everyone",
    )
    parser.add_argument(
        "--submission-timeout",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds one submission of --batch may take in all (default: 120 + 16 x --timeout)",
    )
    parser.add_argument(
        "--isolation",
        choices=("auto", *isolation.level_names()),
        default="auto",
        help="how student code is isolated (default auto: the strongest this machine allows; see README)",
    )
    parser.add_argument(
        "--trust-submissions",
        action="store_true",
        help="run where student code cannot be isolated from this user's files, processes and network (--batch), "
        "or only as root (any run): for submissions you trust",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        help=f"grading processes for --batch (default: the cores this process may use, {devices.usable_cores()}; "
        "with --slurm, 1 per array task)",
    )
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="with --batch: grade only shard I (from 0) of N, leaving grades.csv and summary.html to --merge; "
        "auto: I (and N) from a Slurm array task or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, with --shards)",
    )
    parser.add_argument(
        "--shards",
        type=int,
        metavar="N",
        help="how many shards the batch is split into: for --shard auto where the environment does not say, and "
        "for --merge to name the shard of each submission without a result",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="with --batch: grade nothing; build grades.csv and summary.html from every shard's results in OUT and "
        "list the submissions without a current one (exit 3 then); give it the shards' options",
    )
    parser.add_argument(
        "--slurm",
        type=int,
        metavar="N",
        help="with --batch: write OUT/slurm/grade.sbatch (a job array of N shards) and merge.sbatch and submit them "
        "with sbatch; sbatch's own options (partition, time, ...) go after --",
    )
    parser.add_argument("--wait", action="store_true", help="with --slurm: wait for the merge, exit with its status")
    return parser


#: Environment variables this process set for itself, which jobs it submits must not inherit.
_PRIVATE_ENV: set[str] = set()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    # Other processes of this user (student code, where it runs as this user) may not read this process's
    # memory or /proc/PID/environ: a batch's parent holds the TA's environment as its grading processes do.
    with contextlib.suppress(OSError, AttributeError):
        syscalls.set_dumpable(False)
    # torch's compiler stack (imported with the first optimizer) makes a cache folder in TMPDIR: keep it
    # in a folder of ours that goes away with the run, so grading leaves nothing behind.
    with tempfile.TemporaryDirectory(prefix="grader-cache-") as cache:
        if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(cache, "torchinductor")
            _PRIVATE_ENV.add("TORCHINDUCTOR_CACHE_DIR")  # gone with this process: a Slurm job must make its own
        try:
            if not argv:
                raise UsageError(_no_arguments())
            if argv[0] in _COMMANDS:
                return _COMMANDS[argv[0]](argv[1:])
            # After --: sbatch's options, for --slurm (argparse would take them for positional arguments).
            ours, sbatch = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
            args = _parser().parse_args(ours)
            args.sbatch = sbatch
            return _run(args)
        except GraderError as exc:
            return fail(exc)


def fail(error: GraderError) -> int:
    """Show ``error`` the way its class shows itself and return its exit code: the one place errors become a status.

    Usage errors exit 2, a failed grading 3, a stopped batch 128 + the signal (see :mod:`grader.errors`).
    """
    with contextlib.suppress(OSError):  # a stream that is gone (a hung-up terminal) can be told nothing
        error.show()
    return error.exit_code


def _no_arguments() -> str:
    return (
        "no assignment given. Usage: python -m grader ASSIGNMENT [SUBMISSION] [options], ASSIGNMENT one of "
        f"{', '.join(assignments.names())} ('python -m grader list' shows their steps, --help every option)."
    )


def _run(args: argparse.Namespace) -> int:
    assignment = assignments.get(args.assignment)
    if args.timeout <= 0 or args.memory_mb <= 0 or (args.jobs is not None and args.jobs <= 0):
        raise UsageError("--timeout, --memory-mb and --jobs must be positive.")
    if args.submission_timeout < 0:
        raise UsageError("--submission-timeout must not be negative.")
    for option in ("out", "only"):
        if getattr(args, option) is not None and not args.batch:
            raise UsageError(f"--{option} goes with --batch CLASS; one submission's report goes to standard output.")
    _check_sharding(args)
    limits = Limits(call_seconds=args.timeout, memory_mb=args.memory_mb, submission_seconds=args.submission_timeout)
    if args.isolation != "auto":
        isolation.force(args.isolation)
    args.device = _device(args)
    grading_key.check()
    if args.batch:
        return _run_batch(args, assignment, limits)
    args.format = args.format or reporters.default_format()
    submission = _submission(args, assignment)
    chosen = isolation.choose()
    if chosen.runs_as_root and not args.trust_submissions:
        raise UsageError(
            f"student code would run as root with every capability here ({chosen.reason}). Run it where namespaces "
            "or a user of its own can be had, or pass --trust-submissions if you trust this submission."
        )
    folders = (hidden.folder(args.hidden),) if args.hidden else ()
    announced = hidden.manifest(assignment)
    try:
        # Only where a student watches the text report: a line drawn in other formats' logs would stay there.
        progress = args.format == "text" and sys.stderr.isatty()
        report = _grade(assignment, limits, submission, args.traceback, folders, args.device, args.upload, progress)
    except Exception as exc:  # whatever broke, Gradescope, Classroom and CI still need a document to read
        if not reporters.emit_error(args.format, assignment.name, f"{type(exc).__name__}: {exc}"):
            raise
        raise GraderError(f"grading failed: {type(exc).__name__}: {exc}") from exc
    if folders:
        if warning := hidden.mismatch(announced, report):
            print(f"Warning: {warning}", file=sys.stderr)
    else:
        report.hidden_pending = announced.count
    # https://no-color.org: a NO_COLOR that is set and not empty turns colour off; --color always still wins.
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    # The terminal view wraps at the terminal's width (COLUMNS, else the terminal's own; 100 off a terminal).
    width = max(shutil.get_terminal_size((100, 24)).columns, 40) if args.format == "text" else None
    reporters.emit(args.format, report, color=color, width=width)
    return ExitCode.ALL_PASSED if report.all_passed else ExitCode.SOME_FAILED


def _submission(args: argparse.Namespace, assignment: assignments.Assignment) -> Path:
    """The folder to grade: the one given; else the current folder when it holds the assignment's files; else the
    assignment's default folder in the repository around the current folder (found from anywhere inside it)."""
    if args.submission:
        given = Path(args.submission)
        if given.is_dir() or (args.upload and given.is_file()):
            return given
        if given.is_file():
            example = f"python -m grader {assignment.name} {given.parent}"
            raise UsageError(f"'{given}' is a file: give the folder that holds it, e.g. {example}")
        raise UsageError(f"submission folder '{given}' does not exist.")
    here = Path.cwd()
    if _holds_files_of(here, assignment) and not _default_of_another(here, assignment):
        return here
    for folder in (here, *here.parents):
        if (folder / assignment.default_submission).is_dir():
            return Path(os.path.relpath(folder / assignment.default_submission))
    files = ", ".join(f"{module}.py" for module in assignment.modules)
    raise UsageError(
        f"no submission given, and the current folder ({here}) holds no {assignment.name} files ({files}) nor is "
        f"it inside a repository with {assignment.default_submission}: name the folder to grade."
    )


def _holds_files_of(folder: Path, assignment: assignments.Assignment) -> bool:
    """Whether ``folder`` holds any of the assignment's modules (in any case: a misnamed one is told, not missed)."""
    wanted = {f"{module}.py" for module in assignment.modules}
    with contextlib.suppress(OSError):
        return any(entry.name.lower() in wanted for entry in folder.iterdir())
    return False


def _default_of_another(folder: Path, assignment: assignments.Assignment) -> bool:
    """Whether ``folder`` is another assignment's default folder (hw2's files have hw1's module names)."""
    others = (assignments.get(name) for name in assignments.names() if name != assignment.name)
    return any(folder.match(other.default_submission) for other in others)


def _grade(
    assignment: assignments.Assignment,
    limits: Limits,
    submission: Path,
    tracebacks: bool,
    folders: tuple[Path, ...],
    device: str,
    upload: bool = False,
    progress: bool = False,
) -> GradeReport:
    from grader.runner import Grader

    grader = Grader(assignment, limits, hide=folders, device=device)
    try:
        if not upload:
            return grader.grade(submission, show_tracebacks=tracebacks, hidden=folders, progress=progress)
        from grader import gradescope

        with gradescope.located(assignment, submission) as folder:
            return grader.grade(folder, show_tracebacks=tracebacks, hidden=folders, progress=progress)
    finally:
        grader.close()


def _check_sharding(args: argparse.Namespace) -> None:
    """The options of a split batch: each with --batch, and only in combinations that mean something."""
    if args.sbatch and not args.slurm:
        raise UsageError("options after -- are sbatch's: they go with --batch CLASS --out OUT --slurm N.")
    given = [name for name in ("shard", "shards", "slurm") if getattr(args, name) is not None]
    given += [name for name in ("merge", "wait") if getattr(args, name)]
    if given and not args.batch:
        raise UsageError(f"--{given[0]} goes with --batch CLASS --out OUT.")
    if sum(bool(option) for option in (args.shard, args.merge, args.slurm)) > 1:
        raise UsageError("--shard grades one shard, --merge merges them and --slurm submits both: give one.")
    for name in ("shards", "slurm"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UsageError(f"--{name} must be positive.")
    if args.shards is not None and args.shard != "auto" and not args.merge:
        raise UsageError("--shards N goes with --shard auto or --merge (--shard I/N and --slurm N say N).")
    if args.wait and not args.slurm:
        raise UsageError("--wait goes with --slurm N.")
    if args.sbatch:
        from grader.batch import slurm

        slurm.sbatch_lines(args.sbatch)


def _device(args: argparse.Namespace) -> str:
    """``--device``, resolved where grading runs here: an array's tasks and a merge run elsewhere, or grade nothing."""
    if args.slurm:
        # Decided once for every task (auto could pick differently on different nodes): a GPU if one is asked for.
        from grader.batch import slurm

        if args.device != "auto":
            return args.device
        return "cuda" if any(slurm.asks_for_gpu(line) for line in slurm.sbatch_lines(args.sbatch)) else "cpu"
    if args.merge and args.device != "auto":
        return args.device  # the shards' device, recorded in their fingerprints: a merge node needs no GPU
    return devices.resolve(args.device)


def _run_batch(args: argparse.Namespace, assignment: assignments.Assignment, limits: Limits) -> int:
    from grader.batch import run as batch
    from grader.batch.outcome import Status
    from grader.batch.sharding import Shard

    folder = Path(args.batch)
    if not folder.is_dir():
        raise UsageError(f"batch folder '{folder}' does not exist.")
    if not args.out:
        raise UsageError("--batch needs --out OUT, the folder for grades.csv and the per-submission results.")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out '{args.out}' is not a folder.")
    folders = (hidden.folder(args.hidden),) if args.hidden else ()
    _check_out(out, folder)
    if args.only is not None and (args.slurm or args.merge):
        raise UsageError("--only regrades on this machine: it goes with --batch CLASS --out OUT (or --shard), alone.")
    if args.slurm:
        return _submit_slurm(args, assignment, limits, folders)
    if args.merge:
        return _merge(args, assignment, limits, folders)
    only = _only(args.only, folder, out) if args.only is not None else None
    shard = None
    if args.shard:
        shard = Shard.from_environment(args.shards) if args.shard == "auto" else Shard.parse(args.shard)
    chosen = isolation.choose()
    if not chosen.contained and not args.trust_submissions:
        raise UsageError(
            f"--batch runs other people's code, and here it could not be isolated ({chosen.reason}): it would "
            "run as you, read your files and reach the network. Run as root (a container or VM), or where "
            "unprivileged user namespaces are allowed; or pass --trust-submissions if you trust every one."
        )
    _say(chosen.describe()[0].upper() + chosen.describe()[1:] + ".")
    terminal = sys.stderr if sys.stderr.isatty() else None
    from grader.batch.pool import StopSignals

    StopSignals.install()
    try:
        outcomes = batch.run(
            assignment,
            folder,
            out,
            args.jobs or devices.usable_cores(),
            limits,
            log=_say,
            hidden=folders,
            terminal=terminal,
            device=args.device,
            shard=shard,
            only=only,
        )
    except KeyboardInterrupt:
        message = "Interrupted: every finished result is kept; run the same command again to grade the rest."
        raise Interrupted(message, *StopSignals.received[:1]) from None
    except OSError as exc:  # the machine's, not a submission's: a full disk, a grading process that cannot start
        raise GraderError(f"the batch stopped: {exc}. Every finished result is kept.") from exc
    # A submission's own failures (invalid, timeout, ...) are grades; a grading process that died is ours.
    if any(outcome.status is Status.ERROR for outcome in outcomes.values()):
        return ExitCode.INTERNAL_ERROR
    return ExitCode.ALL_PASSED


def _check_out(out: Path, folder: Path) -> None:
    """``--out`` must be outside the class folder (its files would be taken for submissions) and writable."""
    where, inside = out.resolve(), folder.resolve()
    if where == inside or inside in where.parents:
        beside = inside.parent / f"{inside.name}-results"
        raise UsageError(f"--out '{out}' is inside the class folder '{folder}': put it beside, e.g. --out {beside}")
    existing = next(parent for parent in (where, *where.parents) if parent.exists())
    if not existing.is_dir():
        raise UsageError(f"--out '{out}' cannot be made: '{existing}' is a file.")
    try:  # the one test that holds for root, read-only mounts and /proc alike: make a file there
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise UsageError(f"--out '{out}' cannot be written: {exc.strerror or exc} in '{existing}'.") from exc


def _only(option: str, folder: Path, out: Path) -> frozenset[str]:
    """The submissions ``--only NAME[,NAME...]`` names; a UsageError names any the class does not have."""
    from grader.batch.intake import find_submissions

    known = [submission.name for submission in find_submissions(folder, exclude=out.resolve())[0]]
    # A name as written first (a submission may be named " alice" or "alice,bob"), then without the spaces
    # typed around commas: never another student's for a name the class has.
    pieces = [option] if option in known else option.split(",")
    wanted = [piece if piece in known else piece.strip() for piece in pieces if piece.strip()]
    if not wanted:
        raise UsageError("--only needs the names of submissions, separated by commas.")
    for name in wanted:
        if name not in known:
            close = sorted(difflib.get_close_matches(name, known, n=3))
            hint = f" Did you mean {' or '.join(repr(match) for match in close)}?" if close else ""
            raise UsageError(f"--only: '{folder}' has no submission '{name}'.{hint}")
    return frozenset(wanted)


def _merge(
    args: argparse.Namespace, assignment: assignments.Assignment, limits: Limits, folders: tuple[Path, ...]
) -> int:
    from grader.batch import run as batch
    from grader.batch import slurm

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    merged = batch.merge(assignment, Path(args.batch), out, limits, _say, folders, args.device, args.shards)
    if not merged.missing:
        return ExitCode.ALL_PASSED
    _say(f"{len(merged.missing)} of {len(merged.names)} submissions have no current result:")
    for name, why in merged.missing.items():
        where = f" (shard {merged.shards[name]})" if merged.shards else ""
        _say(f"  {name}: {why}{where}")
    if not merged.shards:
        _say("Rerun the batch or its shards (--merge --shards N names each one's), then merge again.")
        return ExitCode.INTERNAL_ERROR
    indexes = sorted({merged.shards[name].index for name in merged.missing})
    shards = ", ".join(f"--shard {index}/{args.shards}" for index in indexes)
    with_slurm = slurm.rerun_hint(out.resolve(), indexes)
    _say(f"Rerun {shards}{f' (with Slurm: {with_slurm})' if with_slurm else ''}, then merge again.")
    return ExitCode.INTERNAL_ERROR


def _submit_slurm(
    args: argparse.Namespace, assignment: assignments.Assignment, limits: Limits, folders: tuple[Path, ...]
) -> int:
    from grader.batch import slurm

    out = Path(args.out).resolve()
    command = [sys.executable, "-m", "grader", assignment.name, "--batch", str(Path(args.batch).resolve())]
    command += ["--out", str(out), "--timeout", f"{limits.call_seconds:g}", "--memory-mb", str(limits.memory_mb)]
    if args.submission_timeout:
        command += ["--submission-timeout", f"{args.submission_timeout:g}"]
    command += ["--device", args.device]
    if args.isolation != "auto":
        command += ["--isolation", args.isolation]
    if args.trust_submissions:
        command += ["--trust-submissions"]
    if folders:
        command += ["--hidden", str(folders[0].resolve())]
    key = grading_key.key_file()
    scripts = slurm.write_scripts(
        out / slurm.FOLDER,
        assignment.name,
        args.slurm,
        [*command, "--shard", "auto", "--shards", str(args.slurm)],
        [*command, "--merge", "--shards", str(args.slurm)],
        Path.cwd(),
        {grading_key.ENV: str(key)} if key else {},
        args.jobs or 1,
        args.sbatch,
        args.device == "cuda",
    )

    def submitted(jobs: slurm.Jobs) -> None:
        for line in slurm.describe(jobs, scripts, args.slurm):
            _say(line)
        if args.wait:
            _say(f"Waiting for merge job {jobs.merge} to end (Ctrl-C stops waiting, not the jobs).")

    environment = {name: value for name, value in os.environ.items() if name not in _PRIVATE_ENV}
    try:
        jobs, status = slurm.submit(scripts, environment, args.wait, submitted)
    except KeyboardInterrupt:
        raise Interrupted("Stopped waiting; the jobs go on (squeue shows them).") from None
    if status is None:
        return ExitCode.ALL_PASSED
    _say(f"Merge job {jobs.merge} ended with exit status {status}.")
    return status


def _say(line: str, stream: str = "stdout") -> None:
    """Print a batch's line; once its stream is gone (a hung-up terminal, a closed pipe), go on without it."""
    try:
        print(line, file=getattr(sys, stream), flush=True)
    except OSError:
        setattr(sys, stream, open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the process)


def _gradescope(argv: list[str]) -> int:
    parser = _Parser(prog="python -m grader gradescope", description="Build the Gradescope autograder zip.")
    parser.add_argument("assignment", help="assignment name, e.g. hw1")
    parser.add_argument("out", metavar="OUT.zip", help="where to write the zip")
    parser.add_argument("--hidden", metavar="DIR", help="hidden checks to bundle and run on Gradescope")
    args = parser.parse_args(argv)
    from grader import gradescope

    assignment = assignments.get(args.assignment)
    folder = hidden.folder(args.hidden) if args.hidden else None
    names = gradescope.build_zip(assignment, Path(args.out), folder)
    extra = f", {sum(n.startswith('hidden/') for n in names)} hidden-check files" if folder else ""
    print(f"Wrote {args.out}: setup.sh, run_autograder and the grader package{extra}.")
    return ExitCode.ALL_PASSED


def _assign(argv: list[str]) -> int:
    parser = _Parser(
        prog="python -m grader assign", description="Write assignments/ASSIGNMENT/*.py from solutions/ASSIGNMENT/*.py."
    )
    parser.add_argument("assignment", help="assignment name, e.g. hw1")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 with a diff if the stubs drift")
    args = parser.parse_args(argv)
    from grader import assign

    stubs = assign.build(assignments.get(args.assignment))
    if not args.check:
        assign.write(stubs)
        print(f"Wrote {', '.join(str(stub.path) for stub in stubs)}.")
        return ExitCode.ALL_PASSED
    if diff := assign.drift(stubs):
        print(diff, end="")
        print(
            f"Error: the stubs differ from the solution; run 'python -m grader assign {args.assignment}'.",
            file=sys.stderr,
        )
        return ExitCode.SOME_FAILED
    return ExitCode.ALL_PASSED


def _list(argv: list[str]) -> int:
    _Parser(prog="python -m grader list", description="Show the assignments, their steps and points.").parse_args(argv)
    from grader import plugin

    for assignment in assignments.every():
        checks = [info for _, _, info in plugin.collect(assignment.checks_dir)]
        total = sum(info.points for info in checks)
        print(f"{assignment.name}: {assignment.title} ({total:g} points, {_checks(checks)})")
        for step in assignment.steps:
            own = [info for info in checks if info.step == step.key]
            points = f"{sum(info.points for info in own):g} points, {_checks(own)}"
            print(f"  {step.number}. {step.title:<22}{step.key:<12}{points}")
        keys = {step.key for step in assignment.steps}
        for key in sorted({info.step for info in checks} - keys):
            stray = [info for info in checks if info.step == key]
            undeclared = f"{_checks(stray)} in step '{key}', which its manifest does not declare"
            print(f"Warning: {assignment.name} has {undeclared}.", file=sys.stderr)
        announced = hidden.manifest(assignment)
        if announced.count:
            print(f"  and {announced.count} hidden checks worth {announced.points:g} points, run by the staff")
    return ExitCode.ALL_PASSED


def _checks(infos: list[Any]) -> str:
    return f"{len(infos)} check" + ("" if len(infos) == 1 else "s")


def _workflow(argv: list[str]) -> int:
    from grader import ci

    parser = _Parser(
        prog="python -m grader workflow", description="Write the GitHub Actions workflow that grades an assignment."
    )
    parser.add_argument("assignment", help="assignment name, e.g. hw1")
    parser.add_argument("out", nargs="?", metavar="OUT.yml", help="where to write it (default: standard output)")
    parser.add_argument(
        "--package", default=ci.WHEEL, help="what pip installs as the grader: a wheel's path or URL, or a requirement"
    )
    parser.add_argument("--index-url", default="", help="the package index that has --package (besides PyPI)")
    parser.add_argument(
        "--classroom", action="store_true", help="add GitHub Classroom's reporter step (for Classroom courses)"
    )
    args = parser.parse_args(argv)
    workflow = ci.workflow(assignments.get(args.assignment), args.package, args.index_url, args.classroom)
    if args.out is None:
        print(workflow, end="")
        return ExitCode.ALL_PASSED
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(workflow, encoding="utf-8")
    print(f"Wrote {args.out}: commit it as .github/workflows/grade.yml in the template repository.")
    return ExitCode.ALL_PASSED


def _audit(argv: list[str]) -> int:
    parser = _Parser(
        prog="python -m grader audit",
        description="Grade the assignment's mutation corpus in one batch: every correct rewrite must get full "
        "marks, every bug must lose points in its own step. Exit 1 on any wrong verdict.",
    )
    parser.add_argument("assignment", help="assignment name, e.g. hw1")
    parser.add_argument(
        "--out", metavar="DIR", help="keep the graded class, the results and audit.json here (a re-run reuses them)"
    )
    parser.add_argument("--only", metavar="GLOB", default="*", help="audit only the variants whose name matches")
    parser.add_argument("--jobs", type=int, default=devices.usable_cores(), help="grading processes (%(default)s)")
    parser.add_argument("--timeout", type=float, default=Limits.call_seconds, help="seconds per call into student code")
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb, help="memory limit of a worker")
    parser.add_argument("--device", choices=devices.CHOICES, default="auto", help="where student code runs")
    args = parser.parse_args(argv)
    if args.timeout <= 0 or args.memory_mb <= 0 or args.jobs <= 0:
        raise UsageError("--timeout, --memory-mb and --jobs must be positive.")
    from grader import audit

    assignment = assignments.get(args.assignment)
    audit.load_corpus(assignment)  # a corpus that does not apply is a usage error before anything is graded
    limits = Limits(call_seconds=args.timeout, memory_mb=args.memory_mb)
    device = devices.resolve(args.device)
    with tempfile.TemporaryDirectory(prefix="grader-audit-") as scratch:
        workdir = Path(args.out) if args.out else Path(scratch)
        report = audit.run(assignment, workdir, args.jobs, limits, args.only, device, log=_say)
        print(audit.render(report))
    return ExitCode.ALL_PASSED if report.ok else ExitCode.SOME_FAILED


_COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "audit": _audit,
    "gradescope": _gradescope,
    "assign": _assign,
    "list": _list,
    "workflow": _workflow,
}
