"""The checks' pytest session: what grading leaves behind where it runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import ROOT, run_grader

from grader import assignments


@pytest.mark.parametrize("name", assignments.names())
def test_grading_writes_nothing_in_the_current_folder(tmp_path: Path, name: str) -> None:
    # Run from an empty folder with the checkout on the import path, as an editable install runs: hypothesis
    # counts such modules as the user's own and caches their constants in ./.hypothesis/ unless told otherwise.
    # Its temporary folders (hypothesis's storage among them) are gone once it exits.
    here, scratch = tmp_path / "here", tmp_path / "tmp"
    here.mkdir()
    scratch.mkdir()
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {"PYTHONPATH": path, "TMPDIR": str(scratch)}
    done = run_grader(name, str(ROOT / "assignments" / name), "--format", "json", cwd=here, env=env)
    assert done.returncode == 1, done.stderr
    assert os.listdir(here) == []
    assert os.listdir(scratch) == []
