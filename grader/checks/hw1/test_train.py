"""Step 3 (Training): ``train_one_epoch`` and ``train``, verified by recomputation.

The student's functions train a reference ``Linear`` model built in the worker
(never the student's own MyModel, loss or optimizer), over an unshuffled loader,
with ``nn.CrossEntropyLoss`` and ``SGD``. This process replays the same epochs
with its own copy of the model and compares the weights and the reported
losses; when they differ, it replays the usual mistakes too and names the one
that matches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from grader.checks import DEVICE_MISMATCH, check, expect, explain_device, fail, optimizers, show
from grader.checks.hw1 import slides
from grader.errors import StudentError

_SETUP = "grader.probes.hw1.train:training_setup"
_STATE = "grader.probes.hw1.train:state"
_TOLERANCE = {"atol": 1e-5, "rtol": 1e-4}
_MOVE = "x, y = x.to(device), y.to(device)"

# What the weights look like after one epoch with each common mistake, and what to tell the student.
_WEIGHT_MISTAKES = {
    "frozen": "the weights did not change during the epoch: optimizer.step() or loss.backward() is missing "
    "(or optimizer.step() runs before loss.backward(), when there is no gradient yet)",
    "accumulate": "gradients accumulate across batches: optimizer.zero_grad() is missing from the loop "
    "(call it once per batch, before loss.backward(), not once before the loop)",
    "lagged": "each update used the previous batch's gradients: optimizer.step() runs before loss.backward() "
    "in the loop",
    "step_once": "the weights were updated once per epoch with the gradients of all batches summed: "
    "optimizer.step() and optimizer.zero_grad() belong inside the loop, once per batch",
    "step_once_last": "the weights were updated once per epoch with the last batch's gradients only: "
    "optimizer.step() belongs inside the loop, once per batch",
}


@dataclass(frozen=True)
class Case:
    """A reference model's starting weights and the data of one training run."""

    weight: torch.Tensor
    bias: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    batch_size: int
    lr: float = 0.1

    @classmethod
    def generate(cls, seed: int, samples: int, batch_size: int, features: int = 4, classes: int = 3) -> Case:
        """A case drawn from ``seed`` alone."""
        gen = torch.Generator().manual_seed(seed)
        return cls(
            weight=torch.randn(classes, features, generator=gen) * 0.5,
            bias=torch.randn(classes, generator=gen) * 0.5,
            x=torch.randn(samples, features, generator=gen),
            y=torch.randint(0, classes, (samples,), generator=gen),
            batch_size=batch_size,
        )

    def batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The batches an unshuffled DataLoader yields."""
        return list(zip(self.x.split(self.batch_size), self.y.split(self.batch_size), strict=True))

    def describe(self) -> str:
        """The setup in words, for messages."""
        sizes = ", ".join(str(len(y)) for _, y in self.batches())
        classes, features = self.weight.shape
        return (
            f"a Linear({features}, {classes}) with CrossEntropyLoss and SGD(lr={self.lr}), {len(self.y)} sample(s) "
            f"in unshuffled batches of {sizes}"
        )


@dataclass(frozen=True)
class Batch:
    """One batch of a replayed epoch: its loss before and after the update, and its size."""

    before: float
    after: float
    size: int


@dataclass(frozen=True)
class Run:
    """A replayed training run: final weights and, per epoch, its batches."""

    state: dict[str, torch.Tensor]
    epochs: list[list[Batch]]

    def epoch_loss(self, epoch: int) -> float:
        """The contract's epoch loss: batch losses weighted by batch size."""
        batches = self.epochs[epoch]
        return sum(b.before * b.size for b in batches) / sum(b.size for b in batches)


def replay(case: Case, epochs: int = 1, mistake: str | None = None) -> Run:
    """Train a trusted copy of the reference model, correctly or with one of ``_WEIGHT_MISTAKES``."""
    classes, features = case.weight.shape
    model = nn.Linear(features, classes)
    with torch.no_grad():
        model.weight.copy_(case.weight)
        model.bias.copy_(case.bias)
    optimizer = optimizers.SGD(model.parameters(), lr=case.lr)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    for _ in range(epochs):
        batches = []
        for x, y in case.batches():
            if mistake == "lagged":
                optimizer.step()
            if mistake not in ("accumulate", "step_once"):
                optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            if mistake != "frozen":
                loss.backward()
            if mistake in (None, "accumulate"):
                optimizer.step()
            with torch.no_grad():
                after = loss_fn(model(x), y).item()
            batches.append(Batch(loss.item(), after, len(y)))
        if mistake in ("step_once", "step_once_last"):
            optimizer.step()
        history.append(batches)
    state = {f"linear.{name}": value.detach().clone() for name, value in model.state_dict().items()}
    return Run(state, history)


