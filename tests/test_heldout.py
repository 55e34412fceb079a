"""hw2's held-out task comes from the grading key: the same key, the same texts; another key, other texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import grading_key
from grader.checks.hw2 import textdata


def test_the_task_comes_from_the_key_and_the_purpose(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(grading_key.ENV, raising=False)
    grading_key._key.cache_clear()
    public = grading_key.seed("hw2/end-to-end")
    assert public == grading_key.seed("hw2/end-to-end") != grading_key.seed("hw1/end-to-end")
    assert 0 <= public < 2**63
    (tmp_path / "key").write_bytes(b"staff secret, 32 bytes or so...")
    monkeypatch.setenv(grading_key.ENV, str(tmp_path / "key"))
    grading_key._key.cache_clear()
    try:
        keyed = grading_key.seed("hw2/end-to-end")
        assert keyed != public and keyed == grading_key.seed("hw2/end-to-end")
        # Another key, another task: which topic gets which label, and every text.
        assert textdata.generate(keyed, 50, 10) != textdata.generate(public, 50, 10)
    finally:
        grading_key._key.cache_clear()
