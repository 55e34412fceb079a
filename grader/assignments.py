"""The assignments the grader knows, read from the manifests beside their checks.

An assignment is a folder ``grader/checks/<name>/`` holding its checks (``test_*.py``) and a manifest,
``assignment.toml``, that says everything else the grader needs: the steps (key, title as the slides name
them, slides to reread, in the order the lecture teaches them), the student's modules, the probe modules
that run in the worker, what the worker imports ahead of time, and where the stubs and the reference
solution are. The grader finds assignments by scanning for manifests: adding one touches no grader code.
``docs/writing-an-assignment.md`` walks through a manifest field by field.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import UsageError

CHECKS = Path(__file__).parent / "checks"
MANIFEST = "assignment.toml"
#: The staff-only folder beside the checks (the audit's mutation corpus): never shipped, never shown to workers.
AUDIT = "audit"
#: Words the command line takes as commands: no assignment may be named after one.
COMMANDS = frozenset({"assign", "audit", "classroom", "gradescope", "list"})
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_KEY = re.compile(r"[a-z][a-z0-9-]*")


@dataclass(frozen=True)
class Step:
    """One step of an assignment, as its manifest declares it."""

    key: str
    #: The heading as the slides name it ("Step 1 (Data)").
    title: str
    #: Position in the lecture's order, from 1 (Gradescope numbers the step's checks <number>.<n>).
    number: int
    #: The slides a student rereads for this step.
    slides: tuple[str, ...] = ()
    #: The step's checks need none of the worker's deferred imports: a worker without them may serve it.
    early: bool = False
    #: The step runs every step's code (end to end): a bug anywhere may cost points here too.
    whole_pipeline: bool = False


@dataclass(frozen=True)
class Assignment:
    """Where an assignment's checks live and what its submission holds."""

    name: str
    title: str
    checks_dir: Path
    steps: tuple[Step, ...]
    modules: tuple[str, ...]
    probe_modules: tuple[str, ...]
    default_submission: str
    #: The reference solution, relative to the repository (its stubs are generated from it).
    solution: str = ""
    #: What the worker imports once, in the zygote, before the first worker is forked.
    preload: tuple[str, ...] = ()
    #: Slow imports only the steps that are not ``early`` need (see grader.sandbox.Sandbox).
    deferred: tuple[str, ...] = ()
    #: What the checks themselves import: loaded while the zygote is still busy with its own imports.
    check_imports: tuple[str, ...] = ()

    def step(self, key: str) -> Step:
        """The step called ``key``; a KeyError names the assignment's steps."""
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(f"'{key}' is not one of {self.name}'s steps ({', '.join(s.key for s in self.steps)})")

    @property
    def audit_dir(self) -> Path:
        """The staff-only folder of the mutation corpus (``audit/variants.py``)."""
        return self.checks_dir / AUDIT


def names() -> list[str]:
    """The names of the assignments found under ``grader/checks/``, sorted."""
    return sorted(path.parent.name for path in CHECKS.glob(f"*/{MANIFEST}"))


def get(name: str) -> Assignment:
    """Look an assignment up by name, in any case, or raise a UsageError that suggests the closest one."""
    known = names()
    if name not in known and name.lower() in known:
        name = name.lower()  # names are lower case (see _NAME): HW1 can only mean hw1
    if name not in known:
        close = difflib.get_close_matches(name, known, n=len(known))
        # As close as the closest: 'hw7' is as near 'hw1' as 'hw2', and neither is a better guess.
        best = [match for match in close if _closeness(name, match) == _closeness(name, close[0])] if close else []
        guesses = " or ".join(f"'{match}'" for match in sorted(best))
        hint = f" Did you mean {guesses}?" if best else f" Known: {', '.join(known)}."
        raise UsageError(f"unknown assignment '{name}'.{hint}")
    return load(CHECKS / name)


def _closeness(name: str, other: str) -> float:
    return difflib.SequenceMatcher(None, name, other).ratio()


def every() -> list[Assignment]:
    """Every assignment found, by name."""
    return [get(name) for name in names()]


