"""What check authors use: the ``@check`` marker and student-facing expectations.

A check is an ordinary pytest test (hypothesis welcome) in ``grader/checks/<hw>/``
that receives the ``student`` fixture (a :class:`grader.sandbox.Session`) and
declares its points, step (a key of the assignment's manifest, ``assignment.toml``) and slide as
data::

    @check(points=2, step="model", slide=slides.SOFTMAX)
    def test_softmax_slide_numbers(student):
        '''softmax reproduces the slide's numbers'''
        softmax = student.module("model").softmax
        expect_close(softmax(torch.tensor([0.5, 0.7, 1.3])), ..., what="softmax([0.5, 0.7, 1.3])")

Failures are raised as :class:`CheckFailure` with a message a student can act
on: what was expected, what was observed, for which input.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest
import torch

T = TypeVar("T")


@dataclass(frozen=True)
class CheckInfo:
    """The data declared next to a check."""

    points: float
    #: The key of one of the assignment's steps (its manifest's ``[[steps]]``).
    step: str
    slide: str
    hidden: bool = False


def check(points: float, step: str, slide: str, hidden: bool = False) -> pytest.MarkDecorator:
    """Mark a test as a graded check worth ``points`` in ``step`` (a step key); ``slide`` is what to reread."""
    return pytest.mark.grader_check(CheckInfo(points, str(step), slide, hidden))


class CheckFailure(AssertionError):
    """A contract clause does not hold; the message is written for the student."""


def new_file(folder: Path, prefix: str, suffix: str, data: bytes) -> Path:
    """Write ``data`` to a new file in ``folder`` named ``<prefix><n><suffix>`` with n not yet taken.

    Unlike tempfile's random names, a check names its inputs the same way on every run (hypothesis is
    derandomized), so the messages that quote them are the same too. The file is created and written
    through one descriptor (O_EXCL, O_NOFOLLOW): nothing planted under that name is written through.
    """
    for path in _numbered(folder, prefix, suffix):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except FileExistsError:
            continue
        with open(fd, "wb") as handle:
            handle.write(data)
        return path
    raise AssertionError("unreachable")  # pragma: no cover


def new_folder(folder: Path, prefix: str) -> Path:
    """Create a new folder in ``folder`` named ``<prefix><n>`` with n not yet taken (see :func:`new_file`)."""
    for path in _numbered(folder, prefix, ""):
        try:
            path.mkdir(mode=0o755)
        except FileExistsError:
            continue
        return path
    raise AssertionError("unreachable")  # pragma: no cover


def _numbered(folder: Path, prefix: str, suffix: str) -> Iterator[Path]:
    for number in itertools.count(len(os.listdir(folder)) + 1):
        yield folder / f"{prefix}{number}{suffix}"


def fail(message: str) -> NoReturn:
    """Fail the current check with a student-facing message."""
    raise CheckFailure(message)


def expect(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        fail(message)


def show(value: Any, limit: int = 300) -> str:
    """A short, readable rendering of a value for messages."""
    if isinstance(value, torch.Tensor):
        body = value.double().round(decimals=4).tolist() if value.is_floating_point() else value.tolist()
        text = f"tensor({body}, dtype={str(value.dtype).removeprefix('torch.')}, shape={tuple(value.shape)})"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def expect_tensor(
    value: Any, what: str, shape: tuple[int, ...] | None = None, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """Check that ``value`` is a tensor of the given shape and dtype; return it."""
    if not isinstance(value, torch.Tensor):
        fail(f"{what}: expected a torch.Tensor, got {show(value)} ({type(value).__name__})")
    if shape is not None and tuple(value.shape) != tuple(shape):
        fail(f"{what}: expected shape {tuple(shape)}, got shape {tuple(value.shape)}")
    if dtype is not None and value.dtype != dtype:
        fail(f"{what}: expected dtype {dtype}, got {value.dtype}")
    return value


def expect_close(
    observed: Any, expected: torch.Tensor | float, what: str, atol: float = 1e-4, rtol: float = 1e-4
) -> None:
    """Check numerical closeness, with expected vs observed in the message."""
    expected_t = torch.as_tensor(expected, dtype=torch.float64)
    if isinstance(observed, int | float) and not isinstance(observed, bool):
        observed_t = torch.tensor(float(observed), dtype=torch.float64)
    else:
        observed_t = expect_tensor(observed, what).to(torch.float64)
    if observed_t.shape != expected_t.shape:
        fail(f"{what}: expected shape {tuple(expected_t.shape)}, got shape {tuple(observed_t.shape)}")
    if not torch.isfinite(observed_t).all():
        fail(f"{what}: expected finite values {show(expected_t)}, got {show(observed_t)}")
    if not torch.allclose(observed_t, expected_t, atol=atol, rtol=rtol):
        fail(f"{what}: expected {show(expected_t)}, got {show(observed_t)}")


def loss_number(value: Any) -> float | None:
    """The number an epoch's loss holds: a Python number, or a one-element float tensor (the classic slip of
    returning ``loss`` instead of ``loss.item()``); None for anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
        return float(value.detach().reshape(()).double())
    return None