def same_weights(observed: dict[str, Any], expected: dict[str, torch.Tensor]) -> bool:
    """Whether the weights read from the worker equal ``expected`` within float32 tolerance."""
    return set(observed) == set(expected) and all(
        isinstance(observed[name], torch.Tensor)
        and observed[name].shape == value.shape
        and torch.allclose(observed[name].double(), value.double(), **_TOLERANCE)
        for name, value in expected.items()
    )


def close(observed: float, expected: float) -> bool:
    """Float32-tolerant equality of two losses."""
    return abs(observed - expected) <= _TOLERANCE["atol"] + _TOLERANCE["rtol"] * abs(expected)


def rounded(value: Any) -> str:
    """A tensor or a list of floats rounded to 4 decimals (in float64: no float32 digits of noise)."""
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return str(torch.round(value.double(), decimals=4).tolist())
    if isinstance(value, list) and all(isinstance(item, float) for item in value):
        return str([round(item, 4) for item in value])
    return show(value)


def weight_difference(observed: dict[str, Any], expected: dict[str, torch.Tensor]) -> str:
    """Expected vs observed for the first parameter that differs."""
    for name, value in expected.items():
        got = observed.get(name)
        if not (
            isinstance(got, torch.Tensor)
            and got.shape == value.shape
            and torch.allclose(got.double(), value.double(), **_TOLERANCE)
        ):
            return f"{name} should be {rounded(value)} but is {rounded(got)}"
    return f"the parameters should be {sorted(expected)} but are {sorted(observed)}"


def run_student(
    student: Any, device: str, case: Case, call: Callable[..., Any], **kwargs: Any
) -> tuple[Any, dict[str, Any], Any]:
    """Call ``call(model, loader, loss_fn, optimizer, ..., device=device)`` on a fresh reference setup.

    The setup lives in the worker, its model and loss on ``device``. Returns what the call returned,
    the model's weights afterwards and the model handle. When the call used a batch it had not moved to
    the device, it runs again on the CPU without the device guard, so that this check still grades its
    own clause: moving batches is :func:`test_one_epoch_moves_batches_to_device`'s.
    """
    try:
        return _run(student, device, True, case, call, **kwargs)
    except StudentError as exc:
        if DEVICE_MISMATCH not in exc.message:
            raise
    return _run(student, "cpu", False, case, call, **kwargs)


def _run(
    student: Any, device: str, guard: bool, case: Case, call: Callable[..., Any], **kwargs: Any
) -> tuple[Any, dict[str, Any], Any]:
    model, loader, loss_fn, optimizer = student.probe(
        _SETUP, case.weight, case.bias, case.x, case.y, case.batch_size, case.lr, device, guard
    )
    try:
        value = call(model, loader, loss_fn, optimizer, **kwargs, device=device)
    except StudentError:
        explain_loss_order(loss_fn)
        raise
    return value, student.probe(_STATE, model), model


def explain_loss_order(loss_fn: Any) -> None:
    """Fail with the slide's slip named if ``loss_fn`` received the labels first."""
    for is_float, shape in loss_fn.calls:
        if not is_float or len(shape) != 2:
            fail(
                f"loss_fn was called with the labels first (its first argument had shape {tuple(shape)}"
                f"{'' if is_float else ' and an integer dtype'}); write loss_fn(output, y): the prediction first, "
                "the gold labels second (the slide's loss_function(gold, output) has them swapped)"
            )


def epoch_loss_value(value: Any, what: str) -> float:
    """``value`` as the float an epoch must return, or a failure that says what is wrong with its type."""
    if isinstance(value, torch.Tensor):
        fail(
            f"{what} is a tensor, tensor({rounded(value)}), not a Python float: add up loss.item() * batch size "
            "and return a float"
        )
    if not isinstance(value, int | float) or isinstance(value, bool):
        fail(f"{what} must be the epoch's mean loss as a Python float, got {show(value)}")
    return float(value)


