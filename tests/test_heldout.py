"""Held-out data seeds: the same key, the same data; another key (the staff's), other data; results follow."""

from __future__ import annotations

import pytest

from grader.batch import grader_key
from grader.checks import heldout
from grader.checks.hw2 import textdata
from grader.sandbox import Limits


def test_the_seed_comes_from_the_key_and_the_purpose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(heldout.VARIABLE, raising=False)
    public = heldout.seed("hw2/end-to-end")
    assert public == heldout.seed("hw2/end-to-end") != heldout.seed("hw1/end-to-end")
    assert 0 <= public < 2**63
    monkeypatch.setenv(heldout.VARIABLE, "staff secret")
    keyed = heldout.seed("hw2/end-to-end")
    assert keyed != public and keyed == heldout.seed("hw2/end-to-end")
    # Another key, another task: which topic gets which label, and every text.
    assert textdata.generate(keyed, 50, 10) != textdata.generate(public, 50, 10)


def test_a_batch_regrades_when_the_key_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(heldout.VARIABLE, raising=False)
    public = grader_key("hw2", Limits())
    monkeypatch.setenv(heldout.VARIABLE, "staff secret")
    keyed = grader_key("hw2", Limits())
    assert keyed != public and keyed == grader_key("hw2", Limits())
    assert b"staff secret" not in keyed
