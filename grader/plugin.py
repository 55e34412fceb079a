"""The pytest plugin that turns check outcomes into :class:`CheckResult` objects.

It provides the fixtures checks use (``student``, ``scratch``, ``source``), runs
hypothesis with a fixed, derandomized profile (the same submission always
gets the same score), and writes each check's student-facing message.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.internal.reflection import function_digest

from grader.assignments import Step
from grader.checks import CheckFailure, CheckInfo, new_folder
from grader.errors import GraderError, ImportFailure, StudentError, SubmissionError
from grader.progress import Indicator
from grader.results import CheckResult
from grader.sandbox import Hangs, Sandbox, Session

settings.register_profile(
    "grader",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=25,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
    # No "explain" phase: it re-runs failing examples many times and formats each traceback, which
    # costs minutes with calls into a worker; the shrunk example is what a student needs.
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
    report_multiple_bugs=False,
)


#: Environment variables through which pytest would take arguments or plugins from whoever runs the grader:
#: ``PYTEST_ADDOPTS="-k titanic"`` in a TA's shell would grade 4 checks of 37 (and score 12/12), ``-x`` would
#: stop at the first failure, ``--hypothesis-seed`` would change the examples. Grading ignores them.
_PYTEST_ENVIRONMENT = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")
# Plugins grading does not use; unraisableexception alone costs ~0.7 s of gc.collect() per run.
_UNNEEDED_PLUGINS = (
    "cacheprovider",
    "randomly",
    "unraisableexception",
    "threadexception",
    "faulthandler",
    "junitxml",
    "pastebin",
    "doctest",
    "stepwise",
    "legacypath",
    "setuponly",
    "setupplan",
)


#: The pytest configuration of every assignment's checks (the marker, which files are checks).
_CONFIG = Path(__file__).parent / "checks" / "checks.ini"


@contextlib.contextmanager
def _hypothesis_storage(parent: Path | None = None) -> Iterator[None]:
    """Give hypothesis a storage folder of its own (in ``parent`` when given) for the duration, removed afterwards.

    Whatever the example database says, hypothesis keeps caches in ``.hypothesis/`` of the current folder (the
    constants it collects from modules outside site-packages, so from an editable install's checks; Unicode
    tables): a student's run would leave that folder in the zip they upload. During a run its storage is a
    temporary folder, so that nothing earlier runs left behind shapes the examples either; afterwards
    hypothesis finds its storage as it would have (the grader runs no hypothesis outside these runs). A grader
    passes its workspace as ``parent``: what a grading process killed mid-run leaves is removed with it.
    """
    with tempfile.TemporaryDirectory(prefix="grader-hypothesis-", dir=parent) as home:
        set_hypothesis_home_dir(home)
        try:
            yield
        finally:
            set_hypothesis_home_dir(None)


def run_pytest(
    checks_dir: Path, collector: Collector, extra: tuple[Path, ...] = (), storage: Path | None = None
) -> int:
    """Run the checks in ``checks_dir`` and the ``extra`` check folders with ``collector`` as the result sink.

    ``storage``: the folder hypothesis's own files go in for the run (a temporary folder when None).
    """
    settings.load_profile("grader")
    with _without_environment(_PYTEST_ENVIRONMENT), _hypothesis_storage(storage):
        code = pytest.main(_arguments(checks_dir, extra), plugins=[collector])
    if collector.broken:
        raise GraderError(f"the checks could not be loaded: {collector.broken[0]}")
    return int(code)


def collect(checks_dir: Path) -> list[tuple[str, str, CheckInfo]]:
    """Each check of ``checks_dir`` as (name, title, declared data), without running any: what ``list`` shows."""
    listing = _Listing()
    with _without_environment(_PYTEST_ENVIRONMENT), _hypothesis_storage(), contextlib.redirect_stdout(io.StringIO()):
        pytest.main([*_arguments(checks_dir, ()), "--collect-only"], plugins=[listing])
    if listing.broken:
        raise GraderError(f"the checks could not be loaded: {listing.broken[0]}")
    return listing.checks


class _Listing:
    """The checks found by a collection, and the modules that failed to import."""

    def __init__(self) -> None:
        self.checks: list[tuple[str, str, CheckInfo]] = []
        self.broken: list[str] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.broken.append(f"{report.nodeid}: {report.longreprtext.strip().splitlines()[-1]}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("grader_check")
            if marker is not None:
                self.checks.append((item.name, _title(item), marker.args[0]))


def _arguments(checks_dir: Path, extra: tuple[Path, ...]) -> list[str]:
    args = [
        str(checks_dir),
        *map(str, extra),
        "-q",
        "--tb=native",
        "--assert=plain",
        "--rootdir",
        str(checks_dir),
        "-c",
        str(_CONFIG),
        "--import-mode=importlib",
        "-W",
        "ignore",
    ]
    # Only the plugins named here: pytest would load every installed one (pytest-benchmark runs git five
    # times per session, pytest-randomly reorders and reseeds, pytest-xdist and pytest-timeout change how
    # checks run). Hypothesis's own plugin stays, named by its module.
    args += ["--disable-plugin-autoload", "-p", "_hypothesis_pytestplugin"]
    for name in _UNNEEDED_PLUGINS:
        args += ["-p", f"no:{name}"]
    return args


@contextlib.contextmanager
def _without_environment(names: tuple[str, ...]) -> Iterator[None]:
    """Hide the environment variables ``names`` for the duration (pytest reads them when a session starts)."""
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


class Collector:
    """Fixtures for checks and the sink of their outcomes."""

    def __init__(
        self,
        sandbox: Sandbox,
        root: Path,
        source: Path,
        home: Path,
        scratch: Path,
        show_tracebacks: bool = False,
        hidden: tuple[Path, ...] = (),
        device: str = "cpu",
        steps: tuple[Step, ...] = (),
        progress: TextIO | None = None,
    ) -> None:
        """``progress``: the terminal on which a long call shows that it is running (:mod:`grader.progress`)."""
        self._sandbox = sandbox
        self._progress = progress
        #: The assignment's steps, in the lecture's order: every check declares one of them.
        self._steps = {step.key: step for step in steps}
        self._device = device
        self._root = root
        self._source = source
        self._home = home
        self._scratch = scratch
        self._show_tracebacks = show_tracebacks
        #: Folders of hidden checks: every check found in one is hidden, whatever its marker says.
        self._hidden = hidden
        self._sessions: dict[str, Session] = {}
        #: The worker session the checks of one step share, until a fatal error ends it.
        self._shared: Session | None = None
        self._shared_step: str | None = None
        #: The step of the last check to run (set once the checks are collected and ordered).
        self._last_step: str | None = None
        self._hangs = Hangs()
        self._failures: dict[str, BaseException] = {}
        self._durations: dict[str, float] = {}
        self.results: list[CheckResult] = []
        #: Check modules that failed to import (a grader bug, never the student's fault).
        self.broken: list[str] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.broken.append(f"{report.nodeid}: {report.longreprtext.strip().splitlines()[-1]}")

    @pytest.fixture
    def student(self, request: pytest.FixtureRequest) -> Any:
        """A worker serving the student's submission, shared by the checks of one step.

        One worker per step of the assignment (hw1: data, model, train, evaluate, end to end): a step's checks call the
        student's code one after another, as one program would, but what one step's module does to the
        process (a global setting changed at import) cannot cost points in another step. Each check still
        starts from the same random state (see Session.begin_check). A check whose call timed out,
        crashed or ran out of memory leaves its worker to no one: the next check gets a fresh one.
        """
        marker = request.node.get_closest_marker("grader_check")
        step = marker.args[0].step if marker is not None else None
        session = self._shared
        if session is not None and (session.fatal is not None or self._shared_step != step):
            session.close()
            session = None
        if session is None:
            # Steps the manifest marks early (data checks neither train nor score) need none of the slow
            # deferred imports: a worker without them serves them.
            early = step in self._steps and self._steps[step].early
            # After the last step's worker, no other is needed: the zygote need not fork one ahead.
            ahead = step != self._last_step
            session = Session(
                self._sandbox,
                self._root,
                self._home,
                read=(self._scratch,),
                hangs=self._hangs,
                early=early,
                ahead=ahead,
            )
            self._shared, self._shared_step = session, step
        session.begin_check()
        session.watcher = Indicator(self._progress, _title(request.node)) if self._progress is not None else None
        self._sessions[request.node.nodeid] = session
        yield session
        if session.fatal is not None:
            self._shared = None
            session.close()

    def close(self) -> None:
        """End the worker still shared (after the last check)."""
        if self._shared is not None:
            self._shared.close()
            self._shared = None

    @pytest.fixture
    def scratch(self) -> Path:
        """A new folder the check writes inputs into; the worker can read it."""
        return new_folder(self._scratch, "check_")

    @pytest.fixture
    def device(self) -> str:
        """Where checks put models and data in the worker: ``cpu`` or ``cuda`` (``--device``)."""
        return self._device

    @pytest.fixture
    def source(self) -> Path:
        """A pristine copy of the submission the worker never touches (for reading source code)."""
        return self._source

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Run checks in the order of the assignment's steps, whatever the file names.

        A check whose step is not one of the manifest's is a grader bug: the checks are not graded at all.
        """
        for item in items:
            marker = item.get_closest_marker("grader_check")
            if marker is not None and marker.args[0].step not in self._steps:
                known = ", ".join(self._steps)
                self.broken.append(f"{item.nodeid}: step '{marker.args[0].step}' is not one of the steps ({known})")
        if self.broken:
            items.clear()  # nothing is graded: run_pytest reports the first problem
            return

        def position(item: pytest.Item) -> int:
            marker = item.get_closest_marker("grader_check")
            step = self._steps.get(marker.args[0].step) if marker is not None else None
            return step.number if step is not None else 0

        items.sort(key=position)
        steps = [item.get_closest_marker("grader_check") for item in items]
        self._last_step = next((marker.args[0].step for marker in reversed(steps) if marker is not None), None)
        for item in items:
            _pin_seed(getattr(item, "obj", None))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report = outcome.get_result()
        nodeid = item.nodeid
        self._durations[nodeid] = self._durations.get(nodeid, 0.0) + report.duration
        if call.excinfo is not None and nodeid not in self._failures and not report.skipped:
            self._failures[nodeid] = call.excinfo.value
        if call.when == "teardown":
            self._finish(item)

    def _finish(self, item: pytest.Item) -> None:
        marker = item.get_closest_marker("grader_check")
        if marker is None:
            return
        info: CheckInfo = marker.args[0]
        nodeid = item.nodeid
        session = self._sessions.pop(nodeid, None)
        error = self._failures.pop(nodeid, None)
        doc = _title(item)
        message = trace = kind = file = ""
        line = 0
        if error is not None:
            file, line = _location(error, session)
            kind = _error_kind(error, session)
            message = _student_message(error, session)
            if not message.endswith("."):
                message += "."
            message += f" Reread: {info.slide}."
            trace = _staff_traceback(error, (_CHECKS, *self._hidden)) if self._show_tracebacks else ""
        self.results.append(
            CheckResult(
                name=item.name,
                title=doc,
                step=str(info.step),
                slide=info.slide,
                max_score=info.points,
                passed=error is None,
                message=message,
                # What the student's code printed helps only where a check failed; it decides nothing.
                output=session.output if session and error is not None else "",
                traceback=trace,
                hidden=info.hidden or any(item.path.is_relative_to(folder) for folder in self._hidden),
                duration=round(self._durations.pop(nodeid, 0.0), 3),
                error=kind,
                file=file,
                line=line,
            )
        )


