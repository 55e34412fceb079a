"""Step 2 (Model): softmax and cross_entropy by hand, against the slides and PyTorch; build_loss.

Every expected value is computed here with PyTorch's own functions; losses are judged
by what they compute on fixed inputs, not by the class name the worker claims.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn

from grader.checks import CheckFailure, check, expect, expect_close, expect_tensor, fail
from grader.checks.hw1 import rules, slides
from grader.checks.hw1.model_support import (
    PHASES,
    SLIDE_ATOL,
    kind,
    seeded,
    values,
)
from grader.errors import StudentError
from grader.sandbox.client import RemoteObject, Session


def _softmax(student: Session, x: torch.Tensor, dim: int | None) -> Any:
    fn = student.module("model").softmax
    return fn(x) if dim is None else fn(x, dim=dim)


def _expect_softmax(student: Session, x: torch.Tensor, dim: int | None, atol: float, rtol: float) -> None:
    """softmax(x, dim) (dim left out when None) keeps the shape, is finite, sums to 1 and equals torch.softmax."""
    what = f"softmax(x{'' if dim is None else f', dim={dim}'}) for x = {values(x)}"
    observed, along = expect_tensor(_softmax(student, x, dim), what), -1 if dim is None else dim
    expect(observed.shape == x.shape, f"{what}: expected the shape {tuple(x.shape)}, got {tuple(observed.shape)}")
    expected, sums = torch.softmax(x, dim=along), observed.double().sum(dim=along)
    expect(
        bool(torch.isfinite(observed).all()),
        f"{what}: expected finite values {values(expected)}, got {values(observed)} (exp of a large logit "
        "overflows: subtract the maximum along dim first)",
    )
    expect(
        torch.allclose(sums, torch.ones_like(sums), atol=1e-3),
        f"{what}: the entries along dim {along} must sum to 1, but they sum to {values(sums)} (normalise along "
        "dim, with keepdim=True)",
    )
    expect_close(observed, expected, what, atol=atol, rtol=rtol)


@check(points=2, step="model", slide=slides.SOFTMAX)
def test_softmax_slide_numbers(student: Session) -> None:
    """softmax reproduces the slides' numbers"""
    # Verdict: the values returned, pulled across, against the slides' numbers.
    cases = [([0.5, 0.7, 1.3], [0.225, 0.275, 0.500]), ([2.0, 1.0, 0.0], [0.665, 0.244, 0.090])]
    for logits, probs in cases:
        expect_close(_softmax(student, torch.tensor(logits), None), probs, f"softmax({logits})", atol=SLIDE_ATOL)


@check(points=2, step="model", slide=slides.SOFTMAX)
@settings(max_examples=12, phases=PHASES)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    dim_pick=st.integers(-4, 3),
    scale=st.sampled_from([1.0, 0.01, 10.0]),
    seed=st.integers(0, 1000),
)
@example(shape=[2, 3], dim_pick=0, scale=1.0, seed=0)
@example(shape=[2, 3], dim_pick=-4, scale=1.0, seed=0)
def test_softmax_matches_torch(student: Session, shape: list[int], dim_pick: int, scale: float, seed: int) -> None:
    """softmax matches torch.softmax on random inputs (any shape, any dim, the default dim=-1)"""
    # Verdict: the values returned against torch.softmax, computed here.
    x = seeded(seed, *shape, scale=scale)
    dim = None if dim_pick == -4 else dim_pick % len(shape) - (len(shape) if dim_pick < 0 else 0)
    _expect_softmax(student, x, dim, atol=1e-6, rtol=1e-4)


@check(points=2, step="model", slide=slides.SOFTMAX)
def test_softmax_extreme_logits(student: Session) -> None:
    """softmax stays finite and correct for logits up to +-1e4"""
    # Verdict: the values returned against torch.softmax of the same extreme logits, computed here.
    cases = [
        (torch.tensor([1e4, 0.0, -1e4]), None),
        (torch.tensor([-1e4, -1e4, -1e4]), None),
        (torch.tensor([[1e4, 1e4 - 1, -5e3], [-1e4, 2.0, 1e4]]), None),
        (torch.tensor([[1e4, 1e4 - 1, -5e3], [-1e4, 2.0, 1e4]]), 0),
        (seeded(7, 3, 4, scale=1e4).clamp(-1e4, 1e4), 1),
    ]
    for x, dim in cases:
        # lse-based formulas lose ~5e-4 in float32 at 1e4 (the spacing of floats there), hence 1e-3.
        _expect_softmax(student, x, dim, atol=1e-3, rtol=1e-3)


# --- cross_entropy ---------------------------------------------------------------------------------------


