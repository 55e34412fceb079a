"""What ships to students and to Gradescope holds the public checks, never a mutation corpus or a solution.

The corpora (``grader/checks/<hw>/audit/``) hold correct bodies of every function students write. Student code
reading them in the worker is covered with the hidden checks (tests/test_hw2.py).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

from grader import assignments, gradescope


def _staff_only(name: str) -> bool:
    parts = name.split("/")
    return name.startswith("solutions/") or (len(parts) > 3 and parts[1] == "checks" and parts[3] == "audit")


def test_every_assignment_has_a_corpus_to_leave_out() -> None:
    for name in assignments.names():
        assert (assignments.get(name).audit_dir / "variants.py").is_file(), name


def test_the_wheel_leaves_out_corpora_and_solutions(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("grader", "solutions"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    # pip leaves grader.egg-info in the source tree, and setuptools takes the files its SOURCES.txt lists from
    # an earlier build as package data: one made before a corpus was excluded must not bring it back.
    (source / "grader.egg-info").mkdir()
    stale = [f"grader/checks/{name}/audit/variants.py" for name in assignments.names()]
    (source / "grader.egg-info" / "SOURCES.txt").write_text("\n".join([*stale, "solutions/hw1/model.py"]) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("grader-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in assignments.names():
        assert f"grader/checks/{name}/assignment.toml" in names
        assert any(entry.startswith(f"grader/checks/{name}/test_") for entry in names), name
        assert not [entry for entry in names if entry.startswith(f"grader/checks/{name}/audit")]
    assert not [entry for entry in names if "solutions" in entry or "/audit/" in entry]


@pytest.mark.parametrize("name", assignments.names())
def test_the_gradescope_zip_leaves_out_corpora_and_solutions(tmp_path: Path, name: str) -> None:
    entries = gradescope.build_zip(assignments.get(name), tmp_path / "autograder.zip")
    assert f"grader/checks/{name}/assignment.toml" in entries
    assert not [entry for entry in entries if _staff_only(entry) or "/audit/" in entry]
