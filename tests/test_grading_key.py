"""The grading key (grader/grading_key.py) and what the end-to-end check of hw1 draws from it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from conftest import SOLUTION, run_grader

from grader import assignments, grading_key
from grader.batch.fingerprints import grader_key
from grader.checks.hw1 import digits_support as e2e
from grader.errors import UsageError
from grader.sandbox import Limits, view

HW1 = assignments.get("hw1")


@pytest.fixture(autouse=True)
def _fresh_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts without GRADER_KEY_FILE and without a key read earlier."""
    monkeypatch.delenv(grading_key.ENV, raising=False)
    grading_key._key.cache_clear()
    yield
    grading_key._key.cache_clear()


def _use_key(monkeypatch: pytest.MonkeyPatch, path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    monkeypatch.setenv(grading_key.ENV, str(path))
    grading_key._key.cache_clear()
    return path


def test_without_a_key_file_the_public_key_is_used() -> None:
    grading_key.check()
    assert grading_key.key_file() is None and grading_key.fingerprint() == grading_key.fingerprint()
    assert grading_key.derive("hw1/x") == grading_key.derive("hw1/x") != grading_key.derive("hw1/y")


def test_a_key_file_gives_its_own_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    public = grading_key.derive("hw1/x")
    _use_key(monkeypatch, tmp_path / "one.key", b"k" * 32)
    grading_key.check()
    first = grading_key.derive("hw1/x")
    _use_key(monkeypatch, tmp_path / "two.key", b"j" * 32)
    assert len({public, first, grading_key.derive("hw1/x")}) == 3
    _use_key(monkeypatch, tmp_path / "again.key", b"k" * 32)
    assert grading_key.derive("hw1/x") == first  # the same key, the same secrets


@pytest.mark.parametrize("data", [None, b"short"], ids=["missing", "too-short"])
def test_a_key_file_that_is_no_key_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data: bytes | None
) -> None:
    path = tmp_path / "hw1.key"
    if data is not None:
        path.write_bytes(data)
    monkeypatch.setenv(grading_key.ENV, str(path))
    with pytest.raises(UsageError, match=grading_key.ENV):
        grading_key.check()


def test_the_key_file_is_hidden_from_workers_and_part_of_a_batch_fingerprint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    without = grader_key("hw1", Limits())
    path = _use_key(monkeypatch, tmp_path / "hw1.key", b"k" * 32)
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path)])  # the worst place for a key: an import folder
    plan = view.plan(forbid=(path,))
    assert str(tmp_path.resolve()) in plan.binds and str(path.resolve()) in plan.covers
    with_key = grader_key("hw1", Limits())
    path.write_bytes(b"another key, longer than the first")
    assert len({without, with_key, grader_key("hw1", Limits())}) == 3


def test_a_copy_of_the_key_elsewhere_is_the_same_key_and_this_process_never_reads_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Shards on other machines (a CI matrix, Kubernetes pods) each get a copy of the key: another path, inode
    and time. Their results and the merge's must agree on which key graded them."""
    _use_key(monkeypatch, tmp_path / "a.key", b"k" * 32)
    first = grader_key("hw1", Limits())
    (tmp_path / "elsewhere").mkdir()
    _use_key(monkeypatch, tmp_path / "elsewhere" / "b.key", b"k" * 32)
    assert grader_key("hw1", Limits()) == first
    assert grading_key._key.cache_info().currsize == 0  # the digest came from a child: no key in this process
    _use_key(monkeypatch, tmp_path / "c.key", b"k" * 31 + b"j")
    assert grader_key("hw1", Limits()) != first
    (tmp_path / "c.key").write_bytes(b"short")  # changed after the check: refused, never read here instead
    with pytest.raises(UsageError, match="could not be read as a key of 16 to 4096 bytes"):
        grading_key.fingerprint()


def test_each_key_holds_out_other_noisy_digits_and_the_files_do_not_say_which(tmp_path: Path) -> None:
    first, second = e2e._held_out(b"a" * 32), e2e._held_out(b"b" * 32)
    assert first.pool != second.pool
    images, labels = e2e.digits()
    held = list(first.held)
    assert sorted(held + list(first.pool)) == list(range(len(labels))) and len(held) == len(labels) // 5
    classes = torch.tensor(first.classes)
    assert sorted(first.classes) == list(range(10)) and first.classes != tuple(range(10))
    assert first.classes != second.classes, "each key files the digits under other classes"
    assert torch.equal(first.labels, classes[torch.from_numpy(labels[held])])
    clean = torch.from_numpy(e2e.features(images[held], first.mean, first.scale))
    assert first.features.shape == clean.shape and not torch.equal(first.features, clean)
    assert (first.features - clean).abs().max() < 1.0  # small noise: a few gray levels of 240
    files = e2e.write_digits(tmp_path, first)
    names = sorted(Path(file).name for file in files)
    expected = sorted(f"{first.classes[labels[index]]}_{number}.png" for number, index in enumerate(first.pool))
    assert names == expected


def test_a_missing_key_file_stops_the_command_line(tmp_path: Path) -> None:
    done = run_grader("hw1", str(SOLUTION), env={grading_key.ENV: str(tmp_path / "nowhere.key")})
    assert done.returncode == 2
    assert done.stderr.startswith(f"Error: {grading_key.ENV} names") and len(done.stderr.splitlines()) == 1


def test_a_correct_solution_gets_full_marks_with_a_secret_key(tmp_path: Path) -> None:
    key = tmp_path / "course.key"
    key.write_bytes(bytes(range(32)))
    done = run_grader("hw1", str(SOLUTION), "--format", "json", env={grading_key.ENV: str(key)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["score"] == 100
