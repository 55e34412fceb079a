"""``python -m grader assign hw1 [--check]``: the student stubs, derived from the reference solution.

Instructors write one file, ``solutions/<hw>/<module>.py``; the stub students receive,
``assignments/<hw>/<module>.py``, is that file with every solution region taken out (both folders are
the assignment manifest's ``solution`` and ``submission``):

* ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` preceded by ``# PROMPT: <text>`` becomes
  ``raise NotImplementedError("<text>")`` at the indentation of the ``BEGIN`` line;
* a region without a prompt (solution-only helpers) disappears, with the blank lines after it;
* the module docstring gains a last paragraph telling students what to replace.

Everything else, docstrings included, is copied as is, so a contract clause is written
once, in the solution, and the stub cannot drift from it. ``--check`` writes nothing and
exits 1 with a diff when the committed stubs differ from what ``assign`` would write.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from grader.assignments import Assignment
from grader.errors import UsageError

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
PROMPT = "# PROMPT:"
INSTRUCTION = "Replace every ``raise NotImplementedError`` below."
#: The stubs follow black's default width: a longer ``raise`` is split over three lines, as black would.
_WIDTH = 88
_REPOSITORY = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Stub:
    """One stub file: where it goes and what it should hold."""

    path: Path
    text: str


def to_stub(source: str, name: str = "<solution>") -> str:
    """The stub for one solution file's ``source``; ``name`` is only used in error messages."""
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    prompted = 0
    index = 0
    while index < len(lines):
        line, marker = lines[index], lines[index].strip()
        if marker.startswith(PROMPT):
            if index + 1 == len(lines) or lines[index + 1].strip() != BEGIN:
                raise UsageError(f"{name}:{index + 1}: '{PROMPT}' must come right before '{BEGIN}'.")
            index += 1
        elif marker == END:
            raise UsageError(f"{name}:{index + 1}: '{END}' without a '{BEGIN}' before it.")
        elif marker != BEGIN:
            out.append(line)
            index += 1
        else:
            end = _region_end(lines, index, name)
            previous = lines[index - 1].strip() if index else ""
            index = end + 1
            if previous.startswith(PROMPT):
                prompted += 1
                out.append(_raise(line[: len(line) - len(line.lstrip())], previous.removeprefix(PROMPT).strip()))
            else:
                while index < len(lines) and not lines[index].strip():
                    index += 1
    text = "".join(out)
    return _with_instruction(text) if prompted else text


def build(assignment: Assignment, solutions: Path | None = None, stubs: Path | None = None) -> list[Stub]:
    """The stubs of every ``*.py`` of the assignment's solution, to be written where its stubs go.

    Both folders are the manifest's (``solution`` and ``submission``, relative to the repository).
    """
    solutions = solutions or _REPOSITORY / assignment.solution
    stubs = stubs or _REPOSITORY / assignment.default_submission
    sources = sorted(solutions.glob("*.py")) if solutions.is_dir() else []
    if not sources:
        raise UsageError(f"no solution files in '{solutions}': 'assign' runs in the grader's repository.")
    return [Stub(stubs / source.name, to_stub(source.read_text(encoding="utf-8"), str(source))) for source in sources]


def write(stubs: list[Stub]) -> None:
    """Write each stub to its path."""
    for stub in stubs:
        stub.path.parent.mkdir(parents=True, exist_ok=True)
        stub.path.write_text(stub.text, encoding="utf-8")


def drift(stubs: list[Stub]) -> str:
    """A unified diff from the committed stubs to the derived ones; empty when they agree."""
    chunks = []
    for stub in stubs:
        committed = stub.path.read_text(encoding="utf-8") if stub.path.exists() else ""
        chunks += difflib.unified_diff(
            committed.splitlines(keepends=True),
            stub.text.splitlines(keepends=True),
            fromfile=f"{stub.path} (committed)",
            tofile=f"{stub.path} (from solution)",
        )
    return "".join(chunks)


def _region_end(lines: list[str], begin: int, name: str) -> int:
    for index in range(begin + 1, len(lines)):
        marker = lines[index].strip()
        if marker == END:
            return index
        if marker == BEGIN:
            break
    raise UsageError(f"{name}:{begin + 1}: '{BEGIN}' is not closed by '{END}' before the next region or the end.")


def _raise(indent: str, prompt: str) -> str:
    literal = '"' + prompt.replace("\\", "\\\\").replace('"', '\\"') + '"'
    one_line = f"{indent}raise NotImplementedError({literal})\n"
    if len(one_line) - 1 <= _WIDTH:
        return one_line
    return f"{indent}raise NotImplementedError(\n{indent}    {literal}\n{indent})\n"


def _with_instruction(text: str) -> str:
    """Add :data:`INSTRUCTION` as the last paragraph of a triple-quoted module docstring, if there is one."""
    if not text.startswith('"""'):
        return text
    close = text.find('"""', 3)
    if close == -1:
        return text
    body = text[3:close].rstrip()
    return f'"""{body}\n\n{INSTRUCTION}\n"""' + text[close + 3 :]