@functools.cache
def load(folder: Path) -> Assignment:
    """The assignment whose checks and manifest are in ``folder``; a UsageError names what is wrong."""
    path = folder / MANIFEST
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: {exc}") from exc
    try:
        return _parse(folder, data)
    except (KeyError, TypeError, ValueError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        raise UsageError(f"{path}: {message}") from None


def _parse(folder: Path, data: dict[str, Any]) -> Assignment:
    name = folder.name
    if not _NAME.fullmatch(name) or name in COMMANDS:
        raise ValueError(f"'{name}' cannot name an assignment (lower case letters, digits, _; not a command)")
    table = _Table(data, "")
    worker, checks = table.table("worker"), table.table("checks")
    steps = []
    for number, entry in enumerate(table.tables("steps"), start=1):
        step = _Table(entry, f"steps[{number}].")
        key = step.string("key")
        if not _KEY.fullmatch(key) or any(key == other.key for other in steps):
            raise ValueError(f"steps[{number}].key '{key}' must be new and in lower case (letters, digits, -)")
        steps.append(
            Step(
                key=key,
                title=step.string("title"),
                number=number,
                slides=step.strings("slides", ()),
                early=step.flag("early"),
                whole_pipeline=step.flag("whole_pipeline"),
            )
        )
        step.done()
    if not steps:
        raise ValueError("an assignment needs at least one [[steps]] table")
    assignment = Assignment(
        name=name,
        title=table.string("title"),
        checks_dir=folder,
        steps=tuple(steps),
        modules=table.strings("modules"),
        probe_modules=worker.strings("probes", ()),
        default_submission=table.string("submission", f"assignments/{name}"),
        solution=table.string("solution", f"solutions/{name}"),
        preload=worker.strings("preload", ()),
        deferred=worker.strings("deferred", ()),
        check_imports=checks.strings("imports", ()),
    )
    for part in (table, worker, checks):
        part.done()
    return assignment


class _Table:
    """A manifest table read key by key; :meth:`done` rejects the keys nobody read (a typo is an error)."""

    def __init__(self, data: Any, prefix: str) -> None:
        if not isinstance(data, dict):
            raise TypeError(f"{prefix.rstrip('.') or 'the manifest'} must be a table")
        self._data = data
        self._prefix = prefix
        self._read: set[str] = set()

    def _get(self, key: str, default: Any) -> Any:
        self._read.add(key)
        if key not in self._data:
            if default is None:
                typo = difflib.get_close_matches(key, [str(other) for other in self._data], n=1)
                hint = f" (is '{self._prefix}{typo[0]}' a typo?)" if typo else ""
                raise KeyError(f"'{self._prefix}{key}' is missing{hint}")
            return default
        return self._data[key]

    def string(self, key: str, default: str | None = None) -> str:
        value = self._get(key, default)
        if not isinstance(value, str) or not value:
            raise TypeError(f"'{self._prefix}{key}' must be a non-empty string")
        return value

    def strings(self, key: str, default: tuple[str, ...] | None = None) -> tuple[str, ...]:
        value = self._get(key, default)
        if not isinstance(value, list | tuple) or not all(isinstance(item, str) and item for item in value):
            raise TypeError(f"'{self._prefix}{key}' must be a list of strings")
        return tuple(value)

    def flag(self, key: str) -> bool:
        value = self._get(key, False)
        if not isinstance(value, bool):
            raise TypeError(f"'{self._prefix}{key}' must be true or false")
        return value

    def table(self, key: str) -> _Table:
        return _Table(self._get(key, {}), f"{self._prefix}{key}.")

    def tables(self, key: str) -> list[Any]:
        value = self._get(key, [])
        if not isinstance(value, list):
            raise TypeError(f"'{self._prefix}{key}' must be an array of tables ([[{key}]])")
        return value

    def done(self) -> None:
        unknown = sorted(set(self._data) - self._read)
        if unknown:
            raise ValueError(f"unknown key '{self._prefix}{unknown[0]}'")