#: Where the checks and their helpers live: the frames ``--traceback`` keeps of this process (and the hidden ones).
_CHECKS = Path(__file__).parent / "checks"


def _staff_traceback(error: BaseException, checks: tuple[Path, ...]) -> str:
    """``--traceback``'s view of a failed check: the check's frames and the student's, not pytest's or pluggy's.

    Of this process's frames only those in the ``checks`` folders are kept (pytest, pluggy, hypothesis and the
    sandbox client are the same for every failure); what student code raised comes from the worker with the
    student's own frames (StudentError.traceback), shown after the exception that carries it.
    """
    summary = traceback.TracebackException.from_exception(error)
    pending: list[tuple[traceback.TracebackException | None, BaseException | None]] = [(summary, error)]
    students: list[str] = []
    seen: set[int] = set()
    while pending:
        current, raised = pending.pop()
        if current is None or raised is None or id(current) in seen:
            continue
        seen.add(id(current))
        kept = [frame for frame in current.stack if any(Path(frame.filename).is_relative_to(f) for f in checks)]
        current.stack = traceback.StackSummary.from_list(kept)
        if isinstance(raised, StudentError) and raised.traceback:
            students.append(raised.traceback)
        pending.append((current.__cause__, raised.__cause__))
        pending.append((current.__context__, raised.__context__))
        pending += zip(current.exceptions or (), getattr(raised, "exceptions", ()), strict=False)
    text = "".join(summary.format())
    for trace in students:
        text += "Raised in the submission (the worker's frames):\n" + trace
    return text


