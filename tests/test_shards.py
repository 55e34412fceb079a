"""A batch split into shards as a TA runs it without Slurm (a CI matrix, an Indexed Job): each shard grades its
part, only the merge writes the class's files and it names what has no current result, in which shard.

(The same on a real Slurm cluster, against one local batch: tests/test_slurm.py.)
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, SOLUTION, STUBS, run_grader

from grader.batch.sharding import Shard

NAMES = ["alice", "bob", "dave", "erin"]


@pytest.fixture
def class_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "class"
    shutil.copytree(SOLUTION, folder / "alice")
    shutil.copytree(STUBS, folder / "bob", ignore=shutil.ignore_patterns("*.md"))
    (folder / "dave").mkdir()  # nothing to grade: invalid
    with zipfile.ZipFile(folder / "erin.zip", "w") as bundle:
        for path in sorted(STUBS.glob("*.py")):
            bundle.write(path, f"erin/{path.name}")
    return folder


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        return {row["submission"]: row for row in csv.DictReader(handle)}


def test_shards_grade_their_part_and_the_merge_names_what_is_missing(class_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    batch = ("hw1", "--batch", str(class_folder), "--out", str(out))
    secret = os.urandom(32)
    (tmp_path / "key").write_bytes(secret)
    key = {"GRADER_KEY_FILE": str(tmp_path / "key")}
    first, second = (Shard(index, 2).select(NAMES) for index in range(2))
    assert first and second, "both shards have work (else the test shows less than it says)"

    done = run_grader(*batch, "--shard", "0/2", "--jobs", "1", env=key)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Isolation: ")  # a shard grades: it says how student code is isolated
    assert f"Shard 0/2: {len(first)} of its {len(first)} submissions (of 4) have a result" in done.stdout
    assert {path.stem for path in out.glob("*.json")} == set(first)
    assert not (out / "grades.csv").exists() and not (out / "summary.html").exists()  # the merge's, not a shard's
    assert not (out / "feedback").exists()

    done = run_grader(*batch, "--merge", "--shards", "2", env=key)
    assert done.returncode == 3, done.stderr
    assert f"{len(second)} of 4 submissions have no current result:" in done.stdout
    for name in second:
        assert f"  {name}: no result yet (shard 1/2)" in done.stdout
    assert "Rerun --shard 1/2, then merge again." in done.stdout
    assert set(_rows(out)) == set(first)
    page = (out / "summary.html").read_text(encoding="utf-8")
    assert all(f'data-submission="{name}" data-status="pending"' in page for name in second)

    # A Kubernetes Indexed Job's pod: its index in JOB_COMPLETION_INDEX, the count from --shards.
    done = run_grader(
        *batch, "--shard", "auto", "--shards", "2", "--jobs", "1", env={**key, "JOB_COMPLETION_INDEX": "1"}
    )
    assert done.returncode == 0, done.stderr
    assert {path.stem for path in out.glob("*.json")} == set(NAMES)
    # The merge on another machine, with its own copy of the key (another path, inode and time): the same key.
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "key").write_bytes(secret)
    done = run_grader(*batch, "--merge", "--shards", "2", env={"GRADER_KEY_FILE": str(tmp_path / "copy" / "key")})
    assert done.returncode == 0, done.stdout + done.stderr
    wrote = f"Wrote {out / 'grades.csv'}, {out / 'summary.html'} and {out / 'feedback'}/ (4 of 4 submissions)."
    assert done.stdout.strip() == wrote
    rows = _rows(out)
    assert [rows[name]["status"] for name in NAMES] == ["graded", "graded", "invalid", "graded"]
    assert [rows[name]["score"] for name in NAMES] == ["100", "0", "0", "0"]

    # bob resubmits after his shard graded him: his result no longer counts, and a rerun of his shard regrades him.
    with open(class_folder / "bob" / "data.py", "a") as handle:
        handle.write("\n# resubmitted\n")
    shard = Shard(0 if "bob" in first else 1, 2)
    done = run_grader(*batch, "--merge", "--shards", "2", env=key)
    assert done.returncode == 3
    assert f"  bob: its result was graded from other files, options or grader than these (shard {shard})" in done.stdout
    assert "bob" not in _rows(out) and len(done.stdout.splitlines()) == 4
    done = run_grader(*batch, "--shard", str(shard), "--jobs", "1", env=key)
    assert done.returncode == 0, done.stderr
    kept = [name for name in shard.select(NAMES) if name != "bob"]
    assert f"Kept {len(kept)} unchanged result" in done.stdout and "; grading 1." in done.stdout
    assert "] bob: " in done.stdout and not any(f"] {name}: " in done.stdout for name in kept)
    assert run_grader(*batch, "--merge", "--shards", "2", env=key).returncode == 0
    assert set(_rows(out)) == set(NAMES)
    # The merge needs the shards' options: other limits make every result someone else's.
    done = run_grader(*batch, "--merge", "--timeout", "7", env=key)
    assert done.returncode == 3 and done.stdout.count("graded from other files, options or grader") == 4
    assert "Rerun the batch or its shards (--merge --shards N names each one's), then merge again." in done.stdout
    assert json.loads((out / "alice.json").read_text())["score"] == 100  # the merge grades and deletes nothing


#: A batch's options: its class folder must exist, its --out is never written (every case is refused first).
BATCH = ["--batch", "solutions", "--out", "no/such/out"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--shard", "0/2"], "Error: --shard goes with --batch CLASS --out OUT."),
        (["--slurm", "2"], "Error: --slurm goes with --batch CLASS --out OUT."),
        ([*BATCH, "--shard", "2/2"], "Error: --shard 2/2: I must be at least 0"),
        ([*BATCH, "--shard", "auto"], "Error: --shard auto: neither SLURM_ARRAY_TASK_ID"),
        (
            [*BATCH, "--shard", "0/2", "--merge"],
            "Error: --shard grades one shard, --merge",
        ),
        ([*BATCH, "--merge", "--slurm", "2"], "Error: --shard grades one shard, --merge"),
        ([*BATCH, "--shard", "0/2", "--shards", "2"], "Error: --shards N goes with"),
        ([*BATCH, "--slurm", "0"], "Error: --slurm must be positive."),
        ([*BATCH, "--wait"], "Error: --wait goes with --slurm N."),
        (
            [*BATCH, "--", "-p", "gpu"],
            "Error: options after -- are sbatch's: they go with",
        ),
        ([*BATCH, "--slurm", "2", "--", "gpu"], "Error: sbatch options after -- start"),
        ([*BATCH, "--slurm", "2", "--", "--array=0-3"], "Error: the array is --slurm N"),
    ],
)
def test_sharding_usage_errors_are_one_line_and_exit_2(
    args: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from grader import cli

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))  # main() leaves this process's environment alone
    for variable in ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"):  # as when the suite itself runs in a job
        monkeypatch.delenv(variable, raising=False)
    assert cli.main(["hw1", *args]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(message) and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and out == ""