def _cross_entropy(student: Session, logits: torch.Tensor, targets: torch.Tensor, what: str) -> torch.Tensor:
    """The student's value as a 0-dim tensor when it holds one number (only the slide-numbers check demands 0-dim)."""
    value = student.module("model").cross_entropy(logits, targets)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return torch.tensor(float(value))
    value = expect_tensor(value, what)
    expect(value.numel() == 1, f"{what}: expected one number (a 0-dim tensor), got shape {tuple(value.shape)}")
    return value.reshape(())


@check(points=2, step="model", slide=slides.SOFTMAX)
def test_cross_entropy_slide_numbers(student: Session) -> None:
    """cross_entropy reproduces the slides' numbers and averages them over a batch, as a 0-dim tensor"""
    # Verdict: the values returned against the slides' numbers and their mean.
    rows = [[0.9, 0.05, 0.05], [0.1, 0.6, 0.3]]
    for probs, expected in zip(rows, (0.105, 2.302), strict=True):
        logits = torch.tensor([probs]).log()
        what = f"cross_entropy(logits, tensor([0])) for logits = log({[probs]}) (target probability {probs[0]})"
        expect_close(_cross_entropy(student, logits, torch.tensor([0]), what), expected, what, atol=SLIDE_ATOL)
    what = f"cross_entropy(logits, targets) for logits = log({rows}), targets = [0, 0]"
    value = expect_tensor(student.module("model").cross_entropy(torch.tensor(rows).log(), torch.tensor([0, 0])), what)
    expect(
        value.dim() == 0,
        f"{what}: expected a 0-dim tensor like tensor(1.204), got shape {tuple(value.shape)} "
        "(.mean() over the whole batch gives 0-dim)",
    )
    mean = (-math.log(0.9) - math.log(0.1)) / 2
    expect(
        not math.isclose(value.item(), 2 * mean, rel_tol=1e-3),
        f"{what}: expected the mean {mean:.4f} of the two losses 0.1054 and 2.3026, got their sum "
        f"{value.item():.4f}: divide by the batch size (use .mean())",
    )
    expect_close(value, mean, what, atol=1e-4)


@check(points=2, step="model", slide=slides.SOFTMAX)
@settings(max_examples=12, phases=PHASES)
@given(
    n=st.integers(1, 8), classes=st.integers(2, 6), scale=st.sampled_from([1.0, 0.01, 10.0]), seed=st.integers(0, 1000)
)
def test_cross_entropy_matches_torch(student: Session, n: int, classes: int, scale: float, seed: int) -> None:
    """cross_entropy matches F.cross_entropy on random inputs"""
    # Verdict: the values returned against F.cross_entropy, computed here.
    logits = seeded(seed, n, classes, scale=scale)
    targets = torch.randint(0, classes, (n,), generator=torch.Generator().manual_seed(seed + 1))
    what = f"cross_entropy(logits, targets) for logits = {values(logits)}, targets = {targets.tolist()}"
    expect_close(
        _cross_entropy(student, logits, targets, what), F.cross_entropy(logits, targets), what, atol=1e-4, rtol=1e-4
    )


@check(points=1, step="model", slide=slides.SOFTMAX)
def test_cross_entropy_extreme_logits(student: Session) -> None:
    """cross_entropy stays finite and correct for logits up to +-1e4"""
    # Verdict: the values returned against F.cross_entropy of the same extreme logits, computed here.
    # One row per call: this check is about overflow only; the mean has its own check.
    rows = [[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4 - 1], [0.0, 0.0, 1e4], [-1e4, -1e4, -1e4], [1e4, 1e4 - 1, -1e4]]
    for row, target in [(row, t) for row in rows for t in (0, 2)]:
        logits, targets = torch.tensor([row]), torch.tensor([target])
        expected = F.cross_entropy(logits, targets)
        what = f"cross_entropy(logits, targets) for logits = {[row]}, targets = [{target}]"
        value = _cross_entropy(student, logits, targets, what)
        expect(
            bool(torch.isfinite(value)),
            f"{what}: expected {expected.item():.4f}, got {value.item()} (use the log-sum-exp trick: shifted = "
            "logits - max, log_probs = shifted - log(sum(exp(shifted))), instead of the log of a probability that "
            "rounded to 0)",
        )
        expect_close(value, expected, what, atol=5e-3, rtol=1e-4)


# --- the by-hand rule ------------------------------------------------------------------------------------