def _title(item: pytest.Item) -> str:
    """A check's title: the first line of its docstring (its name when it has none)."""
    return (getattr(item, "function", None).__doc__ or item.name).strip().splitlines()[0]


def _pin_seed(test: Any) -> None:
    """Give a hypothesis check the seed ``derandomize`` would, computed once per process instead of per run.

    derandomize seeds each run from a digest of the check's source (inspect and tokenize: about 1 ms, twice
    per check and run, 40 ms a grading). The check functions live as long as the process, so the digest is
    taken once and pinned with ``@seed``: the same examples, in the same order, as before.
    """
    handle = getattr(test, "hypothesis", None)
    if handle is None or getattr(test, "_hypothesis_internal_use_seed", None) is not None:
        return
    digest = function_digest(handle.inner_test)
    seed(int.from_bytes(digest, "big"))(test)
    # hypothesis reads this (when set) instead of taking the digest again for its example database (unused).
    test._hypothesis_internal_database_key = digest


def _error_kind(error: BaseException, session: Session | None) -> str:
    if session is not None and session.fatal is not None:
        return type(session.fatal).__name__
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return type(error).__name__ if isinstance(error, SubmissionError) else ""


def _student_message(error: BaseException, session: Session | None) -> str:
    """What a student reads for a failed check: never a traceback."""
    if session is not None and session.fatal is not None:
        return str(session.fatal)
    leaf = error
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    notes = [note for note in getattr(leaf, "__notes__", []) if "Falsifying example" in note]
    if isinstance(leaf, CheckFailure | SubmissionError):
        message = str(leaf)
    elif isinstance(leaf, AssertionError):
        message = str(leaf).splitlines()[0] if str(leaf) else "a contract clause does not hold"
    else:
        message = f"internal grader error ({type(leaf).__name__}: {leaf}); please tell the course staff"
    if notes and not _import_failed(leaf):
        message += f". Smallest failing input: {_falsifying_input(notes[0])}"
    return message


def _location(error: BaseException, session: Session | None) -> tuple[str, int]:
    """Where student code raised what failed the check ((file, line) of the submission), or ("", 0).

    A check's failure may wrap the student's exception (``raise ... from``), in an exception group too.
    """
    if session is not None and session.fatal is not None:
        return "", 0  # a hang or a crash: no line raised anything
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, StudentError) and current.location is not None:
            return current.location
        if isinstance(current, BaseExceptionGroup):
            pending += current.exceptions
        pending += [current.__cause__, current.__context__]
    return "", 0


def _import_failed(error: BaseException | None) -> bool:
    """Whether ``error`` comes from a student module that could not be imported (no input would have passed)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, ImportFailure):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _falsifying_input(note: str) -> str:
    """The generated arguments of hypothesis's falsifying example, without the fixtures."""
    lines = [line.strip().rstrip(",") for line in note.splitlines()[1:]]
    kept = [line for line in lines if line and not line.startswith(("student=", "scratch=", "source=", "device=", ")"))]
    return ", ".join(kept)[:1500] or note