def attempt(what: str, call: Callable[[], T]) -> T:
    """Run a call into student code; an exception it raises fails the check with ``what`` as context."""
    from grader.errors import StudentError

    try:
        return call()
    except StudentError as exc:
        fail(f"{what} failed: {exc}")


def expect_raises(error_name: str, call: Any, what: str) -> None:
    """Check that calling ``call()`` makes student code raise ``error_name`` (or a subclass)."""
    from grader.errors import StudentError

    try:
        value = call()
    except StudentError as exc:
        if exc.is_a(error_name):
            return
        fail(f"{what}: expected {error_name}, but your code raised {exc.type_names[0]}: {exc.message}")
    fail(f"{what}: expected {error_name}, but it returned {show(value)}")


#: How PyTorch's error for a tensor on the wrong device starts (on a GPU, and from the CPU runner's guard).
DEVICE_MISMATCH = "Expected all tensors to be on the same device"


def explain_device(error: Exception, what: str, move: str) -> None:
    """Fail with a message about moving batches if student code hit a device mismatch; else do nothing.

    ``what`` names the function, ``move`` the line it is missing (e.g. ``x, y = x.to(device), y.to(device)``).
    """
    from grader.errors import StudentError

    if isinstance(error, StudentError) and DEVICE_MISMATCH in error.message:
        fail(
            f"{what} used a batch that was not moved to the device ({error.message}): move each batch to "
            f"`device` before using it, {move}, always (it costs nothing when device is 'cpu'). On a CPU the "
            "grader checks this too, so that the grade is the same on a GPU runner"
        )


#: PyTorch's error when a softmax-based loss (CrossEntropyLoss, F.cross_entropy, log_softmax) is given integer
#: input: on the CPU ``"log_softmax_lastdim_kernel_impl" not implemented for 'Long'``, on a GPU ``"host_softmax"``.
_INTEGER_LOGITS = re.compile(r"\"\w*softmax\w*\" not implemented for '(Long|Int|Short|Char|Byte|Bool)'")


def explain_loss_arguments(error: Exception, output: str, target: str) -> None:
    """Fail with a message about swapped loss arguments if student code gave the loss its integer labels as
    the logits; else do nothing.

    PyTorch says so with a NotImplementedError, which reads like a stub's own: the message says whose it is.
    ``output`` and ``target`` are the names the contract uses (``output, y``).
    """
    from grader.errors import StudentError

    if isinstance(error, StudentError) and error.is_a("NotImplementedError") and _INTEGER_LOGITS.search(error.message):
        fail(
            f"{error}: this NotImplementedError is PyTorch's, not a stub's. The loss received integer labels where "
            f"it expects the logits: its arguments are swapped. Write loss_fn({output}, {target}): the model's "
            "output (the logits) first, then the target labels (the slide's loss_function(gold, output) has them "
            "the other way round)"
        )
