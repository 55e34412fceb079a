"""Grading a whole class folder, or a shard of it, and merging the shards' results.

``python -m grader hw1 --batch DIR --out OUT --jobs N``: every child folder and every ``.zip`` of DIR is
a submission. Grading processes are forked from this process before any torch op (each starts its own
zygote), so torch is imported once for the whole batch. Each finished submission is written at once
and atomically (``OUT/<name>.json``); a re-run skips submissions whose files and grader are unchanged,
so an interrupted batch resumes where it stopped. After every run ``OUT/grades.csv`` and
``OUT/summary.html`` are rebuilt from the results of all the batch's submissions, those kept from
earlier runs included.

With ``--shard I/N`` only shard I's submissions are graded (:mod:`grader.batch.sharding`), and the
class's files are left to :func:`merge`, which builds them from every shard's results once all are done
and says which submissions have no current result yet, and in which shard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from grader.assignments import Assignment
from grader.batch.fingerprints import fingerprint, grader_key
from grader.batch.intake import Submission, find_submissions
from grader.batch.merge import publish
from grader.batch.outcome import Outcome, Status
from grader.batch.pool import StopSignals, grade_all, open_pool
from grader.batch.progress import Progress
from grader.batch.sharding import Shard, assign
from grader.batch.store import ResultStore
from grader.errors import SubmissionError
from grader.sandbox import Limits


def run(
    assignment: Assignment,
    folder: Path,
    out: Path,
    jobs: int,
    limits: Limits,
    log: Callable[[str], None] = print,
    hidden: tuple[Path, ...] = (),
    terminal: TextIO | None = None,
    device: str = "cpu",
    shard: Shard | None = None,
    only: frozenset[str] | None = None,
) -> dict[str, Outcome]:
    """Grade every submission in ``folder`` (or ``shard``'s) into ``out``; returns their results, by name.

    With ``only``, just those submissions are graded, even when their results are current; the others'
    results are left as they are (and grades.csv and summary.html still list everyone).

    ``terminal``, a TTY, gets a progress bar. On Ctrl-C (KeyboardInterrupt, raised again) the grading
    processes stop, and grades.csv and summary.html are still written from every finished result. A shard
    writes only its submissions' results: the class's files are the merge's.
    """
    out.mkdir(parents=True, exist_ok=True)
    store = ResultStore(out, "" if shard is None else f"shard-{shard.index}-of-{shard.count}")
    # Before the class folder is read: nothing of the roster, the fingerprints or the hidden checks is in the
    # memory of the grading processes, and so of any worker forked from them (see open_pool).
    hide = (folder.resolve(), out.resolve())
    pool = open_pool(assignment, store, jobs, limits, hide, hidden, device, shared=shard is not None)
    names: list[str] = []
    submissions: list[Submission] = []
    interrupted = True
    try:
        submissions, notes = find_submissions(folder, exclude=out.resolve())
        names = [submission.name for submission in submissions]
        if shard is not None:
            mine = set(shard.select(names))
            submissions = [submission for submission in submissions if submission.name in mine]
        store.remove_partial()
        for note in notes:
            log(note)
        key = grader_key(assignment.name, limits, hidden, device)
        pending = []
        kept = 0
        for submission in submissions:
            if only is not None and submission.name not in only:
                kept += 1
                continue
            try:
                digest = fingerprint(submission.path, key, assignment)
            except SubmissionError as exc:  # nested too deep, unreadable: nothing of it can be graded
                store.write(submission.name, Outcome.failed(Status.INVALID, str(exc)))
                log(f"{submission.name}: invalid: {exc}")
                continue
            if only is None and store.kept(submission.name, digest) is not None:
                kept += 1
                continue
            pending.append((submission, digest))
        if kept:  # a resume of a large class: one line, not one per submission
            results = "result" if kept == 1 else "results"
            what = f"other {results} as they are (--only)" if only is not None else f"unchanged {results}"
            log(f"Kept {kept} {what}; grading {len(pending)}.")
        if pending:
            grade_all(pool, pending, store, limits, Progress(len(pending), jobs, log, terminal))
        interrupted = False
    finally:
        with StopSignals.cleaning():  # what every run ends with, Ctrl-C or not: not to be cut short
            pool.close(interrupted)
            store.remove_partial()
            if shard is None:
                outcomes = store.load_all(names, assignment.name)
                publish(store, assignment, names, outcomes, bool(hidden), log)
            else:
                outcomes = store.load_all([submission.name for submission in submissions], assignment.name)
                log(
                    f"Shard {shard}: {len(outcomes)} of its {len(submissions)} submissions (of {len(names)}) have a "
                    f"result in {out}; grades.csv and summary.html come from --merge, once every shard is done."
                )
    return outcomes


@dataclass(frozen=True)
class Merged:
    """What a merge found: the class, its current results, and the submissions a rerun would grade, with why."""

    names: list[str]
    outcomes: dict[str, Outcome]
    #: Submission name -> why it has no current result.
    missing: dict[str, str] = field(default_factory=dict)
    #: The shard of each submission (when the merge was told how many there are).
    shards: dict[str, Shard] = field(default_factory=dict)


def merge(
    assignment: Assignment,
    folder: Path,
    out: Path,
    limits: Limits,
    log: Callable[[str], None] = print,
    hidden: tuple[Path, ...] = (),
    device: str = "cpu",
    shards: int | None = None,
) -> Merged:
    """Build grades.csv and summary.html from the results in ``out`` of the submissions in ``folder``.

    A result is current when a rerun would keep it: graded from the submission's files as they are now,
    with the same grader, limits, device, key and hidden checks (so give the merge the shards' options);
    one that is not is left out of grades.csv and listed as missing. A result that says the grading process
    died is listed too (a rerun grades it again), and stays in grades.csv as a local batch leaves it.
    Nothing is graded: no student code runs, no grading process is started.
    """
    store = ResultStore(out, "merge")
    store.remove_partial()
    submissions, _ = find_submissions(folder, exclude=out.resolve())
    names = [submission.name for submission in submissions]
    key = grader_key(assignment.name, limits, hidden, device)
    outcomes: dict[str, Outcome] = {}
    missing: dict[str, str] = {}
    for submission in submissions:
        outcome = store.load(submission.name, assignment.name)
        if outcome is None:
            missing[submission.name] = "no result yet"
            continue
        if not outcome.status.kept:  # the grading process died: in grades.csv as a batch leaves it, and rerun
            outcomes[submission.name] = outcome
            missing[submission.name] = outcome.reason
            continue
        try:
            digest: str | None = fingerprint(submission.path, key, assignment)
        except SubmissionError:  # a shard writes such a submission's result without a key: it is current
            digest = None
        if digest is not None and store.key(submission.name) != digest:
            missing[submission.name] = "its result was graded from other files, options or grader than these"
            continue
        outcomes[submission.name] = outcome
    publish(store, assignment, names, outcomes, bool(hidden), log)
    owner = assign(names, shards) if shards else {}
    return Merged(names, outcomes, missing, {name: Shard(index, shards or 1) for name, index in owner.items()})
