"""What is wrong with a submission's files before any check runs: a module missing, misnamed or only in a notebook.

Read in the trusted process from the folder's file list (nothing of the student's runs), so that a student
reads one line that says what was found ("found Data.py: rename it to data.py") instead of every check
failing on ``No module named 'data'``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from grader.shown import printable

#: How many of the folder's files a line names before it counts the rest, and how much of each name it shows.
_LISTED = 8
_NAME_CHARS = 80


def file_problems(files: Iterable[Path], modules: Iterable[str]) -> list[str]:
    """One line per problem with the submission's ``files`` (paths relative to its folder) for ``modules``.

    A module is ``<name>.py`` at the top of the folder. A folder of notebooks and no Python file at all is one
    line (export the notebook); otherwise each missing module is a line: found under another case (rename
    it), in a subfolder (move it), as a notebook of its own (export it), or missing, with what the folder holds.
    """
    files = sorted(files)
    wanted = list(modules)
    top = {path.name for path in files if len(path.parts) == 1}
    missing = [module for module in wanted if f"{module}.py" not in top]
    if not missing:
        return []
    expected = _names([f"{module}.py" for module in wanted])
    notebooks = [_shown(path) for path in files if path.suffix.lower() == ".ipynb"]
    if notebooks and not any(path.suffix == ".py" for path in files):
        return [
            f"found only {_names(notebooks)}, no .py file: export the notebook's code to {expected} (in Jupyter: "
            "File > Save and Export Notebook As > Executable Script)"
        ]
    problems = []
    for module in missing:
        name = f"{module}.py"
        near = [path for path in files if path.stem.lower() == module and path.suffix.lower() in (".py", ".ipynb")]
        found = next((path for path in near if path.suffix.lower() == ".py"), None) or next(iter(near), None)
        if found is None:
            held = [_shown(path) for path in files if len(path.parts) == 1] or ["nothing"]
            problems.append(f"{name} is missing (the folder holds {_names(held)})")
        elif found.suffix.lower() == ".ipynb":
            problems.append(f"found {_shown(found)}: export its code to {name} (the grader imports .py files)")
        elif len(found.parts) > 1:
            problems.append(f"found {_shown(found)}: move it to the top of the submission folder")
        else:
            problems.append(f"found {_shown(found)}: rename it to {name}")
    return problems


def _shown(path: Path) -> str:
    """A file's path as a line may show it: printable (the student chose it), and not too long."""
    name = printable(path.as_posix())
    return name if len(name) <= _NAME_CHARS else name[: _NAME_CHARS - 3] + "..."


def _names(items: list[str]) -> str:
    """``a, b and c``; the first :data:`_LISTED` of a longer list, then how many more."""
    if len(items) > _LISTED:
        return ", ".join(items[:_LISTED]) + f" and {len(items) - _LISTED} more"
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else items[0]