def diagnose_weights(observed: dict[str, Any], case: Case) -> None:
    """Fail unless the student's weights after one epoch equal the reference; name the mistake that matches."""
    correct = replay(case)
    if same_weights(observed, correct.state):
        return
    for mistake, message in _WEIGHT_MISTAKES.items():
        if same_weights(observed, replay(case, mistake=mistake).state):
            fail(
                f"after one epoch of train_one_epoch ({case.describe()}) {message}. "
                f"{weight_difference(observed, correct.state)}"
            )
    fail(
        f"after one epoch of train_one_epoch ({case.describe()}) the weights differ from one SGD update per "
        f"batch (zero_grad, output = model(x), loss_fn(output, y), backward, step): "
        f"{weight_difference(observed, correct.state)}"
    )


def diagnose_loss(value: float, run: Run, case: Case) -> None:
    """Fail unless ``value`` is the weighted mean loss of ``run``'s epoch; name the likely slip."""
    batches = run.epochs[0]
    expected = run.epoch_loss(0)
    if close(value, expected):
        return
    samples, count = sum(b.size for b in batches), len(batches)
    slips = [
        (
            sum(b.before for b in batches) / count,
            "the plain mean of the batch losses: weight each batch's loss "
            "by its batch size (a short last batch counts less)",
        ),
        (
            sum(b.before for b in batches),
            "the sum of the batch losses: weight each by its batch size and divide by the number of samples",
        ),
        (sum(b.before * b.size for b in batches), "the sum of loss x batch size: divide it by the number of samples"),
        (
            sum(b.before * b.size for b in batches) / (count * case.batch_size),
            "divided by number of batches x batch size: divide by the number of samples (the last batch is shorter)",
        ),
        (
            sum(b.before for b in batches) / samples,
            "the sum of batch mean losses divided by the number of samples: "
            "multiply each batch's loss by its batch size first",
        ),
        (batches[-1].before, "the last batch's loss only: add up loss.item() * batch size over all batches"),
        (
            sum(b.after * b.size for b in batches) / samples,
            "losses computed after optimizer.step(): report the loss computed before the update",
        ),
    ]
    for candidate, slip in slips:
        if close(value, candidate):
            fail(
                f"train_one_epoch returned {value:.6g}, which is {slip}; expected the weighted mean "
                f"{expected:.6g} (sum of loss.item() * batch size / number of samples) for {case.describe()}"
            )
    losses = ", ".join(f"{b.before:.4f} (batch of {b.size})" for b in batches)
    fail(
        f"train_one_epoch returned {value:.6g}; expected {expected:.6g}, the weighted mean of the batch losses "
        f"{losses} (sum of loss.item() * batch size / number of samples) for {case.describe()}"
    )


FIXED = Case.generate(seed=7, samples=10, batch_size=4)


@check(points=5, step="train", slide=slides.TRAINING)
def test_one_epoch_updates_weights(student: Any, device: str) -> None:
    """train_one_epoch updates the weights with zero_grad, forward, loss, backward and step per batch"""
    train_one_epoch = student.module("train").train_one_epoch
    _, observed, _ = run_student(student, device, FIXED, train_one_epoch)
    diagnose_weights(observed, FIXED)


@check(points=4, step="train", slide=slides.TRAINING)
def test_one_epoch_returns_weighted_mean_loss(student: Any, device: str) -> None:
    """train_one_epoch returns the mean loss per sample as a float"""
    train_one_epoch = student.module("train").train_one_epoch
    value, observed, _ = run_student(student, device, FIXED, train_one_epoch)
    loss = epoch_loss_value(value, "the value train_one_epoch returned")
    # The expected losses are those along the student's own weight trajectory, so that a wrong update
    # (charged by test_one_epoch_updates_weights) does not cost these points too.
    run = replay(FIXED)
    for mistake in (None, *_WEIGHT_MISTAKES):
        candidate = replay(FIXED, mistake=mistake)
        if same_weights(observed, candidate.state):
            run = candidate
            break
    diagnose_loss(loss, run, FIXED)


@check(points=2, step="train", slide=slides.TRAINING)
def test_one_epoch_uses_train_mode(student: Any, device: str) -> None:
    """train_one_epoch puts the model in training mode"""
    train_one_epoch = student.module("train").train_one_epoch
    _, _, model = run_student(student, device, FIXED, train_one_epoch)
    calls = model.calls
    expect(len(calls) > 0, f"train_one_epoch never called the model (output = model(x)) for {FIXED.describe()}")
    in_eval = [batch for training, _, batch in calls if not training]
    expect(
        not in_eval,
        f"the model was in evaluation mode during {len(in_eval)} of its {len(calls)} forward passes: "
        "call model.train() at the start of train_one_epoch (the model may arrive in eval mode, e.g. after "
        "evaluation)",
    )


