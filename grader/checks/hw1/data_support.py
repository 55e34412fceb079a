"""Helpers shared by the Step 1 (Data) checks: reading items back from datasets in the worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import torch

from grader.checks import fail, show
from grader.errors import StudentError
from grader.sandbox import RemoteObject, Session

T = TypeVar("T")

PROBES = "grader.probes.hw1.data"

#: Fails a check with a message naming the cause of a student error (given the error and what was called).
Explain = Callable[[StudentError, str], None]


def attempt(what: str, call: Callable[[], T]) -> T:
    """Run a call into student code; an exception it raises fails the check with ``what`` as context."""
    try:
        return call()
    except StudentError as exc:
        fail(f"{what} failed: {exc}")


def read(
    student: Session,
    probe: str,
    dataset: RemoteObject,
    indices: list[int],
    label: str,
    explain: Explain | None = None,
) -> list[Any]:
    """``probe`` (a reader of ``dataset[i]`` for every i in ``indices``) in one call.

    When student code raises, each index is read on its own so that the message names the index that failed;
    ``explain(error, what)`` may fail first with a message that names the cause.
    """
    try:
        return student.probe(f"{PROBES}:{probe}", dataset, indices)
    except StudentError as exc:
        error = exc
    for index in indices:
        try:
            student.probe(f"{PROBES}:{probe}", dataset, [index])
        except StudentError as exc:
            if explain is not None:
                explain(exc, f"{label}[{index}]")
            fail(f"{label}[{index}] failed: {exc}")
    fail(f"reading {label}[i] for i in {indices} failed: {error}")


def pair(item: Any, what: str) -> tuple[Any, Any]:
    """The two halves of an ``(x, y)`` item (a tuple or a list of two)."""
    if not isinstance(item, tuple | list) or len(item) != 2:
        fail(f"{what} returned {show(item)}: expected a pair (x, y)")
    return item[0], item[1]


def as_int(item: Any, what: str) -> int:
    """The integer an item of a probe dataset stands for (a 0-dim tensor, or an int)."""
    if isinstance(item, torch.Tensor) and item.numel() == 1 and not item.is_floating_point():
        return int(item)
    if isinstance(item, int) and not isinstance(item, bool):
        return item
    fail(f"{what} is {show(item)}: expected an item of the dataset you were given (a 0-dim int64 tensor)")


def count(n: int, noun: str) -> str:
    """``1 row``, ``3 rows``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
