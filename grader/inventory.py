"""What is wrong with a submission's files before any check runs: a module missing, misnamed or only in a notebook.

Read in the trusted process from the folder's file list (nothing of the student's runs), so that a student
reads one line that says what was found ("found Data.py: rename it to data.py") instead of every check
failing on ``No module named 'data'``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

#: How many of the folder's files a "missing" line names before it counts the rest.
_LISTED = 8


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
    notebooks = [path.as_posix() for path in files if path.suffix.lower() == ".ipynb"]
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
            held = [path.as_posix() for path in files if len(path.parts) == 1] or ["nothing"]
            more = f" and {len(held) - _LISTED} more" if len(held) > _LISTED else ""
            problems.append(f"{name} is missing (the folder holds {', '.join(held[:_LISTED])}{more})")
        elif found.suffix.lower() == ".ipynb":
            problems.append(f"found {found.as_posix()}: export its code to {name} (the grader imports .py files)")
        elif len(found.parts) > 1:
            problems.append(f"found {found.as_posix()}: move it to the top of the submission folder")
        else:
            problems.append(f"found {found.as_posix()}: rename it to {name}")
    return problems


def _names(items: list[str]) -> str:
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else items[0]