@check(points=3, step="model", slide=slides.SOFTMAX)
def test_by_hand_rule(student: Session, source: Path) -> None:
    """softmax and cross_entropy are written by hand, with elementary operations only, and work"""
    # Verdict: the submission's source, parsed here (never run): softmax, cross_entropy and every helper they
    # reach use only what grader.checks.hw1.allowed lists. And values: the points go to functions that work,
    # so both must agree with torch.softmax / F.cross_entropy, computed here, on the slides' inputs and on
    # random ones (extreme logits have their own checks).
    try:
        violations = rules.find_violations(source)
        unwritten = rules.unwritten(source)
    except rules.SourceError as exc:
        fail(f"the by-hand rule cannot be checked: {exc}")
    if violations:
        fail(
            "softmax and cross_entropy must be written by hand, with elementary tensor operations only (exp, log, "
            "max/amax, sum, logsumexp, gather, indexing, arithmetic; README.md, 'Rules', lists them), not with "
            "ready-made functions, distributions or modules: "
            + "; ".join(v.describe() for v in violations[:3])
            + (f"; and {len(violations) - 3} more" if len(violations) > 3 else "")
        )
    expect(not unwritten, f"nothing written by hand to check yet: {', '.join(unwritten)}")
    try:
        for seed, shape, dim in ((0, (3,), None), (1, (4, 5), None), (2, (4, 5), 0), (3, (2, 3, 4), 1)):
            _expect_softmax(student, seeded(seed, *shape, scale=2.0), dim, atol=1e-5, rtol=1e-4)
        for seed, n, classes in ((4, 1, 3), (5, 6, 4)):
            logits = seeded(seed, n, classes, scale=2.0)
            targets = torch.randint(0, classes, (n,), generator=torch.Generator().manual_seed(seed))
            what = f"cross_entropy(logits, targets) for logits = {values(logits)}, targets = {targets.tolist()}"
            expect_close(_cross_entropy(student, logits, targets, what), F.cross_entropy(logits, targets), what)
    except (CheckFailure, StudentError) as exc:
        fail(f"the by-hand points go to a softmax and a cross_entropy that work: {exc}")


# --- build_loss and build_optimizer ----------------------------------------------------------------------

_LOSSES = {"classification": nn.CrossEntropyLoss, "regression": nn.MSELoss, "binary": nn.BCELoss}


def _loss_value(
    loss: RemoteObject, call: str, output: torch.Tensor, target: torch.Tensor, described: str, expected_cls: type
) -> torch.Tensor:
    """The value of ``loss(output, target)``, with a message that names what build_loss returned."""
    what = f"{call} returned {kind(loss)}; calling it on {described}"
    advice = f"return an instance, nn.{expected_cls.__name__}()"
    if loss.type_name.endswith((".type", "Meta")):
        advice += ", not the class"
    try:
        value = loss(output, target)
    except StudentError as exc:
        fail(f"{what} raised {exc.type_names[0]}: {exc.message}; {advice}")
    if not isinstance(value, torch.Tensor | float) or isinstance(value, bool):
        fail(f"{what} gave {kind(value)} instead of a loss value; {advice}")
    return torch.as_tensor(value, dtype=torch.float32)


@check(points=2, step="model", slide=slides.LOSS)
def test_build_loss(student: Session) -> None:
    """build_loss returns CrossEntropyLoss, MSELoss and BCELoss for classification, regression and binary"""
    # Verdict: what the returned loss computes on fixed inputs (pulled across), against nn.CrossEntropyLoss,
    # nn.MSELoss and nn.BCELoss computed here; never the class name the worker claims.
    probs, labels = torch.sigmoid(seeded(3, 4, 3)), (seeded(4, 4, 3) > 0).float()
    logits, classes = seeded(5, 4, 3, scale=2.0), torch.tensor([2, 0, 1, 1])
    build_loss = student.module("model").build_loss
    for task, cls in _LOSSES.items():
        call = f"build_loss({task!r})"
        loss = build_loss(task)
        expect(isinstance(loss, RemoteObject), f"{call} returned {kind(loss)}; expected nn.{cls.__name__}()")
        # Inputs every loss of the table accepts, so a swapped loss gives a number that names itself.
        inputs = [(probs, labels, "predictions in (0, 1) and 0/1 targets, both of shape (4, 3)")]
        if task == "classification":
            inputs.append((logits, classes, "logits of shape (4, 3) and class targets [2, 0, 1, 1]"))
        for output, target, described in inputs:
            value = _loss_value(loss, call, output, target, described, cls)
            expected = cls()(output, target)
            if value.shape != expected.shape or not torch.allclose(value, expected, atol=1e-5, rtol=1e-4):
                like = [o for o in _LOSSES.values() if output is probs and torch.allclose(value, o()(probs, labels))]
                fail(
                    f"{call} returned {kind(loss)}; calling it on {described} gave {values(value)}, but "
                    f"nn.{cls.__name__}() gives {values(expected)}"
                    + (f" (nn.{like[0].__name__}() gives yours)" if like else "")
                    + f": {task} needs nn.{cls.__name__}() with its default settings (the slide's table)"
                )


# Written-out update rules of the torch.optim classes (see grader.checks.optimizers), named alike.