@check(points=2, step="train", slide=slides.TRAINING)
def test_one_epoch_moves_batches_to_device(student: Any, device: str) -> None:
    """train_one_epoch moves each batch to `device` before the model and the loss see it"""
    train_one_epoch = student.module("train").train_one_epoch
    model, loader, loss_fn, optimizer = student.probe(
        _SETUP, FIXED.weight, FIXED.bias, FIXED.x, FIXED.y, FIXED.batch_size, FIXED.lr, device, True
    )
    try:
        train_one_epoch(model, loader, loss_fn, optimizer, device=device)
    except StudentError as exc:
        explain_device(exc, "train_one_epoch", _MOVE)
        raise


@check(points=3, step="train", slide=slides.TRAINING)
@settings(max_examples=10)
@given(
    samples=st.integers(1, 12),
    batch_size=st.integers(1, 5),
    features=st.integers(1, 4),
    classes=st.integers(2, 4),
    seed=st.integers(0, 2**16),
)
def test_one_epoch_any_sizes(
    student: Any, device: str, samples: int, batch_size: int, features: int, classes: int, seed: int
) -> None:
    """train_one_epoch matches the reference for any data size and batch size"""
    case = Case.generate(seed, samples, batch_size, features, classes)
    train_one_epoch = student.module("train").train_one_epoch
    value, observed, _ = run_student(student, device, case, train_one_epoch)
    diagnose_weights(observed, case)
    diagnose_loss(epoch_loss_value(value, "the value train_one_epoch returned"), replay(case), case)


@check(points=4, step="train", slide=slides.TRAINING)
def test_train_returns_one_loss_per_epoch(student: Any, device: str) -> None:
    """train runs `epochs` epochs and returns each epoch's loss in order"""
    epochs = 3
    module = student.module("train")
    value, observed, _ = run_student(student, device, FIXED, module.train, epochs=epochs)
    what = f"train(model, loader, loss_fn, optimizer, epochs={epochs})"
    if not isinstance(value, list | tuple):
        fail(f"{what} must return a list of {epochs} floats (one loss per epoch), got {show(value)}")
    losses = [epoch_loss_value(item, f"an item of the list {what} returned") for item in value]

    reference = replay(FIXED, epochs=epochs)
    expected_losses = [reference.epoch_loss(epoch) for epoch in range(epochs)]
    expected_state = reference.state
    if not (
        same_weights(observed, expected_state) and len(losses) == epochs and all(map(close, losses, expected_losses))
    ):
        # A train that is right on top of a wrong train_one_epoch loses no points here:
        # the student's own train_one_epoch, called `epochs` times, is the other accepted answer.
        own = own_epochs(student, device, module.train_one_epoch, epochs)
        if own is not None:
            expected_losses, expected_state = own

    if not same_weights(observed, expected_state):
        for count in range(2 * epochs + 1):
            if count != epochs and same_weights(observed, replay(FIXED, epochs=count).state):
                fail(
                    f"after {what} the weights are those after {count} epoch(s): run train_one_epoch exactly "
                    f"`epochs` times"
                )
        fail(f"after {what} on {FIXED.describe()}, {weight_difference(observed, expected_state)}")
    expect(
        len(losses) == epochs,
        f"{what} returned {len(losses)} values {rounded(losses)}; expected {epochs}, one loss per epoch "
        f"({rounded(expected_losses)})",
    )
    expect(
        all(map(close, losses, expected_losses)),
        f"{what} returned {rounded(losses)}; expected each epoch's loss in order: {rounded(expected_losses)}",
    )


def own_epochs(
    student: Any, device: str, train_one_epoch: Any, epochs: int
) -> tuple[list[float], dict[str, Any]] | None:
    """The losses and final weights of the student's own train_one_epoch called ``epochs`` times, if it works.

    Like :func:`run_student`, on the CPU without the device guard when a batch was not moved.
    """
    for where, guard in ((device, True), ("cpu", False)):
        model, loader, loss_fn, optimizer = student.probe(
            _SETUP, FIXED.weight, FIXED.bias, FIXED.x, FIXED.y, FIXED.batch_size, FIXED.lr, where, guard
        )
        values = []
        try:
            for _ in range(epochs):
                value = train_one_epoch(model, loader, loss_fn, optimizer, device=where)
                if isinstance(value, bool) or not isinstance(value, int | float):
                    return None
                values.append(float(value))
        except StudentError as exc:
            if DEVICE_MISMATCH in exc.message:
                continue
            return None
        return values, student.probe(_STATE, model)
    return None
